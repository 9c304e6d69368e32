"""Images per second of CPU inference at 360x480 (CamVid's size): PyTorch eager against onnxruntime, and optionally
`torch.compile`, for ResNet18 and ResNet34 U-Nets, all measured in this one process on the same inputs.

    python benchmarks/cpu_inference.py                  # ResNet18 and ResNet34 U-Nets, batch 1, all CPU threads
    python benchmarks/cpu_inference.py --threads 1 --n 5 --backbones resnet18
    python benchmarks/cpu_inference.py --compile        # also torch.compile (slow to compile on a small CPU)

The models have random weights (`pretrained=False`): speed does not depend on the weights' values. Printed: img/s of
each runtime and its ratio to PyTorch eager; the maximum probability difference onnxruntime vs PyTorch is printed
too, as a check that both compute the same thing."""
import tempfile, time
from pathlib import Path
import torch, onnxruntime as ort
from fastcore.script import call_parse
from fastai.vision.all import imagenet_stats
from segcourse.model import SegModel
from segcourse.export import export_onnx


def images_per_second(f, x, n:int)->float:
    "Calls per second of `f(x)` (batch 1), after one warm-up call"
    f(x)
    start = time.perf_counter()
    for _ in range(n): f(x)
    return n / (time.perf_counter() - start)


@call_parse
def main(n:int=10, # Timed forward passes per runtime
         threads:int=None, # CPU threads for every runtime (default: torch's default)
         backbones:str='resnet18,resnet34', # Comma-separated backbones of the U-Nets
         size:str='360,480', # Input height,width
         compile:bool=False, # Also time torch.compile (mode='default')
        ):
    "Print CPU inference images/s of PyTorch eager, onnxruntime (and torch.compile) and their ratios"
    if threads: torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    h, w = map(int, size.split(','))
    h, w = -(-h//32)*32, -(-w//32)*32  # padded to the encoder's stride, as `predict_probs` pads (360x480 -> 384x480)
    x = torch.randn(1, 3, h, w)
    tmp = Path(tempfile.mkdtemp())
    print(f"CPU inference, {h}x{w}, batch 1, {threads} thread(s), {n} timed passes, random weights")
    for bb in backbones.split(','):
        torch.manual_seed(0)
        m = SegModel('unet', bb, 'torchvision', n_out=12, mean=list(imagenet_stats[0]), std=list(imagenet_stats[1]), img_size=[h, w]).eval()
        fn = export_onnx(m, tmp/f'{bb}.onnx')
        so = ort.SessionOptions(); so.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(fn), so, providers=['CPUExecutionProvider'])
        run_ort = lambda x: torch.from_numpy(sess.run(None, {'image': x.numpy()})[0])
        with torch.inference_mode():
            diff = (run_ort(x).softmax(1) - m.model(x).softmax(1)).abs().max().item()
            res = {'pytorch eager': images_per_second(m.model, x, n), 'onnxruntime': images_per_second(run_ort, x, n)}
            if compile:
                cm = torch.compile(m.model)
                start = time.perf_counter(); cm(x)
                print(f"  torch.compile took {time.perf_counter() - start:.0f} s to compile")
                res['torch.compile'] = images_per_second(cm, x, n)
        print(f"{bb} U-Net (max |onnxruntime - PyTorch| probability {diff:.1e}):")
        for k, v in res.items(): print(f"  {k:14s} {v:6.2f} img/s   {v / res['pytorch eager']:.2f}x eager")
