"""Write the model folders of tests/fixtures/model_folders/ with today's `save_model_folder`, and the masks each predicts.

Run once, BEFORE a change to how models are built, saved or loaded (issue 32): the folders are what users already hold,
and tests/test_model_folders_compat.py checks that they still load and predict the same masks. Running it again after
such a change would defeat the test, so it refuses to overwrite the folders unless given --force.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 .venv/bin/python tools/make_model_fixtures.py
"""
import json, shutil, sys
from pathlib import Path
import numpy as np, torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT/'tests'/'fixtures'/'model_folders'

# name: SegModel config (random weights, seeded); small decoders and encoders (timm's `test_efficientnet` is the same EfficientNetFeatures class as the Lite encoders) keep the four folders near 5 MB
FOLDERS = {
    'unet_effnet': dict(arch='unet', backbone='test_efficientnet', arch_kwargs=dict(widths=[32, 16, 16, 8]), n_out=3,
                        codes=['road', 'car', 'sky'], ignore_index=255, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5],
                        img_size=[64, 96], train_scale=[0.5, 0.5]),
    'deeplabv3plus_effnet': dict(arch='deeplabv3plus', backbone='test_efficientnet', arch_kwargs=dict(channels=32, low_channels=8),
                                n_out=4, codes=['a', 'b', 'c', 'd'], mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
                                img_size=[64, 96]),
    'dynamic_unet_effnet': dict(arch='dynamic_unet', backbone='test_efficientnet', n_out=3, mean=[0.485, 0.456, 0.406],
                                std=[0.229, 0.224, 0.225], img_size=[64, 96]),
    'unet_tv_squeezenet': dict(arch='unet', backbone='squeezenet1_1', backbone_source='torchvision', arch_kwargs=dict(widths=[32, 16, 16, 8]),
                               n_out=3, mean=None, std=None, img_size=[64, 96]),
}

def images():
    "Two fixed generated images: one at the training size, one of another size (resized and padded on the way)"
    g = np.random.default_rng(0)
    a = (np.linspace(0, 255, 64*96*3).reshape(64, 96, 3) + g.integers(0, 40, (64, 96, 3))).clip(0, 255).astype(np.uint8)
    b = g.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    b[10:30, 20:50] = (200, 30, 30)
    return [a, b]

def predict(m):
    "[(probabilities (C, H, W) float32, mask (H, W) uint8)] of `m` on `images()` with `predict_probs` at the training scale"
    from segcourse.inference import predict_probs
    res = []
    for img in images():
        p = predict_probs(m, img).numpy().astype(np.float32)
        res.append((p, p.argmax(0).astype(np.uint8)))
    return res

def main(force=False):
    from segcourse.model import SegModel
    from segcourse.export import save_model_folder, load_model_folder
    if OUT.exists() and any(OUT.iterdir()) and not force: sys.exit(f"{OUT} is not empty: these fixtures are written once, before a change (--force to replace)")
    OUT.mkdir(parents=True, exist_ok=True)
    for i,(name,cfg) in enumerate(FOLDERS.items()):
        torch.manual_seed(i)
        m = SegModel(**cfg).eval()
        last = [o for o in m.modules() if isinstance(o, torch.nn.Conv2d)][-1]
        with torch.no_grad(): last.weight.mul_(20)  # random weights give near ties; larger logits make most pixels' class clear
        fld = OUT/name
        if fld.exists(): shutil.rmtree(fld)
        save_model_folder(m, fld)
        m2 = load_model_folder(fld)
        for j,(p,mask) in enumerate(predict(m2)):
            np.save(fld/f'probs{j}.npy', p.astype(np.float16))
            np.save(fld/f'mask{j}.npy', mask)
        print(name, sum(f.stat().st_size for f in fld.iterdir()) // 1024, 'KB', json.loads((fld/'config.json').read_text())['arch'])

if __name__ == '__main__': main('--force' in sys.argv)
