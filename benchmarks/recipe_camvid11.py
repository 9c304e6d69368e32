"""Plain fastai against the segcourse recipe on held-out CamVid drives, from scratch and from a pretrained encoder.

The split is the project's dev split of camvid11 (see camvid11's README): validation = every frame of drive
`0006R0` (101 frames), training = drives `0001TP` + `0016E5` from both the train/ and val/ folders (367 frames).
No validation frame comes from a street the model trained on.

Every set-up trains at --size for --epochs epochs with batch size --bs and is scored the way a user gets its
predictions: each validation file goes through `learn.dls.test_dl` (the same resize and normalisation as
`learn.predict`), the class probabilities are upsampled to the file's size (360x480), the argmax is taken over the
11 classes (never void), and one confusion matrix over all 101 full-resolution masks gives the mIoU, void ignored.

  plain           fastai as its tutorials use it: DataBlock(ImageBlock, MaskBlock) with Resize and aug_transforms();
                  unet_learner(dls, resnet18, pretrained=False); CrossEntropyLossFlat with void counted as a class;
                  fit_one_cycle(epochs, 1e-3)
  recipe          folder_dls(void=..., batch_tfms=recipe_tfms()); seg_recipe(dls, resnet18, pretrained=False);
                  fit_one_cycle(epochs) at the recipe's lr
  plain_pre       plain fastai's data, loss and `fine_tune(epochs-1, freeze_epochs=1)` on a U-Net over the ImageNet
                  EfficientNet-Lite0 encoder (`tf_efficientnet_lite0`; fastai's `unet_learner` takes no timm names,
                  so the same DynamicUnet is built by segcourse), inputs normalised with the encoder's statistics
  recipe_pre      seg_recipe(dls, 'tf_efficientnet_lite0') + fine_tune(epochs-1, freeze_epochs=1), with `seg_learner`'s
                  default U-Net ('unet'); `--set arch=dynamic_unet` trains fastai's DynamicUnet instead (every recipe run
                  recorded before `arch` was a key trained DynamicUnet, and the table says so)
  tutorial        what tutorial 01 runs: `camvid_dls`' batches (cache, aug_transforms(max_rotate=5, max_warp=0)),
                  `seg_learner(dls, 'tf_efficientnet_lite0')` with its defaults (cross-entropy, channels-last) and
                  `fine_tune(epochs-1)`: the size x epochs -> mIoU and minutes table of `11_recipe` is made of these runs

--set KEY=VALUE changes one ingredient of the recipe (both recipe set-ups), to measure what it brings, e.g.
  --set loss=ce   --set weight_power=0   --set lr=3e-3   --set zoom=1.1   --set lighting=0.2   --set rotate=0
A loss for the rare classes is one more --set: `--setups recipe_pre --set loss=focal_tversky` (any `seg_loss` name or
sum: lovasz, ce+lovasz, ohem, tversky, ...). The table's `rare` column is the mean IoU of CamVid's five small classes
(pole, sign, fence, pedestrian, bicyclist), the ones such losses are for.

On the CPU every run first calls `keep_freed_memory()` (09_learner), as tutorial 01 does, unless --default-malloc: a run
recorded without the key `keep_freed_memory` ran with glibc's default malloc, its minutes up to a third longer at 480x640.

Each finished run appends one JSON line to --out; the table at the end (mean and spread over seeds) is read from
that file, so several processes can share it (one per core) and `--table-only` prints it again.

usage (from the repository root; one process per free core):
  .venv/bin/python benchmarks/recipe_camvid11.py ../shared/data/camvid11 --setups plain recipe plain_pre recipe_pre
      --seeds 0 1 2 [--epochs 8] [--size 96 128] [--bs 8] [--set KEY=VALUE ...] [--out bench_out/recipe.jsonl]
"""
import os, sys, json, time, argparse, warnings
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, pandas as pd, fastai
from PIL import Image
from fastai.vision.all import *
sys.path.insert(0, str(Path(__file__).parent))
from segcourse.data import read_codes, read_mask
from segcourse.metrics import confusion_matrix
from segcourse.archs import create_seg_model
from segcourse.report import per_class_table
from segcourse.recipe import recipe_tfms, seg_recipe, SWEEP_RECIPE
from segcourse.learner import seg_learner, set_dls, keep_freed_memory
from bench_data import camvid11_dev_files, camvid11_dls, DEV_VALID_DRIVES

