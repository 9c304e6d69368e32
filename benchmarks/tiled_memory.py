"""Peak memory of tiled prediction on a big generated frame: the band-wise path against the full-size buffers.

`segcourse.inference` slides its window one row of tiles at a time and hands finished rows on, so a mask
(`learn.predict_masks`, `predict_files`, `segcourse predict`) never needs the probabilities of the whole frame.
The reference is what tiled prediction used to hold: float32 probabilities of every class at full resolution plus
the summed window weights, C*H*W*4 + H*W*4 bytes (that is also what `predict_probs`, which returns them, needs).

Each measure runs in a fresh process and reports the growth of its peak resident memory (ru_maxrss) over what it
held before predicting (model and image loaded). The model is one 1x1 convolution to C classes: memory, not
accuracy, is measured; the tiles are 256x256 at the training scale (`img_size=(256, 256)`, scale 1), which a
frame more than twice that size gets automatically.

usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/tiled_memory.py [--size 6000] [--classes 32] [--ref-size 2000]
"""
import os, sys, json, argparse, resource, subprocess
os.environ.setdefault('OMP_NUM_THREADS', '1')

def peak_mib(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

def child(path:str, size:int, classes:int):
    "Run one measure in this process; print JSON"
    import numpy as np, torch
    from torch import nn
    from segcourse.model import SegModel
    from segcourse.inference import predict_probs, _predict_mask
    torch.manual_seed(0)
    model = SegModel('naive', n_out=classes, img_size=(256, 256), train_scale=(1., 1.), net=nn.Conv2d(3, classes, 1))
    img = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    before = peak_mib()
    if path == 'bands': out = _predict_mask(model, img)
    else: out = predict_probs(model, img).argmax(0)
    print(json.dumps(dict(path=path, size=size, classes=classes, grew_mib=peak_mib() - before, shape=list(out.shape))))

def measure(path, size, classes):
    r = subprocess.run([sys.executable, __file__, '--child', path, '--size', str(size), '--classes', str(classes)],
                       capture_output=True, text=True)
    if r.returncode: sys.exit(f"{path} at {size}x{size} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])

def full_buffer_mib(size, classes): return (classes + 1) * size * size * 4 / 2**20

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--size', type=int, default=6000, help="side of the square frame (band-wise path)")
    p.add_argument('--classes', type=int, default=32)
    p.add_argument('--ref-size', type=int, default=2000, help="side of the frame on which both paths are measured")
    p.add_argument('--child', default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child: child(a.child, a.size, a.classes); sys.exit()
    print(f"{a.classes} classes, tiles 256x256, overlap 0.25; peak memory growth while predicting (MiB)")
    print(f"{'frame':>11} {'path':>22} {'measured':>9} {'full buffers':>13}")
    for size,paths in ((a.ref_size, ('full', 'bands')), (a.size, ('bands',))):
        for path in paths:
            r = measure(path, size, a.classes)
            name = 'band-wise (mask)' if path == 'bands' else 'predict_probs (full)'
            print(f"{size:>5}x{size:<5} {name:>22} {r['grew_mib']:>9.0f} {full_buffer_mib(size, a.classes):>13.0f}", flush=True)
