"""Images per second of one training epoch: `seg_learner` against a hand-written PyTorch loop, and on a GPU against
plain fastai `unet_learner` defaults. Both sides run in this process on the same data.

    python benchmarks/train_throughput.py                       # generated CamVid-format data, CPU or GPU
    python benchmarks/train_throughput.py --data ../shared/data/camvid11 --size 360   # real frames

Printed: img/s of each side and the ratio. On CPU the target is seg_learner within 5% of the plain loop (the
framework's overhead is small); on a GPU, at least 2x plain fastai's fp32 defaults for a ResNet34 U-Net at 360x480.

    python benchmarks/train_throughput.py --archs              # every course architecture, CPU fp32 channels-last, 96x128 and 192x256
    python benchmarks/train_throughput.py --archs --gpu        # the same table on a GPU in bf16, channels-last

`--archs` times unfrozen training steps (forward, loss, backward, AdamW step; the same batch, loss and optimiser for
every model) of every course architecture on the ImageNet Lite0 encoder (`tf_efficientnet_lite0`; 'naive' and
'unet_plain' build their own layers), fastai's DynamicUnet ('dynamic_unet') and segmentation_models_pytorch's Unet
and FPN on the same timm encoder as references, at two sizes, in rounds (every model once per round, the best round
kept), and prints img/s and the ratio to seg_learner's default ('unet'). Every model runs in the memory layout
`seg_learner` trains it in (channels-last, on the CPU as on a GPU); the rows marked '(contiguous)' are fastai's
DynamicUnet and smp's Unet in PyTorch's default layout, as `unet_learner` and smp train them on a CPU: the 'before'
of the default's speed-up. `--out` writes the table as JSON lines (07c_unet prints the committed copy,
benchmarks/results/train_throughput_cpu.jsonl)."""
import time, json, warnings
from fastcore.script import call_parse
from fastai.vision.all import *
from bench_data import bench_dls
from segcourse.learner import seg_learner


def _dls(data, size, bs, cache=False, **kwargs):
    "CamVid-format DataLoaders; `cache=True` decodes every file once (segcourse's pipeline), `False` at every epoch (fastai's)"
    return bench_dls(data, size, 'throughput_data', check=False, bs=bs, cache=cache, batch_tfms=aug_transforms(max_warp=0.), **kwargs)


def plain_loop(model, dl, loss_func, device, amp_dtype, channels_last):
    "One epoch of the textbook loop: forward, loss, backward, step; returns images per second"
    model.to(device).train()
    if channels_last: model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    scaler = torch.amp.GradScaler(enabled=amp_dtype == torch.float16)
    n, start = 0, time.perf_counter()
    for xb, yb in dl:
        xb, yb = TensorBase(xb).as_subclass(Tensor), TensorBase(yb).as_subclass(Tensor).long()
        if channels_last: xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = loss_func(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt); scaler.update()
        n += len(xb)
    if device.type == 'cuda': torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def learner_epoch(learn):
    "Images per second of `learn.fit(1)` on the training set (validation excluded)"
    learn.fit(1, 1e-3)  # warm-up: allocations, cudnn autotuning
    n, start = 0, time.perf_counter()
    class Count(Callback):
        def after_batch(self):
            nonlocal n
            if self.training: n += find_bs(self.yb)
        def after_train(self):
            nonlocal t_train
            if torch.cuda.is_available(): torch.cuda.synchronize()
            t_train = time.perf_counter() - start_train
        def before_train(self):
            nonlocal start_train
            start_train = time.perf_counter()
    t_train = start_train = 0.
    with learn.no_logging(): learn.fit(1, 1e-3, cbs=Count())
    return n / t_train