RECIPE = dict({k:v for k,v in SWEEP_RECIPE.items() if k != 'bs'}, arch='unet', encoder='tf_efficientnet_lite0', bf16=0, crop=0.)
# ft_lr, lr_mult: `fine_tune`'s base_lr and lr_mult (fastai's defaults); encoder: the ImageNet encoder of the `_pre` set-ups;
# bf16=1: bfloat16 autocast on the CPU (`CPUAutocast`); crop=0.75: the first stage trains on random crops of 0.75 x --size
# (the frames resized to --size first), the --then stage and the scoring on whole frames
BEFORE_ARCH = dict(arch='dynamic_unet')  # a run recorded before `arch` was a key trained fastai's DynamicUnet, then `seg_learner`'s default
VOID = 'Unlabelled'
RARE = ['Pole', 'SignSymbol', 'Fence', 'Pedestrian', 'Bicyclist']  # camvid11's small classes
PRETRAINED = 'tf_efficientnet_lite0'

def _label(fn): return fn.parent.parent/'labels'/f'{fn.stem}.png'

def plain_dls(root:Path, size, bs:int, codes, **_):
    "fastai's DataBlock as its tutorials build it, on the dev split"
    dblock = DataBlock(blocks=(ImageBlock, MaskBlock(codes)), get_items=lambda _: camvid11_dev_files(root), get_y=_label,
                       splitter=FuncSplitter(lambda f: f.name.split('_')[0] in DEV_VALID_DRIVES),
                       item_tfms=Resize(size), batch_tfms=aug_transforms())
    return dblock.dataloaders(root, bs=bs, num_workers=0)

def plain(root, size, bs, epochs, codes, **_):
    dls = plain_dls(root, size, bs, codes)
    learn = unet_learner(dls, resnet18, pretrained=False, loss_func=CrossEntropyLossFlat(axis=1))
    return learn, lambda: learn.fit_one_cycle(epochs, 1e-3)

def plain_pre(root, size, bs, epochs, codes, **_):
    dls = plain_dls(root, size, bs, codes)
    model,splitter,stats = create_seg_model('dynamic_unet', PRETRAINED, len(codes), size, pretrained=True)
    dls.add_tfms([Normalize.from_stats(*stats)], 'after_batch')
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(axis=1), splitter=splitter)
    learn.freeze()
    return learn, lambda: learn.fine_tune(epochs-1, freeze_epochs=1)

class CPUAutocast(Callback):
    "bfloat16 autocast around the forward pass and the loss on the CPU (fastai's `MixedPrecision` autocasts only on CUDA)"
    order = 10
    def before_batch(self): self.ac = torch.autocast('cpu', dtype=torch.bfloat16); self.ac.__enter__()
    def after_pred(self): self.learn.pred = self.pred.float()
    def after_loss(self): self.ac.__exit__(None, None, None)

def _tfms(zoom, lighting, rotate, warp, color, **_):
    return recipe_tfms(max_zoom=zoom, max_lighting=lighting, max_color=color, max_rotate=rotate, max_warp=warp)

def recipe_dls(root, size, bs, crop=0., **rcp):
    "The recipe's batches at `size`, decoded once (`cache=True`, as tutorial 01 makes them); `crop`: random crops of `crop` x `size`"
    item_tfms = [Resize(size), RandomCrop([int(d*crop) for d in size])] if crop else None  # RandomCrop: the centre on validation
    return camvid11_dls(root, void=VOID, size=size, bs=bs, num_workers=0, cache=True, item_tfms=item_tfms, batch_tfms=_tfms(**rcp))

def _recipe_learner(root, size, bs, codes, backbone, pretrained, loss, weight_power, lr, arch='unet', bf16=0, **rcp):
    dls = recipe_dls(root, size, bs, **rcp)
    learn = seg_recipe(dls, backbone, arch=arch, pretrained=pretrained, lr=lr, loss=loss, weight_power=weight_power, show_progress=False)
    return learn.add_cb(CPUAutocast()) if bf16 else learn

