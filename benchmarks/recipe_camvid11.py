"""Plain fastai against the segcourse recipe on real CamVid (11 classes), both trained from scratch on the same budget.

Both train a ResNet18 U-Net (fastai's DynamicUnet) from scratch on the 367 training frames at --size for --epochs
epochs, batch size --bs, seed --seed, and are scored on the 101 val frames by the same function: segcourse's confusion
matrix over the 11 classes, void (Unlabelled) ignored, with the argmax taken over the 11 classes so that the void
output plain fastai was trained to predict costs it nothing.

  plain fastai  DataBlock(ImageBlock, MaskBlock) with Resize and aug_transforms(); unet_learner(dls, resnet18,
                pretrained=False) (so no input normalisation), CrossEntropyLossFlat (void is a class);
                fit_one_cycle(epochs, 1e-3)
  recipe        see RECIPE below and `recipe_learner`

usage (from the repository root):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/recipe_camvid11.py ../shared/data/camvid11 [--epochs 8] [--size 96 128] [--seed 42] [--bs 8]
"""
import os, time, argparse, warnings
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
import pandas as pd, fastai
from fastai.vision.all import *
from segcourse.data import folder_dls, read_codes
from segcourse.losses import seg_loss
from segcourse.learner import seg_learner
from segcourse.report import SegReport

RECIPE = dict(loss='ce+dice', lr=5e-3, aug=dict(max_rotate=0., max_warp=0., max_zoom=1.1, max_lighting=0.2))
VOID = 'Unlabelled'

def _label(fn): return fn.parent.parent/'labels'/f'{fn.stem}.png'
def _images(root): return get_image_files(root/'train'/'images') + get_image_files(root/'val'/'images')

def plain_fastai_learner(root:Path, size, bs:int, codes):
    "fastai as its tutorials use it: DataBlock + MaskBlock, default augmentation, `unet_learner` from scratch"
    dblock = DataBlock(blocks=(ImageBlock, MaskBlock(codes)), get_items=_images, get_y=_label,
                       splitter=GrandparentSplitter(train_name='train', valid_name='val'),
                       item_tfms=Resize(size), batch_tfms=aug_transforms())
    dls = dblock.dataloaders(root, bs=bs, num_workers=0)
    return unet_learner(dls, resnet18, pretrained=False, loss_func=CrossEntropyLossFlat(axis=1))

def recipe_learner(root:Path, size, bs:int, codes):
    "segcourse: void ignored by the loss, inputs normalised, the recipe's loss and augmentation"
    dls = folder_dls([root/'train/images', root/'val/images'], [root/'train/labels', root/'val/labels'], root/'codes.txt',
                     void=VOID, valid_folder='val', size=size, bs=bs, num_workers=0,
                     batch_tfms=aug_transforms(**RECIPE['aug']))
    return seg_learner(dls, resnet18, pretrained=False, loss_func=RECIPE['loss'])

class EpochLine(Callback):
    "Print one line per epoch (the progress bars are off in a script)"
    order = Recorder.order + 1
    def after_epoch(self):
        print('  ' + '  '.join(f"{n} {v:.4f}" if isinstance(v, float) else f"{n} {v}" for n,v in zip(self.recorder.metric_names, self.recorder.log)), flush=True)

def train_and_report(name:str, make, fit, root, size, bs, seed, codes):
    "Train with the same seed, then report on the val split with the same function"
    set_seed(seed, reproducible=True)
    start = time.perf_counter()
    learn = make(root, size, bs, codes)
    with learn.no_bar(), learn.no_logging(), learn.added_cbs(EpochLine()): fit(learn)
    secs = time.perf_counter() - start
    with learn.no_bar(): rep = SegReport.from_learner(learn, codes=codes, ignore_index=codes.index(VOID), k=0, predict_void=False)
    print(f"{name}: mIoU {100*rep.miou:.2f} ({len(learn.dls.train_ds)} train / {len(learn.dls.valid_ds)} val frames, {secs/60:.1f} min)")
    return rep, secs

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('root', help='the camvid11 folder (train/, val/, codes.txt)')
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--size', type=int, nargs=2, default=(96, 128), help='height width')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--bs', type=int, default=8)
    a = p.parse_args()
    torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    warnings.simplefilter('ignore')
    root,size = Path(a.root),tuple(a.size)
    codes = read_codes(root/'codes.txt')
    if VOID not in codes: raise SystemExit(f"{root/'codes.txt'}: no '{VOID}' class; is this the camvid11 folder?")
    print(f"CamVid11 at {root}: resnet18 U-Net from scratch, {size[0]}x{size[1]}, {a.epochs} epochs, bs {a.bs}, seed {a.seed}; "
          f"torch {torch.__version__}, fastai {fastai.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"recipe: {RECIPE}")
    kw = dict(root=root, size=size, bs=a.bs, seed=a.seed, codes=codes)
    plain,t0 = train_and_report('plain fastai', plain_fastai_learner, lambda l: l.fit_one_cycle(a.epochs, 1e-3), **kw)
    ours,t1 = train_and_report('recipe', recipe_learner, lambda l: l.fit_one_cycle(a.epochs, RECIPE['lr']), **kw)
    both = pd.concat({'plain fastai': plain.table().set_index('class'), 'recipe': ours.table().set_index('class')}, axis=1)
    with pd.option_context('display.width', 200, 'display.max_columns', 20):
        print('\nper-class figures on val (void ignored):')
        print(both.drop(columns=[('recipe', 'pixels')]).rename(columns={'pixels': 'px'}).round(3).to_string())
    print(f"\nmIoU: plain fastai {100*plain.miou:.2f}, recipe {100*ours.miou:.2f}, "
          f"difference {100*(ours.miou - plain.miou):+.2f} points; time {t0/60:.1f} + {t1/60:.1f} min")
