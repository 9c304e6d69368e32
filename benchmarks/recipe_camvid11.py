"""Plain fastai against the segcourse recipe on real CamVid (11 classes), both trained from scratch on the same budget.

Both train a ResNet18 U-Net (fastai's DynamicUnet) from scratch on the 367 training frames at --size for --epochs
epochs, batch size --bs, seed --seed, and are scored on the same 101 validation frames by the same function (`SegReport`):
segcourse's confusion matrix over the 11 classes, void (Unlabelled) ignored, the argmax taken over the 11 classes so
that the void output plain fastai was trained to predict costs it nothing.

--split dev (the default) is the project's dev split: validation = drive 0006R0, training = drives 0001TP and 0016E5 of
both folders (367 frames), no drive on both sides; --split segnet is the val/ folder (all drive 0016E5, whose other 204
frames are in training: the frames leak, and the score is optimistic).

  plain fastai  DataBlock(ImageBlock, MaskBlock) with Resize and aug_transforms(), the same split; unet_learner(dls, resnet18,
                pretrained=False) (which does not normalise inputs without pretraining); CrossEntropyLossFlat,
                void counted as a class; fit_one_cycle(epochs, 1e-3)
  recipe        folder_dls(void='Unlabelled', batch_tfms=recipe_tfms()); seg_recipe(dls, resnet18, pretrained=False):
                CE + Dice with sqrt median-frequency class weights, void ignored, inputs normalised;
                fit_one_cycle(epochs, 1e-3)

--set KEY=VALUE changes one ingredient of the recipe, to measure what it brings (an ablation), e.g.
  --set loss=ce   --set weight_power=0   --set lr=5e-3   --set aug=fastai   --set normalize=0   --set ignore_void=0

Measured with --split segnet (one CPU thread, torch 2.14.1, fastai 2.8.12): plain fastai 35.09 mIoU, recipe 47.39 (+12.30
points; 48.99 with fastai's Adam instead of FusedAdam); the per-class tables and the ablations are in nbs/04a_recipe.ipynb.
Not yet measured on the dev split.

usage (from the repository root; about 17 min per model on one free CPU core):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recipe_camvid11.py ../shared/data/camvid11 [--epochs 8] [--size 96 128]
      [--seed 42] [--bs 8] [--split dev|segnet] [--only plain|recipe] [--set KEY=VALUE ...]
"""
import os, time, argparse, warnings
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
import pandas as pd, fastai
from fastai.vision.all import *
from segcourse.data import read_codes, seg_splitter
from bench_data import camvid11_dls, CAMVID11_SPLITS
from segcourse.recipe import recipe_tfms, seg_recipe
from segcourse.report import SegReport

RECIPE = dict(loss='ce+dice', weight_power=0.5, lr=1e-3, aug='recipe', normalize=1, ignore_void=1)
VOID = 'Unlabelled'

def _label(fn): return fn.parent.parent/'labels'/f'{fn.stem}.png'
def _images(root): return get_image_files(root/'train'/'images') + get_image_files(root/'val'/'images')

def plain_fastai(root:Path, size, bs:int, epochs:int, codes, split:str, **_):
    "fastai as its tutorials use it: DataBlock + MaskBlock, default augmentation, `unet_learner` from scratch"
    dblock = DataBlock(blocks=(ImageBlock, MaskBlock(codes)), get_items=_images, get_y=_label,
                       splitter=seg_splitter(**CAMVID11_SPLITS[split]),
                       item_tfms=Resize(size), batch_tfms=aug_transforms())
    dls = dblock.dataloaders(root, bs=bs, num_workers=0)
    learn = unet_learner(dls, resnet18, pretrained=False, loss_func=CrossEntropyLossFlat(axis=1))
    return learn, lambda: learn.fit_one_cycle(epochs, 1e-3)

def recipe(root:Path, size, bs:int, epochs:int, codes, split:str, loss, weight_power, lr, aug, normalize, ignore_void):
    "segcourse: `folder_dls` + `seg_recipe`, with the ingredients of `RECIPE`"
    tfms = dict(recipe=recipe_tfms(), fastai=aug_transforms(), none=[])[aug]
    dls = camvid11_dls(root, void=VOID if ignore_void else None, split=split, size=size, bs=bs, num_workers=0, batch_tfms=tfms)
    learn = seg_recipe(dls, resnet18, pretrained=False, lr=lr, loss=loss, weight_power=weight_power, normalize=bool(normalize))
    return learn, lambda: learn.fit_one_cycle(epochs)

