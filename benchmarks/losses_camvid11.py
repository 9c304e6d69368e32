"""One loss in the segcourse recipe on real CamVid (11 classes), scored on the drive-disjoint dev split: mIoU and the
IoU of the rare classes (pole, sign, fence, pedestrian, bicyclist), over several seeds.

The recipe (nbs/11_recipe.ipynb) with only its loss changed: ResNet18 U-Net from scratch, `recipe_tfms()`,
sqrt median-frequency class weights, void (Unlabelled) ignored, `fit_one_cycle(epochs)` at 1e-3. The split is the
dev split of /work/shared/data/camvid11/README.md: train = drives 0001TP + 0016E5 (from both train/ and val/,
367 frames), valid = drive 0006R0 (101 frames), so that no street is seen in training and validation.
Scored by `SegReport` (confusion matrix over the 11 classes, void ignored, argmax over the 11 classes).

--loss takes any `seg_loss` name or sum: ce, dice, ce+dice (the recipe), focal, tversky, focal_tversky, lovasz,
ohem, ce+lovasz, ... One loss per run; compare runs with the same --seeds, --epochs and --size.
--limit N keeps the first N training and N validation frames (a smoke test, not a figure).

usage (from the repository root; about 17 min per seed at 96x128 for 8 epochs on one free CPU core):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/losses_camvid11.py ../shared/data/camvid11 --loss lovasz
      [--seeds 42 43 44] [--epochs 8] [--size 96 128] [--bs 8] [--weight-power 0.5] [--limit N]
"""
import os, time, argparse, warnings
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, fastai
from fastai.vision.all import *
from segcourse.data import read_codes, files_dls, MaskFinder, MaskReader, NameSplitter
from segcourse.recipe import recipe_tfms, seg_recipe
from segcourse.report import SegReport

VOID,VALID_DRIVE,TRAIN_DRIVES = 'Unlabelled','0006R0',('0001TP', '0016E5')
RARE = ['Pole', 'SignSymbol', 'Fence', 'Pedestrian', 'Bicyclist']

def dev_split_dls(root:Path, size, bs:int, limit:int|None=None):
    "DataLoaders over camvid11's train/ and val/ frames, split by drive: 0006R0 for validation, 0001TP + 0016E5 for training"
    codes = read_codes(root/'codes.txt')
    files = sorted(get_image_files(root/'train'/'images') + get_image_files(root/'val'/'images'))
    drive = lambda f: f.name.split('_')[0]
    train,valid = [f for f in files if drive(f) in TRAIN_DRIVES],[f for f in files if drive(f) == VALID_DRIVE]
    if limit: train,valid = train[:limit],valid[:limit]
    void = codes.index(VOID)
    return files_dls(train + valid, MaskFinder([root/'train'/'labels', root/'val'/'labels']), codes,
                     MaskReader(len(codes), ignore_index=void), NameSplitter([f.stem for f in valid]), void,
                     size=size, bs=bs, batch_tfms=recipe_tfms(), num_workers=0)

def run(root:Path, loss:str, seed:int, epochs:int, size, bs:int, weight_power:float, limit:int|None):
    "Train the recipe with `loss` and `seed`; return (mIoU, {rare class: IoU}, minutes)"
    set_seed(seed, reproducible=True)
    start = time.perf_counter()
    dls = dev_split_dls(root, size, bs, limit)
    learn = seg_recipe(dls, resnet18, pretrained=False, loss=loss, weight_power=weight_power, show_progress=False)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs)
    with learn.no_bar(): rep = SegReport.from_learner(learn, codes=dls.codes, ignore_index=dls.ignore_index, k=0, predict_void=False)
    iou = rep.table().set_index('class').iou
    return rep.miou, {c: float(iou[c]) for c in RARE}, (time.perf_counter() - start)/60, (len(dls.train_ds), len(dls.valid_ds))

def _ms(v): return f"{100*np.nanmean(v):.2f} ± {100*np.nanstd(v):.2f}" if len(v) > 1 else f"{100*v[0]:.2f}"  # nan: a class absent from a --limit run

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('root', help='the camvid11 folder (train/, val/, codes.txt)')
    p.add_argument('--loss', default='ce+dice', help="a seg_loss name or sum, e.g. lovasz, focal_tversky, ce+ohem")
    p.add_argument('--seeds', type=int, nargs='+', default=[42])
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--size', type=int, nargs=2, default=(96, 128), help='height width')
    p.add_argument('--bs', type=int, default=8)
    p.add_argument('--weight-power', type=float, default=0.5, help='median-frequency class weights to this power; 0 for none')
    p.add_argument('--limit', type=int, help='first N training and N validation frames only (a smoke test)')
    a = p.parse_args()
    torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    warnings.simplefilter('ignore')
    root,size = Path(a.root),tuple(a.size)
    if not (root/'codes.txt').exists(): raise SystemExit(f"{root}: no codes.txt here; pass the camvid11 folder (train/, val/, codes.txt)")
    codes = read_codes(root/'codes.txt')
    if VOID not in codes or not set(RARE) <= set(codes): raise SystemExit(f"{root/'codes.txt'}: not camvid11's classes (needs {VOID} and {RARE})")
    from segcourse.losses import seg_loss
    try: seg_loss(a.loss, len(codes), codes.index(VOID))
    except ValueError as e: raise SystemExit(f"--loss {a.loss}: {e}")
    print(f"CamVid11 dev split at {root}: loss {a.loss}, resnet18 U-Net from scratch, {size[0]}x{size[1]}, {a.epochs} epochs, "
          f"bs {a.bs}, seeds {a.seeds}, class weights ^{a.weight_power}; torch {torch.__version__}, fastai {fastai.__version__}, "
          f"{torch.get_num_threads()} thread(s)" + (f"; LIMIT {a.limit} frames per split (not a figure)" if a.limit else ''), flush=True)
    mious,rare = [],{c: [] for c in RARE}
    for seed in a.seeds:
        miou,r,mins,(n_t,n_v) = run(root, a.loss, seed, a.epochs, size, a.bs, a.weight_power, a.limit)
        mious.append(miou)
        for c in RARE: rare[c].append(r[c])
        print(f"seed {seed}: mIoU {100*miou:.2f} | " + ' | '.join(f"{c} {100*r[c]:.2f}" for c in RARE) +
              f" ({n_t} train / {n_v} valid frames, {mins:.1f} min)", flush=True)
    print(f"\n{a.loss}: mIoU {_ms(mious)} | " + ' | '.join(f"{c} {_ms(v)}" for c,v in rare.items()) +
          f" | rare-class mean {_ms([np.nanmean([rare[c][i] for c in RARE]) for i in range(len(mious))])} (IoU x100, over {len(mious)} seed(s))")
