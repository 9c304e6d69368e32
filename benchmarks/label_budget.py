"""How many frames to label: held-out mIoU (drive 0006R0) against the number of training frames, tutorial 01's pretrained set-up.

The split is the project's dev split of camvid11 (see camvid11's README): validation = every frame of drive `0006R0`
(101 frames), the training frames drawn from drives `0001TP` + `0016E5` (367 frames). For each `--frames` n and seed, n
training frames are drawn at random (the seed draws them, so each seed is another choice of frames as well as another
initialisation), and the model is trained as tutorial 01 trains it (`recipe_camvid11.py`'s `tutorial` set-up: pretrained
EfficientNet-Lite0 U-Net, `seg_learner`'s defaults, `fine_tune(epochs-1)`), then scored through the prediction path at
full resolution (360x480), void ignored, 11 classes.

Fewer frames must not mean fewer steps: below `--min-frames` (100) the drawn frames are repeated until an epoch holds
about `--min-frames` items, so every run takes at least as many optimiser steps as a 100-frame run (what a student with
10 labelled photos would do: train longer on them, not stop after 10 steps). The minutes are training minutes.

Each finished run appends one JSON line to --out; `--table-only` prints the table (mean, sample std over seeds).

usage (from the repository root, alone on the machine):
  OMP_NUM_THREADS=2 .venv/bin/python benchmarks/label_budget.py ../shared/data/camvid11 --frames 10 25 50 100 200 367
      --seeds 0 1 2 [--size 96 128] [--epochs 8] [--out benchmarks/results/label_budget_dev.jsonl]
  (the committed results: --size 96 128 --epochs 8, and tutorial 01's CPU_RECIPE size, --size 192 256 --epochs 5; and at
  192x256 a control with as many steps as all 367 frames: --frames 10 100 --min-frames 367)
"""
import os, sys, json, math, time, argparse, warnings
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, pandas as pd, fastai
from fastai.vision.all import *
sys.path.insert(0, str(Path(__file__).parent))
from segcourse.masks import read_codes, MaskFinder, MaskReader
from segcourse.splits import seg_splitter
from segcourse.loaders import files_dls
from segcourse.learner import seg_learner
from segcourse.report import per_class_table
from bench_data import camvid11_dev_files, DEV_VALID_DRIVES
from recipe_camvid11 import score_full_res, RARE, VOID, PRETRAINED

def budget_files(root, n:int, seed:int, min_frames:int=100)->tuple:
    "(training files: n frames of the dev split's training drives drawn by `seed`, repeated up to `min_frames`; validation files)"
    files = camvid11_dev_files(root)
    valid = [f for f in files if f.name.split('_')[0] in DEV_VALID_DRIVES]
    train = [f for f in files if f.name.split('_')[0] not in DEV_VALID_DRIVES]
    if not 1 <= n <= len(train): raise SystemExit(f"--frames {n}: the dev split has {len(train)} training frames")
    picked = [train[i] for i in sorted(np.random.default_rng(seed).choice(len(train), n, replace=False))]
    return picked * math.ceil(min_frames / n), valid

def run(root:Path, n:int, seed:int, size, bs:int, epochs:int, min_frames:int)->dict:
    root = Path(root)
    codes = read_codes(root/'codes.txt')
    train,valid = budget_files(root, n, seed, min_frames)
    set_seed(seed, reproducible=True)
    start = time.perf_counter()
    masks = MaskFinder([root/'train/labels', root/'val/labels'])
    void = codes.index(VOID)
    dls = files_dls(train + valid, masks, codes, MaskReader(len(codes), None, void), seg_splitter(valid_groups=list(DEV_VALID_DRIVES)),
                    void, size=size, bs=bs, cache=True, num_workers=0, batch_tfms=aug_transforms(max_rotate=5., max_warp=0.))
    learn = seg_learner(dls, PRETRAINED)
    with learn.no_bar(): learn.fine_tune(epochs-1)
    secs = time.perf_counter() - start
    n_cls = len(codes) - 1  # the 11 classes; void is the last code
    with learn.no_bar(): cm = score_full_res(learn, valid, n_cls, ignore_index=None)
    iou = per_class_table(cm, codes[:n_cls]).set_index('class')['iou'].drop('mean').to_dict()
    return dict(frames=n, seed=seed, miou=float(np.mean(list(iou.values()))), iou=iou, minutes=secs/60, size=list(size), bs=bs,
                epochs=epochs, items_per_epoch=len(dls.train_ds), n_valid=len(valid), torch=torch.__version__,
                fastai=fastai.__version__, threads=torch.get_num_threads())

def table(out:Path)->pd.DataFrame:
    "Mean and spread (sample std) over seeds per training size and number of frames"
    df = pd.DataFrame([dict(size='x'.join(map(str, r['size'])), epochs=r['epochs'], frames=r['frames'], items=r['items_per_epoch'], seed=r['seed'], miou=100*r['miou'], rare=100*np.mean([r['iou'][c] for c in RARE]),
                            minutes=r['minutes']) for r in map(json.loads, Path(out).read_text().splitlines())])
    g = df.groupby(['size', 'epochs', 'frames', 'items'])  # items: per epoch, the drawn frames repeated up to --min-frames
    return pd.DataFrame({'mIoU': g.miou.mean(), 'std': g.miou.std(), 'seeds': g.seed.count(), 'rare': g.rare.mean(),
                         'minutes': g.minutes.median()}).round(1)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('root', help='the camvid11 folder (train/, val/, codes.txt)')
    p.add_argument('--frames', type=int, nargs='+', default=[10, 25, 50, 100, 200, 367])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--size', type=int, nargs=2, default=(96, 128), help='height width')
    p.add_argument('--bs', type=int, default=8)
    p.add_argument('--min-frames', type=int, default=100, help='repeat fewer frames up to this many items per epoch')
    p.add_argument('--out', default='bench_out/label_budget_dev.jsonl', help='JSON lines, one per finished run (appended)')
    p.add_argument('--table-only', action='store_true', help='print the table of --out and stop')
    a = p.parse_args()
    out = Path(a.out)
    if not a.table_only:
        torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
        warnings.simplefilter('ignore')
        out.parent.mkdir(parents=True, exist_ok=True)
        print(f"camvid11 dev split (valid = drive {', '.join(DEV_VALID_DRIVES)}): {a.size[0]}x{a.size[1]}, {a.epochs} epochs, bs {a.bs}, "
              f"{torch.get_num_threads()} thread(s)", flush=True)
        for seed in a.seeds:
            for n in a.frames:
                r = run(a.root, n, seed, tuple(a.size), a.bs, a.epochs, a.min_frames)
                with open(out, 'a') as f: f.write(json.dumps(r) + '\n')
                print(f"{n} frames, seed {seed}: mIoU {100*r['miou']:.1f} ({r['minutes']:.1f} min)", flush=True)
    print(table(out).to_string())