def recipe(root, size, bs, epochs, codes, **rcp):
    learn = _recipe_learner(root, size, bs, codes, resnet18, False, **rcp)
    return learn, lambda: learn.fit_one_cycle(epochs)

def recipe_pre(root, size, bs, epochs, codes, **rcp):
    learn = _recipe_learner(root, size, bs, codes, rcp.get('encoder', PRETRAINED), True, **rcp)
    ft_lr,lr_mult = rcp.get('ft_lr', RECIPE['ft_lr']),rcp.get('lr_mult', RECIPE['lr_mult'])
    return learn, lambda: learn.fine_tune(epochs-1, base_lr=ft_lr, freeze_epochs=1, lr_mult=lr_mult)

def tutorial(root, size, bs, epochs, codes, **_):
    dls = camvid11_dls(root, void=VOID, size=size, bs=bs, num_workers=0, cache=True, batch_tfms=aug_transforms(max_rotate=5., max_warp=0.))
    learn = seg_learner(dls, PRETRAINED)
    return learn, lambda: learn.fine_tune(epochs-1)

SETUPS = dict(plain=plain, recipe=recipe, plain_pre=plain_pre, recipe_pre=recipe_pre, tutorial=tutorial)

MS_SCALES = (0.8, 1.25)  # multi-scale TTA: the frame also resized by these (to multiples of 32), each with its mirror

def _probs_at(model, xb:Tensor, scale:float)->Tensor:
    "Probabilities of `xb` resized by `scale` (to a multiple of 32), averaged with its mirror, back at `xb`'s size"
    hw = [int(round(d*scale/32))*32 for d in xb.shape[-2:]]
    x = F.interpolate(xb, size=hw, mode='bilinear', align_corners=False)
    with torch.no_grad(): p = (model(x).softmax(1) + model(x.flip(-1)).softmax(1).flip(-1))/2
    return F.interpolate(p.float(), size=xb.shape[-2:], mode='bilinear', align_corners=False)

def score_full_res(learn:Learner, files, n_classes:int, ignore_index:int)->tuple:
    "Confusion matrices of the predict path (test_dl at the training size, probabilities upsampled to each file's size): plain, flip TTA, multi-scale + flip TTA"
    cm,cm_tta,cm_ms = (torch.zeros(n_classes, n_classes, dtype=torch.long) for _ in range(3))
    secs = [0., 0., 0.]
    for f in files:
        dl = learn.dls.test_dl([f], num_workers=0)
        t0 = time.perf_counter()
        p,_ = learn.get_preds(dl=dl)
        t1 = time.perf_counter()
        xb = dl.one_batch()[0]
        model = learn.model.eval()
        with torch.no_grad(): pf = model(xb.flip(-1)).softmax(1).flip(-1)  # the mirrored frame, mirrored back
        t2 = time.perf_counter()
        pms = ((p + pf)/2 + sum(_probs_at(model, xb, s) for s in MS_SCALES)) / (1 + len(MS_SCALES))
        secs[0] += t1 - t0; secs[1] += t2 - t1; secs[2] += time.perf_counter() - t2
        targ = torch.from_numpy(read_mask(_label(f))).long()
        up = lambda o: F.interpolate(o[:, :n_classes].float(), size=targ.shape, mode='bilinear', align_corners=False)
        cm += confusion_matrix(up(p).argmax(1)[0], targ, n_classes, ignore_index)
        cm_tta += confusion_matrix(up((p + pf)/2).argmax(1)[0], targ, n_classes, ignore_index)
        cm_ms += confusion_matrix(up(pms).argmax(1)[0], targ, n_classes, ignore_index)
    return cm, cm_tta, cm_ms, secs