def measure(data=None, # camvid11-layout folder; default: generated data
            size=(96, 128), # (height, width)
            bs:int=8, backbone:str='resnet34',
            repeats:int=3, # Epochs timed on each side, alternating between the sides (the best of each is kept)
            fastai:bool|None=None, # Also time plain fastai `unet_learner` (fp32 defaults); default: on a GPU only
            **kwargs # Passed to `folder_dls` / `camvid_tiny_dls` (`num_workers`, ...)
           )->dict:
    "Training images per second of `seg_learner`, a plain PyTorch loop and plain fastai, on the same data, as a dict"
    dls = _dls(data, size, bs, cache=True, **kwargs)
    on_gpu = default_device().type == 'cuda'
    learn = seg_learner(dls, backbone, pretrained=False)
    amp = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if on_gpu else None
    set_seed(0)
    model = seg_learner(dls, backbone, pretrained=False, mixed_precision=False, channels_last=False).model
    loss_func = CrossEntropyLossFlat(axis=1, ignore_index=dls.ignore_index)
    runs = L()
    for _ in range(repeats):  # alternating, so that a machine getting slower or faster affects both sides alike
        runs.append((learner_epoch(learn), plain_loop(model, dls.train, loss_func, dls.device, amp, on_gpu)))
    ours,plain = max(runs.itemgot(0)),max(runs.itemgot(1))
    res = dict(device=torch.cuda.get_device_name() if on_gpu else 'CPU', backbone=backbone, size=list(size), bs=bs,
               n_train=len(dls.train_ds), runs=[list(o) for o in runs], seg_learner_img_s=ours, plain_loop_img_s=plain,
               ratio_vs_loop=ours/plain)
    if ifnone(fastai, on_gpu):
        fdls = _dls(data, size, bs, **kwargs)
        fdls.after_batch.fs = fdls.after_batch.fs.filter(lambda t: not isinstance(t, Normalize))
        flearn = unet_learner(fdls, getattr(models, backbone), pretrained=False, loss_func=CrossEntropyLossFlat(axis=1))
        res['fastai_img_s'] = max(learner_epoch(flearn) for _ in range(repeats))
        res['ratio_vs_fastai'] = ours/res['fastai_img_s']
    return res


ENCODER = 'tf_efficientnet_lite0'

def _arch_models()->dict:
    "Name -> a function of the number of classes and the image size that builds the model (the references last)"
    from segcourse.archs import COURSE_ARCHS, create_seg_model
    names = [*COURSE_ARCHS[:COURSE_ARCHS.index('unet')+1], 'dynamic_unet', *COURSE_ARCHS[COURSE_ARCHS.index('unet')+1:]]
    fs = {a: (lambda n, sz, a=a: create_seg_model(a, ENCODER, n, sz, pretrained=False)[0]) for a in names}
    try: import segmentation_models_pytorch as smp
    except ImportError: return fs
    for k in ('Unet', 'FPN'): fs[f'smp.{k}'] = lambda n, sz, k=k: getattr(smp, k)(f'tu-{ENCODER}', encoder_weights=None, classes=n)
    return fs

CONTIGUOUS = ('dynamic_unet', 'smp.Unet')  # also timed in PyTorch's default layout, as fastai's `unet_learner` and smp train on a CPU