class EpochLine(Callback):
    "Print one line per epoch (the progress bars are off in a script)"
    order = Recorder.order + 1
    def after_epoch(self):
        print('  ' + '  '.join(f"{n} {v:.4f}" if isinstance(v, float) else f"{n} {v}" for n,v in zip(self.recorder.metric_names, self.recorder.log)), flush=True)

def train_and_report(name:str, make, seed:int, codes, **kwargs):
    "Train with `seed`, then report on the validation frames with `SegReport` (void ignored, argmax over the 11 classes)"
    set_seed(seed, reproducible=True)
    start = time.perf_counter()
    learn,fit = make(codes=codes, **kwargs)
    with learn.no_bar(), learn.no_logging(), learn.added_cbs(EpochLine()): fit()
    secs = time.perf_counter() - start
    with learn.no_bar(): rep = SegReport.from_learner(learn, codes=codes, ignore_index=codes.index(VOID), k=0, predict_void=False)
    print(f"{name}: mIoU {100*rep.miou:.2f} ({len(learn.dls.train_ds)} train / {len(learn.dls.valid_ds)} validation frames, {secs/60:.1f} min)", flush=True)
    return rep, secs

def _parse_set(items)->dict:
    "Recipe overrides from KEY=VALUE strings, converted to the type of the default"
    out = {}
    for o in items:
        k,_,v = o.partition('=')
        if k not in RECIPE: raise SystemExit(f"--set {o}: unknown key '{k}'; the keys are {list(RECIPE)}")
        out[k] = type(RECIPE[k])(float(v) if isinstance(RECIPE[k], int) else v)
    return out

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('root', help='the camvid11 folder (train/, val/, codes.txt)')
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--size', type=int, nargs=2, default=(96, 128), help='height width')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--bs', type=int, default=8)
    p.add_argument('--split', choices=list(CAMVID11_SPLITS), default='dev', help="'dev': drive 0006R0 for validation; 'segnet': the val/ folder (leaks)")
    p.add_argument('--only', choices=('plain', 'recipe'), help='train only one of the two')
    p.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE', help=f'change the recipe; defaults {RECIPE}')
    a = p.parse_args()
    torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    warnings.simplefilter('ignore')
    root,size = Path(a.root),tuple(a.size)
    if not (root/'codes.txt').exists(): raise SystemExit(f"{root}: no codes.txt here; pass the camvid11 folder (train/, val/, codes.txt)")
    codes = read_codes(root/'codes.txt')
    if VOID not in codes: raise SystemExit(f"{root/'codes.txt'}: no '{VOID}' class; is this the camvid11 folder?")
    rcp = {**RECIPE, **_parse_set(a.set)}
    print(f"CamVid11 at {root}: resnet18 U-Net from scratch, {size[0]}x{size[1]}, {a.epochs} epochs, bs {a.bs}, seed {a.seed}, {a.split} split; "
          f"torch {torch.__version__}, fastai {fastai.__version__}, {torch.get_num_threads()} thread(s)")
    kw = dict(root=root, size=size, bs=a.bs, epochs=a.epochs, seed=a.seed, codes=codes, split=a.split)
    reps = {}
    if a.only != 'recipe': reps['plain fastai'] = train_and_report('plain fastai', plain_fastai, **kw)
    if a.only != 'plain':
        print(f"recipe: {rcp}")
        reps['recipe'] = train_and_report('recipe', recipe, **kw, **rcp)
    tables = {k: r.table().set_index('class').drop(columns='pixels') for k,(r,_) in reps.items()}
    tables['val pixels'] = next(iter(reps.values()))[0].table().set_index('class')[['pixels']]
    with pd.option_context('display.width', 200, 'display.max_columns', 20):
        print(f'\nper-class figures on the {a.split} validation frames (void ignored):')
        print(pd.concat(tables, axis=1).round(3).to_string())
    print('\nmIoU: ' + ', '.join(f"{k} {100*r.miou:.2f} ({s/60:.1f} min)" for k,(r,s) in reps.items()))
    if len(reps) == 2: print(f"difference: {100*(reps['recipe'][0].miou - reps['plain fastai'][0].miou):+.2f} mIoU points")