def then_fit(learn:Learner, root:Path, size, bs:int, epochs:int, rcp:dict):
    "Progressive resizing, as fastai's CamVid lesson does it: the same learner, new batches at `size`, `epochs` more unfrozen"
    set_dls(learn, recipe_dls(root, size, bs, **{**rcp, 'crop': 0.}))  # whole frames; the learner's normalisation carried over
    lr = rcp.get('ft_lr', RECIPE['ft_lr'])/2  # `fine_tune`'s unfrozen rate
    learn.fit_one_cycle(epochs, slice(lr/rcp.get('lr_mult', RECIPE['lr_mult']), lr), pct_start=0.3, div=5.)

def run(setup:str, seed:int, root:Path, size, bs:int, epochs:int, codes, rcp:dict, then=None)->dict:
    set_seed(seed, reproducible=True)
    start = time.perf_counter()
    learn,fit = SETUPS[setup](root=root, size=size, bs=bs, epochs=epochs, codes=codes, **rcp)
    with learn.no_bar(): fit()  # one line per epoch (epoch, losses, metrics, time)
    if then:
        with learn.no_bar(): then_fit(learn, root, then[:2], bs, then[2], rcp)
    secs = time.perf_counter() - start
    if rcp.get('crop') and not then: set_dls(learn, recipe_dls(root, size, bs, **{**rcp, 'crop': 0.}))  # score whole frames, not centres
    valid = [f for f in camvid11_dev_files(root) if f.name.split('_')[0] in DEV_VALID_DRIVES]
    n = len(codes) - 1  # the 11 classes; void is the last code
    with learn.no_bar(): cm,cm_tta,cm_ms,pred_secs = score_full_res(learn, valid, n, ignore_index=n)  # void (the last code) ignored
    iou,iou_tta,iou_ms = (per_class_table(c, codes[:n]).set_index('class')['iou'].drop('mean').to_dict() for c in (cm, cm_tta, cm_ms))
    return dict(setup=setup, seed=seed, miou=float(np.mean(list(iou.values()))), iou=iou, minutes=secs/60,
                miou_tta=float(np.mean(list(iou_tta.values()))), iou_tta=iou_tta, predict_secs=pred_secs,
                miou_ms=float(np.mean(list(iou_ms.values()))), iou_ms=iou_ms, ms_scales=list(MS_SCALES),
                size=list(size), bs=bs, epochs=epochs, then=list(then) if then else None, recipe=rcp if 'recipe' in setup else None,
                n_train=len(learn.dls.train_ds), n_valid=len(valid), torch=torch.__version__, fastai=fastai.__version__,
                threads=torch.get_num_threads(), keep_freed_memory=KEPT_MEMORY)

def _changes(r:dict)->dict:
    "What a run changed in the recipe (a key a run did not record had its default)"
    return {k:v for k,v in ({**BEFORE_ARCH, **r['recipe']} if r['recipe'] else {}).items() if RECIPE.get(k) != v}

def table(out:Path)->pd.DataFrame:
    "Mean and spread (sample std) over seeds of every set-up (and recipe variant) in `out`"
    rows = [json.loads(l) for l in out.read_text().splitlines() if l.strip()]
    df = pd.DataFrame([dict(setup=r['setup'] + (' ' + json.dumps(_changes(r)) if _changes(r) else ''),
                            size='x'.join(map(str, r['size'])) + (' then {}x{} ({})'.format(*r['then']) if r.get('then') else ''),
                            epochs=r['epochs'], seed=r['seed'], miou=100*r['miou'],
                            rare=100*np.mean([r['iou'][c] for c in RARE]), minutes=r['minutes'],
                            tta=100*r.get('miou_tta', np.nan)) for r in rows])
    g = df.sort_values('seed', kind='stable').groupby(['setup', 'size', 'epochs'], sort=False)  # `per seed` in the order of `seeds`
    return pd.DataFrame({'mIoU mean': g.miou.mean(), 'std': g.miou.std(), 'seeds': g.seed.apply(lambda s: ' '.join(map(str, s))),
                         'per seed': g.miou.apply(lambda s: ' '.join(f'{v:.1f}' for v in s)), 'rare': g.rare.mean(),
                         'flip TTA': g.tta.mean(), 'minutes': g.minutes.median()}).round(2)

