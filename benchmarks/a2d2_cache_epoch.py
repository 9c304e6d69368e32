"""Reading an epoch of A2D2 from the preprocessing cache against decoding the full-size PNGs every time.

Both DataLoaders give the same batches (size x size frames, class-index masks); measured in the same run:
  full-size: a2d2_dls(root, cache=False, size=...)  decode 1920x1208 image + colour label, convert, resize, per frame
  cache:     a2d2_dls(cache)                         decode the small cached PNGs, remap the label
Without --root it generates frames at A2D2's real size (1208x1920) with make_a2d2.

usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/a2d2_cache_epoch.py [--root A2D2_DIR] [--scenes 2 --frames 8] [--size 512 512]
"""
import os, sys, time, shutil, argparse, tempfile, warnings
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
from segcourse.a2d2_synthetic import make_a2d2
from segcourse.a2d2_data import preprocess_a2d2, a2d2_dls, a2d2_files

def epoch_s(dls):
    "Seconds to read every batch of the training and validation sets once"
    t = time.perf_counter()
    n = sum(len(xb) for dl in (dls.train, dls.valid) for xb,_ in dl)
    return time.perf_counter() - t, n

def run(a, tmp):
    t = time.perf_counter()
    root = Path(a.root) if a.root else make_a2d2(tmp/'a2d2', scenes=a.scenes, frames=a.frames, size=(1208, 1920))
    gen = time.perf_counter() - t
    n = len(a2d2_files(root))
    t = time.perf_counter()
    cache = preprocess_a2d2(root, tmp/'cache', size=tuple(a.size), n_workers=a.workers, show_progress=False)
    prep = time.perf_counter() - t
    kw = dict(bs=4, num_workers=a.workers, batch_tfms=[], split='random')
    full = a2d2_dls(root, cache=False, size=tuple(a.size), **kw)
    cached = a2d2_dls(cache, **kw)
    epoch_s(cached)  # warm the page cache of both, so neither pays for the first disk read
    epoch_s(full)
    tf,nf = epoch_s(full)
    tc,nc = epoch_s(cached)
    print(f"{n} frames of {'generated ' if not a.root else ''}A2D2 at 1208x1920 -> {a.size[0]}x{a.size[1]}; {a.workers} workers; torch {torch.__version__}")
    if not a.root: print(f"  generating the frames: {gen:.1f} s (not counted)")
    print(f"  preprocessing once:   {prep:6.2f} s  ({1000*prep/n:.0f} ms/frame)")
    print(f"  epoch from full-size: {tf:6.2f} s  ({1000*tf/nf:.0f} ms/frame)")
    print(f"  epoch from the cache: {tc:6.2f} s  ({1000*tc/nc:.1f} ms/frame)")
    print(f"  cache is {tf/tc:.1f}x faster per epoch; it pays for itself after {prep/max(tf-tc, 1e-9):.1f} epochs")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--root', help='an A2D2 camera_lidar_semantic folder (default: generate one at the real size)')
    p.add_argument('--scenes', type=int, default=2); p.add_argument('--frames', type=int, default=8)
    p.add_argument('--size', type=int, nargs=2, default=(512, 512))
    p.add_argument('--workers', type=int, default=0, help='DataLoader and preprocessing workers')
    a = p.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter('ignore')
    tmp = Path(tempfile.mkdtemp())
    try: run(a, tmp)
    finally: shutil.rmtree(tmp)
