"""What DeepLab's dense CRF buys: held-out mIoU (drive 0006R0) before and after `dense_crf`, and its seconds per frame.

A DeepLabv3+ on the ImageNet-pretrained EfficientNet-Lite0 is trained as lesson 05_comparison trains it (64x96, every
layer training, `fit_one_cycle`, lr 2e-3, bs 8, light augmentation) on the dev split of camvid11 (see its README:
train = drives 0001TP + 0016E5, valid = drive 0006R0). Each validation frame then goes through the prediction path at
full resolution (`predict_probs`: at the training scale, probabilities upsampled to 360x480), and is scored twice: the
argmax of the probabilities, and the argmax after `dense_crf` (its defaults, DeepLab-v2's settings, unless overridden).
The void output is zeroed before both (11 classes left), void pixels are ignored; mIoU is over the summed confusion matrix.
The CRF's seconds per frame are recorded twice: wall time, and the process's CPU time (steadier on a busy machine).

Each seed appends one JSON line to --out; `--table-only` prints the table (mean and sample std over seeds).

usage (from the repository root):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dense_crf.py ../shared/data/camvid11 --seeds 0 1 2
      [--arch deeplabv3plus] [--size 64 96] [--epochs 1] [--frames N] [--crf n_iter=5 bi_xy=80 ...]
      [--out benchmarks/results/dense_crf_dev.jsonl]
  without a folder (`-`), it runs on 64 generated frames (a smoke test, not a figure).
"""
import os, sys, json, time, argparse, inspect, warnings
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
import pandas as pd, fastai
from fastai.vision.all import *
sys.path.insert(0, str(Path(__file__).parent))
from segcourse.core import read_image
from segcourse.masks import MaskFinder, read_mask
from segcourse.learner import seg_learner
from segcourse.metrics import confusion_matrix, iou_per_class
from segcourse.inference import predict_probs, dense_crf
from bench_data import bench_dls

ENCODER,LR,BS = 'tf_efficientnet_lite0',2e-3,8  # lesson 05_comparison's budget
CRF_DEFAULTS = {k: v.default for k,v in inspect.signature(dense_crf).parameters.items() if v.default is not inspect.Parameter.empty}

def without_void(p:Tensor, void:int|None)->Tensor:
    "Probabilities (n, H, W) with the void output set to 0 and the others renormalised: void is never predicted, indices stay"
    if void is None or void >= len(p): return p
    p = p.clone(); p[void] = 0
    return p / p.sum(0, keepdim=True).clamp_min(1e-12)

def scores(cm:Tensor, void:int|None)->dict:
    "mIoU over the classes but void (those present in the target or the prediction), their IoUs and the pixel accuracy"
    iou = iou_per_class(cm)
    keep = [i for i in range(len(iou)) if i != void]
    return dict(miou=iou[keep].nanmean().item(), iou=iou[keep].tolist(), pixel_acc=(cm.diag().sum() / cm.sum()).item())

def run(data, seed:int, arch:str, size, epochs:int, frames:int|None, crf:dict)->dict:
    set_seed(seed, reproducible=True)
    dls = bench_dls(data, size, 'dense_crf', bs=BS, num_workers=0, cache=True, batch_tfms=aug_transforms(max_rotate=5., max_warp=0.))
    learn = seg_learner(dls, ENCODER, arch=arch, pretrained=True)
    learn.unfreeze()  # every layer trains, as in the lesson
    start = time.perf_counter()
    with learn.no_bar(): learn.fit_one_cycle(epochs, LR)
    minutes = (time.perf_counter() - start) / 60
    n,void = len(dls.codes),dls.ignore_index
    files = sorted(dls.valid_ds.items)[:frames]
    find_mask = MaskFinder([data/'train/labels', data/'val/labels']) if data else MaskFinder(Path('bench_out/dense_crf/labels'), '_P')
    cms = [torch.zeros(n, n, dtype=torch.long) for _ in range(2)]
    secs = dict(predict=0., crf=0., crf_cpu=0.)
    for f in files:
        img,targ = read_image(f),torch.from_numpy(read_mask(find_mask(f))).long()
        t0 = time.perf_counter()
        p = without_void(predict_probs(learn, img), void)
        t1,c1 = time.perf_counter(),time.process_time()
        q = dense_crf(img, p, **crf)
        secs['crf'] += time.perf_counter() - t1; secs['crf_cpu'] += time.process_time() - c1; secs['predict'] += t1 - t0
        for cm,o in zip(cms, (p, q)): cm += confusion_matrix(o.argmax(0), targ, n, void)
    before,after = scores(cms[0], void),scores(cms[1], void)
    return dict(arch=arch, encoder=ENCODER, seed=seed, size=list(size), epochs=epochs, lr=LR, bs=BS, minutes=minutes,
                data='camvid11 dev' if data else 'GENERATED', n_valid=len(files), frame_hw=list(img.shape[:2]),
                classes=[c for i,c in enumerate(dls.codes) if i != void], miou_before=before['miou'], miou_after=after['miou'],
                pixel_acc_before=before['pixel_acc'], pixel_acc_after=after['pixel_acc'], iou_before=before['iou'], iou_after=after['iou'],
                crf_s_per_frame=secs['crf'] / len(files), crf_cpu_s_per_frame=secs['crf_cpu'] / len(files),
                predict_s_per_frame=secs['predict'] / len(files), crf=CRF_DEFAULTS | crf,
                threads=torch.get_num_threads(), torch=torch.__version__, fastai=fastai.__version__)