def per_class(out:Path)->pd.DataFrame:
    "Per-class IoU (mean over seeds) of every set-up in `out`"
    rows = [json.loads(l) for l in out.read_text().splitlines() if l.strip()]
    rows = [r for r in rows if not _changes(r)]
    if not rows: return pd.DataFrame()  # every run in `out` changed the recipe
    df = pd.DataFrame([{'setup': r['setup'], **r['iou']} for r in rows])
    return (100*df.groupby('setup').mean()).T.round(1)

def markdown(df:pd.DataFrame)->str:
    "A DataFrame as a markdown table (without pandas' optional `tabulate`)"
    rows = [[df.index.name or ''] + [str(c) for c in df.columns]] + [[str(i)] + [str(v) for v in r] for i,r in zip(df.index, df.values)]
    return '\n'.join(['| ' + ' | '.join(rows[0]) + ' |', '|' + '---|'*len(rows[0])] + ['| ' + ' | '.join(r) + ' |' for r in rows[1:]])

def _parse_set(items)->dict:
    out = {}
    for o in items:
        k,_,v = o.partition('=')
        if k not in RECIPE: raise SystemExit(f"--set {o}: unknown key '{k}'; the keys are {list(RECIPE)}")
        out[k] = type(RECIPE[k])(v)
    return out

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('root', help='the camvid11 folder (train/, val/, codes.txt)')
    p.add_argument('--setups', nargs='+', choices=list(SETUPS), default=list(SETUPS))
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--size', type=int, nargs=2, default=(96, 128), help='height width')
    p.add_argument('--bs', type=int, default=SWEEP_RECIPE['bs'])
    p.add_argument('--then', type=int, nargs=3, metavar=('H', 'W', 'EPOCHS'), help='progressive resizing: EPOCHS more at HxW (recipe set-ups)')
    p.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE', help=f'change the recipe; defaults {RECIPE}')
    p.add_argument('--out', default='bench_out/recipe_camvid11.jsonl', help='JSON lines, one per finished run (appended)')
    p.add_argument('--table-only', action='store_true', help='print the table of --out and stop')
    p.add_argument('--markdown', action='store_true', help='print the tables as markdown (for the notebooks and README)')
    p.add_argument('--default-malloc', action='store_true', help="leave glibc's malloc as it is (runs recorded before "
                   "`keep_freed_memory` were made so); by default it keeps freed memory, as tutorial 01 does")
    a = p.parse_args()
    out = Path(a.out)
    if not a.table_only:
        KEPT_MEMORY = False if a.default_malloc else keep_freed_memory()
        torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
        warnings.simplefilter('ignore')
        root,size = Path(a.root),tuple(a.size)
        if not (root/'codes.txt').exists(): raise SystemExit(f"{root}: no codes.txt here; pass the camvid11 folder (train/, val/, codes.txt)")
        codes = read_codes(root/'codes.txt')
        if codes[-1] != VOID: raise SystemExit(f"{root/'codes.txt'}: the last class is not '{VOID}'; is this the camvid11 folder?")
        rcp = {**RECIPE, **_parse_set(a.set)}
        print(f"camvid11 dev split at {root} (valid = drive {', '.join(DEV_VALID_DRIVES)}): {size[0]}x{size[1]}, {a.epochs} epochs, "
              f"bs {a.bs}; torch {torch.__version__}, fastai {fastai.__version__}, {torch.get_num_threads()} thread(s)", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        for seed in a.seeds:
            for s in a.setups:
                r = run(s, seed, root, size, a.bs, a.epochs, codes, rcp, a.then)
                with open(out, 'a') as f: f.write(json.dumps(r) + '\n')
                print(f"{s} seed {seed}: mIoU {100*r['miou']:.2f} ({r['minutes']:.1f} min)", flush=True)
    with pd.option_context('display.width', 200, 'display.max_columns', 20, 'display.max_colwidth', 80):
        print(f"\nmIoU on held-out drive(s) {', '.join(DEV_VALID_DRIVES)}, full resolution, void ignored ({out}):")
        t,c = table(out),per_class(out)
        print(markdown(t) if a.markdown else t.to_string())
        if len(c):
            print('\nper-class IoU, mean over seeds (default recipe):')
            print(markdown(c) if a.markdown else c.to_string())
