"""Train every registered architecture on one data folder with the same budget and print the comparison table.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/compare_archs.py ../shared/data/camvid11 --epochs 8
    .venv/bin/python benchmarks/compare_archs.py PATH/camera_lidar_semantic --archs unet deeplabv3 mask2former --backbone resnet50

The folder is the camvid11 layout (train/ and val/, each with images/ and labels/, plus codes.txt whose last line is
the void class), fastai's CamVid_TINY layout (images/, labels/<stem>_P.png, codes.txt, 'Void' ignored), or A2D2's
`camera_lidar_semantic` folder or a cache made by `preprocess_a2d2` (`--a2d2-classes` groups its classes, split by
drive). `compare_archs` takes any segmentation DataLoaders: this script only finds which ones a folder holds.
Every model gets the same frames, size, backbone (from scratch unless --pretrained), epochs of fit_one_cycle and
learning rate. Columns: mIoU, Dice, pixel accuracy, mean pixel accuracy on the validation frames after the last epoch,
parameters, training images/s (forward+backward+step, no data loading) and inference images/s (eval, no gradients).
"""
import argparse, time, warnings
from pathlib import Path
import pandas as pd
import torch
from fastai.vision.all import aug_transforms
from fastprogress.fastprogress import master_bar
from segcourse.data import camvid_tiny_dls
from segcourse.a2d2_data import a2d2_dls, A2D2_CACHE_MANIFEST
from bench_data import camvid11_dls
from segcourse.compare import compare_archs
from segcourse.archs import ARCHS

from segcourse.archs import COURSE_ARCHS as COURSE

def load_dls(root:Path, size, bs:int, a2d2_classes:str='merged'):
    "DataLoaders for a camvid11-layout, CamVid_TINY-layout or A2D2 folder (a download or a `preprocess_a2d2` cache)"
    tfms = aug_transforms(max_rotate=5., max_warp=0.)
    if (root/'class_list.json').exists() or (root/A2D2_CACHE_MANIFEST).exists():
        return a2d2_dls(root, classes=a2d2_classes, size=size, bs=bs, num_workers=0, batch_tfms=tfms)
    if (root/'train').is_dir():
        return camvid11_dls(root, size=size, bs=bs, num_workers=0, batch_tfms=tfms)
    if (root/'images').is_dir(): return camvid_tiny_dls(root, bs=bs, size=size, num_workers=0, batch_tfms=tfms)
    raise SystemExit(f"{root}: neither the camvid11 layout (train/, val/), CamVid_TINY's (images/, labels/) nor A2D2's "
                     f"(class_list.json, or {A2D2_CACHE_MANIFEST} in a preprocessed cache)")

def void_name(dls)->str:
    "The void class's name (CamVid), or the mask value no loss counts (A2D2's 255), or None"
    i = dls.ignore_index
    return dls.codes[i] if i is not None and i < len(dls.codes) else f"mask value {i}" if i is not None else 'None'

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('root', type=Path, help='data folder (camvid11, CamVid_TINY or A2D2 layout)')
    p.add_argument('--a2d2-classes', default='merged', help="A2D2's class grouping: 'merged' or 'original'")
    p.add_argument('--archs', nargs='+', default=None, help='architectures (default: all registered, course order)')
    p.add_argument('--backbone', default='resnet18')
    p.add_argument('--pretrained', action='store_true', help='start from pretrained backbone weights (needs internet)')
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--size', type=int, nargs=2, default=(96, 128), metavar=('H', 'W'))
    p.add_argument('--bs', type=int, default=8)
    p.add_argument('--seed', type=int, default=42)
    a = p.parse_args()
    if not a.root.is_dir(): raise SystemExit(f"{a.root}: no such folder")
    names = a.archs or COURSE + sorted(set(ARCHS) - set(COURSE))
    unknown = [n for n in names if n not in ARCHS]
    if unknown: raise SystemExit(f"unknown architecture(s) {unknown}; choose among {sorted(ARCHS)}")
    warnings.filterwarnings('ignore', category=FutureWarning)
    dls = load_dls(a.root, tuple(a.size), a.bs, a.a2d2_classes)
    print(f"\n{a.root}: {len(dls.train_ds)} training / {len(dls.valid_ds)} validation frames at {a.size[0]}x{a.size[1]}, "
          f"{len(dls.codes)} codes (void: {void_name(dls)}); "
          f"backbone {a.backbone} ({'pretrained' if a.pretrained else 'from scratch'}), {a.epochs} epochs, lr {a.lr}, "
          f"bs {a.bs}, {torch.get_num_threads()} thread(s)", flush=True)
    rows, mb = [], master_bar(names)  # one bar over the architectures, with the time left
    for n in mb:
        start = time.perf_counter()
        row = compare_archs(dls, archs=[n], backbone=a.backbone, seed=a.seed, pretrained=a.pretrained, epochs=a.epochs, lr=a.lr, bar=False)
        row['minutes'] = (time.perf_counter() - start) / 60
        mb.write(f"{n}: mIoU {row.miou.iloc[0]:.3f} in {row.minutes.iloc[0]:.1f} min")
        rows.append(row)
    print('\n' + markdown_table(pd.concat(rows)))

def markdown_table(df:pd.DataFrame)->str:
    "The comparison as a Markdown table with the A2D2 project's column names"
    cols = dict(miou=('mIoU', '.3f'), dice=('Dice', '.3f'), pixel_acc=('pixel acc', '.3f'), mean_acc=('mean pixel acc', '.3f'),
                params_M=('params (M)', '.1f'), train_img_s=('train img/s', '.1f'), infer_img_s=('infer img/s', '.1f'),
                minutes=('minutes', '.1f'))
    lines = ['| arch | ' + ' | '.join(t for t,_ in cols.values()) + ' |', '|---' + '|---:' * len(cols) + '|']
    lines += [f"| {i} | " + ' | '.join(format(r[c], f) for c,(_,f) in cols.items()) + ' |' for i,r in df.iterrows()]
    return '\n'.join(lines)

if __name__ == '__main__': main()