def table(out)->pd.DataFrame:
    "Mean and sample std over seeds of each set-up: mIoU before and after the CRF (in points), minutes, CRF seconds per frame"
    rows = [json.loads(l) for l in Path(out).read_text().splitlines() if l.strip()]
    df = pd.DataFrame([dict(arch=r['arch'], size='x'.join(map(str, r['size'])), epochs=r['epochs'], crf=' '.join(f'{k}={v}' for k,v in r['crf'].items()),
                            seed=r['seed'], before=100*r['miou_before'], after=100*r['miou_after'], gain=100*(r['miou_after'] - r['miou_before']),
                            minutes=r['minutes'], crf_s=r['crf_s_per_frame'], crf_cpu_s=r.get('crf_cpu_s_per_frame', float('nan'))) for r in rows])
    g = df.groupby(['arch', 'size', 'epochs', 'crf'])
    return pd.DataFrame({'seeds': g.seed.count(), 'train min': g.minutes.mean(), 'mIoU before': g.before.mean(), 'mIoU after': g.after.mean(),
                         'gain': g.gain.mean(), 'gain std': g.gain.std(), 'CRF s/frame': g.crf_s.mean(), 'CRF CPU s/frame': g.crf_cpu_s.mean()}).round(2)

def parse_crf(items:list)->dict:
    "['n_iter=5', 'bi_xy=80'] -> {'n_iter': 5, 'bi_xy': 80.0}, each a keyword of `dense_crf`"
    out = {}
    for s in items:
        k,_,v = s.partition('=')
        if k not in CRF_DEFAULTS: raise SystemExit(f"--crf {s}: {k!r} is not an option of dense_crf ({', '.join(CRF_DEFAULTS)})")
        out[k] = int(v) if k == 'n_iter' else float(v)
    return out

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data', help="the camvid11 folder (train/, val/, codes.txt), or - for generated frames")
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--arch', default='deeplabv3plus')
    p.add_argument('--size', type=int, nargs=2, default=(64, 96), help='training height width')
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--frames', type=int, default=None, help='score only the first N validation frames')
    p.add_argument('--crf', nargs='*', default=[], help='dense_crf options, e.g. n_iter=5 bi_xy=80')
    p.add_argument('--out', default='bench_out/dense_crf_dev.jsonl', help='JSON lines, one per seed (appended)')
    p.add_argument('--table-only', action='store_true', help='print the table of --out and stop')
    a = p.parse_args()
    out = Path(a.out)
    if not a.table_only:
        data = None if a.data == '-' else Path(a.data)
        crf = parse_crf(a.crf)
        torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
        warnings.simplefilter('ignore')
        out.parent.mkdir(parents=True, exist_ok=True)
        for seed in a.seeds:
            r = run(data, seed, a.arch, tuple(a.size), a.epochs, a.frames, crf)
            with open(out, 'a') as f: f.write(json.dumps(r) + '\n')
            print(f"seed {seed}: mIoU {100*r['miou_before']:.1f} -> {100*r['miou_after']:.1f} after the CRF, {r['crf_s_per_frame']:.2f} s/frame "
                  f"({r['crf_cpu_s_per_frame']:.2f} CPU s) "
                  f"({r['n_valid']} frames of {r['frame_hw'][0]}x{r['frame_hw'][1]}); trained {r['minutes']:.1f} min", flush=True)
    print(table(out).to_string())
