"""Seconds per training step of the course's default U-Net ('unet') on the CPU, fp32 against bfloat16 autocast, at the
training sizes of the 15-minute sweep (`11_recipe`) and for the ImageNet Lite0/1/2 encoders: random batches of 8,
channels-last, AdamW, cross-entropy; the median of 4 steps after one warm-up step. `min_epoch` is that times 46 steps
(camvid11's 367 training frames at batch size 8), compute only (no data loading or validation).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/cpu_bf16_steps.py > benchmarks/results/cpu_bf16_steps.jsonl

One JSON line per (encoder, size, precision). Run it alone on the machine: it is a timing."""
import time, json, warnings, torch, torch.nn.functional as F
warnings.simplefilter('ignore')
from segcourse.archs import create_seg_model

def step_seconds(enc:str, h:int, w:int, bf16:bool, steps:int=4, bs:int=8)->dict:
    m,_,_ = create_seg_model('unet', enc, 12, (h, w), pretrained=True)
    m = m.to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(m.parameters(), 1e-3)
    x,y = torch.randn(bs, 3, h, w).to(memory_format=torch.channels_last),torch.randint(0, 11, (bs, h, w))
    ts = []
    for _ in range(steps + 1):
        t = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16): loss = F.cross_entropy(m(x).float(), y)
        loss.backward(); opt.step(); opt.zero_grad()
        ts.append(time.perf_counter() - t)
    s = sorted(ts[1:])[len(ts[1:])//2]
    return dict(enc=enc, size=f'{h}x{w}', bf16=bf16, s_step=round(s, 3), min_epoch=round(s*46/60, 2), threads=torch.get_num_threads())

if __name__ == '__main__':
    for enc,h,w in [('tf_efficientnet_lite0', 192, 256), ('tf_efficientnet_lite0', 360, 480), ('tf_efficientnet_lite0', 288, 384),
                    ('tf_efficientnet_lite1', 288, 384), ('tf_efficientnet_lite2', 288, 384)]:
        for bf16 in (False, True): print(json.dumps(step_seconds(enc, h, w, bf16)), flush=True)
