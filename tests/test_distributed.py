"Two CPU processes (gloo) train through fastai's distrib_ctx, and their metrics equal a single process's."
import json, os, subprocess, sys
from pathlib import Path
import pytest, torch
from fastai.vision.all import aug_transforms, set_seed
from segcourse.data import make_camvid_tiny, camvid_tiny_dls
from segcourse.learner import seg_learner

ROOT = Path(__file__).resolve().parent.parent


def test_two_processes_train_and_metrics_equal_single_process(tmp_path):
    data = make_camvid_tiny(tmp_path/'data', n=16, size=(32, 48))  # 3 validation frames: DistributedDL pads one
    torchrun = Path(sys.executable).parent/'torchrun'
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([str(torchrun), '--standalone', '--nproc_per_node', '2', str(ROOT/'scripts/train_distributed.py'),
                        '--data', str(data), '--epochs', '2', '--bs', '2', '--out', str(tmp_path/'out')],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    dist_figures = json.loads((tmp_path/'out/metrics.json').read_text())
    assert dist_figures['world_size'] == 2
    assert torch.isfinite(torch.tensor(dist_figures['train_loss']))

    set_seed(42, reproducible=True)
    dls = camvid_tiny_dls(data, bs=2, num_workers=0, batch_tfms=aug_transforms(max_warp=0.))
    assert len(dls.valid_ds) == 3
    learn = seg_learner(dls, 'resnet18', pretrained=False)
    learn.model.load_state_dict(torch.load(tmp_path/'out/final.pth'))
    single = dict(zip(['valid_loss', 'miou', 'dice', 'pixel_acc', 'mean_acc'], learn.validate()))
    for k in ('miou', 'dice', 'pixel_acc', 'mean_acc'):
        assert single[k] == pytest.approx(dist_figures[k], abs=1e-9), (k, single[k], dist_figures[k])
