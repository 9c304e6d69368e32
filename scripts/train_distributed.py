"""Train a U-Net on one process or many: `python` runs it on one, `accelerate launch` on several GPUs or machines.

    accelerate launch --multi_gpu --num_processes 4 scripts/train_distributed.py --data PATH --epochs 30
    accelerate launch --cpu --num_processes 2 scripts/train_distributed.py --data PATH --epochs 1   # two CPU processes

--data is a folder in the CamVid_TINY layout (images/, labels/<stem>_P.png, codes.txt); without it, CamVid_TINY is
downloaded (offline: a generated copy, loudly). With --out DIR, rank 0 writes the validation figures of the last epoch
(computed by all processes together) to DIR/metrics.json and the final weights to DIR/final.pth, so that a
single-process validation of the same weights can be compared with them (tests/test_distributed.py)."""
import json
import torch
from fastcore.script import call_parse
from fastai.vision.all import *
from fastai.distributed import *
from segcourse.data import camvid_tiny_dls
from segcourse.learner import seg_learner


@call_parse
def main(data:str=None, # CamVid_TINY-format folder; default: download (or generate offline)
         epochs:int=1, # Epochs of fit_one_cycle
         lr:float=3e-3, # Maximum learning rate
         bs:int=4, # Batch size per process
         size:int=None, # Resize to (size, size*4//3); default: the files' size
         backbone:str='resnet18', # timm or torchvision name
         pretrained:bool=False, # Start from ImageNet weights (needs internet or a cache)
         seed:int=42,
         out:str=None, # Folder for metrics.json and final.pth (rank 0)
        ):
    set_seed(seed, reproducible=True)
    dls = camvid_tiny_dls(data, bs=bs, size=None if size is None else (size, size*4//3), num_workers=0,
                          batch_tfms=aug_transforms(max_warp=0.))
    learn = seg_learner(dls, backbone, pretrained=pretrained)
    on_gpu = torch.cuda.is_available()
    with learn.distrib_ctx(sync_bn=on_gpu, cpu=not on_gpu):  # CPU processes talk through gloo
        learn.fit_one_cycle(epochs, lr)
    if rank_distrib() == 0:
        names = learn.recorder.metric_names[1:-1]
        figures = dict(zip(names, learn.recorder.values[-1]))
        print(f"world size {num_distrib() or 1}: {figures}")
        if out:
            out = Path(out); out.mkdir(parents=True, exist_ok=True)
            (out/'metrics.json').write_text(json.dumps(dict(world_size=num_distrib() or 1, **figures)))
            torch.save(learn.model.state_dict(), out/'final.pth')