def train_steps(model, xb, yb, steps:int, amp_dtype=None)->float:
    "Images per second of the fastest of `steps` unfrozen training steps (forward, loss, backward, AdamW step) on one batch"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    best = float('inf')
    for _ in range(steps):
        start = time.perf_counter()
        with torch.autocast(xb.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        if xb.device.type == 'cuda': torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return len(xb) / best

def archs_table(sizes=((96, 128), (192, 256)), bs:int=8, steps:int=2, rounds:int=2, gpu:bool=False, n_out:int=12, archs=None)->pd.DataFrame:
    "img/s of unfrozen training steps of each architecture at each size, and the ratio to the default 'unet', measured in rounds"
    dev = torch.device('cuda' if gpu else 'cpu')
    amp = torch.bfloat16 if gpu else None
    fs = {k:v for k,v in _arch_models().items() if archs is None or k in archs}
    fs.update({f'{k} (contiguous)': fs[k] for k in CONTIGUOUS if k in fs})
    rows = []
    for sz in sizes:
        torch.manual_seed(0)
        xb,yb = torch.randn(bs, 3, *sz, device=dev),torch.randint(0, n_out, (bs, *sz), device=dev)
        ms = {}
        for k,f in fs.items():
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                m = f(n_out, sz).to(dev).train()
            ms[k] = m if k.endswith('(contiguous)') else m.to(memory_format=torch.channels_last)
            train_steps(ms[k], xb, yb, 1, amp)  # warm-up: allocations, autotuning
        best = {k: 0. for k in ms}
        for _ in range(rounds):  # every model once per round, so that a machine getting slower or faster affects all alike
            for k,m in ms.items(): best[k] = max(best[k], train_steps(m, xb, yb, steps, amp))
        for k,m in ms.items(): rows.append(dict(model=k, size=f'{sz[0]}x{sz[1]}', img_s=best[k], params_M=sum(p.numel() for p in m.parameters())/1e6))
        del ms
    df = pd.DataFrame(rows)
    df['ratio'] = df.img_s / df.groupby('size').img_s.transform(lambda s: s[df.loc[s.index, 'model'] == 'unet'].iloc[0])
    return df

def print_archs_table(df:pd.DataFrame):
    "One row per model, one img/s and one ratio column per size"
    t = df.pivot_table(index='model', columns='size', values=['img_s', 'ratio'], sort=False)
    t.columns = [f'{a} {b}' for a,b in t.columns]
    t['params (M)'] = df.groupby('model', sort=False).params_M.first()
    print(t.round(2).to_string())

@call_parse
def main(data:str=None, # camvid11-layout folder (train/ and val/ with images/ and labels/); default: generated data
         size:int=96, # Frame height; width is 4/3 of it
         bs:int=8, # Batch size
         backbone:str='resnet34', # Encoder
         repeats:int=3, # Epochs timed on each side, alternating between the sides (the best of each is kept)
         archs:bool=False, # Instead: the table of every course architecture at 96x128 and 192x256, as ratios to the default U-Net
         gpu:bool=False, # With --archs: on the GPU, bf16 autocast and channels-last
         steps:int=2, # With --archs: training steps timed per model and round
         rounds:int=2, # With --archs: rounds over all the models (the best is kept)
         out:str=None, # With --archs: also write the table to this JSON lines file
        ):
    if archs:
        torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', torch.get_num_threads())))
        if gpu and not torch.cuda.is_available(): raise SystemExit("--gpu: no CUDA device here")
        df = archs_table(bs=bs, steps=steps, rounds=rounds, gpu=gpu)
        dev = f"{torch.cuda.get_device_name()}, bf16 channels-last" if gpu else f"CPU, fp32 channels-last, {torch.get_num_threads()} thread(s)"
        print(f"unfrozen training steps, {ENCODER} encoder, bs {bs}, {dev}, torch {torch.__version__}; best of {rounds} rounds of {steps} steps")
        print_archs_table(df)
        if out:
            meta = dict(device=dev, bs=bs, steps=steps, rounds=rounds, torch=torch.__version__)
            Path(out).write_text(''.join(json.dumps({**meta, **r}) + '\n' for r in df.to_dict('records')))
        return
    r = measure(data, (size, size*4//3), bs, backbone, repeats)
    print(f"{r['device']}, {backbone} U-Net, {r['size'][0]}x{r['size'][1]}, bs {bs}, {r['n_train']} training images")
    print("img/s of each repeat (seg_learner, plain loop): " + ', '.join(f"({a:.2f}, {b:.2f})" for a,b in r['runs']))
    print(f"seg_learner: {r['seg_learner_img_s']:.1f} img/s | plain PyTorch loop: {r['plain_loop_img_s']:.1f} img/s | ratio {r['ratio_vs_loop']:.3f} (target >= 0.95)")
    if 'fastai_img_s' in r:
        print(f"plain fastai unet_learner (fp32 defaults): {r['fastai_img_s']:.1f} img/s | seg_learner / fastai = {r['ratio_vs_fastai']:.2f}x (target >= 2)")
    else: print("no CUDA device: the comparison with plain fastai on a GPU was not run")
