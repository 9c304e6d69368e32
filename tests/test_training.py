"End-to-end training checks that are too long for a notebook: learning on generated data, and every kind of backbone."
import subprocess, sys
import numpy as np, pytest, torch, torchvision
from fastai.vision.all import aug_transforms, set_seed, resnet18
from segcourse.data import make_camvid_tiny, camvid_tiny_dls
from segcourse.learner import seg_learner


@pytest.fixture(scope='module')
def camvid(tmp_path_factory):
    return make_camvid_tiny(tmp_path_factory.mktemp('data')/'camvid', n=40, size=(64, 96), seed=1)


@pytest.fixture(autouse=True)
def one_thread():
    "One thread and deterministic kernels: the learned figures below must not depend on the machine's cores (pytest runs without OMP_NUM_THREADS=1)"
    n = torch.get_num_threads()
    torch.set_num_threads(1); torch.use_deterministic_algorithms(True)
    yield
    torch.set_num_threads(n); torch.use_deterministic_algorithms(False)


def _dls(path, **kw):
    return camvid_tiny_dls(path, bs=8, num_workers=0, batch_tfms=aug_transforms(max_rotate=5., max_warp=0.), **kw)


def test_unet_learns_generated_scenes(camvid):
    "A from-scratch U-Net must learn the generated classes: mIoU well above an untrained model's"
    set_seed(0, reproducible=True)
    learn = seg_learner(_dls(camvid), 'resnet18', pretrained=False)
    before = learn.validate()[1:]
    learn.fit_one_cycle(6, 3e-3)
    miou, dice, acc, macc = learn.recorder.values[-1][2:6]
    # 0.499-0.510 over seeds 0-7 on 1 thread (0.499 on 2); a fresh clone once gave 0.443: 0.40 keeps 0.1 below the lowest seen
    assert miou > 0.40, f"mIoU {miou:.3f} after 6 epochs: the U-Net did not learn the generated scenes"
    assert miou > before[0] + 0.3
    assert acc > 0.80  # 0.907-0.916 over the same runs


@pytest.mark.parametrize('backbone', ['resnet18', 'convnext_atto', resnet18, torchvision.models.mobilenet_v3_small],
                         ids=['timm-resnet18', 'timm-convnext_atto', 'tv-resnet18', 'tv-mobilenet_v3_small'])
def test_backbone_trains_one_epoch(camvid, backbone):
    "Two timm and two torchvision backbones each train one epoch, and the encoder's weights change"
    learn = seg_learner(_dls(camvid), backbone, pretrained=False)
    w0 = [p.detach().clone() for p in learn.model.model.encoder.parameters()][:3]
    learn.fit(1, 1e-3)
    train_loss, valid_loss = learn.recorder.values[-1][:2]
    assert np.isfinite(train_loss) and np.isfinite(valid_loss)
    assert any(not torch.equal(a, b) for a, b in zip(w0, learn.model.model.encoder.parameters()))


def test_export_predicts_the_same_in_a_fresh_process(camvid, tmp_path):
    "learn.export() then load_learner in another Python process gives identical predictions"
    learn = seg_learner(_dls(camvid), 'resnet18', pretrained=False)
    learn.fit(1, 1e-3)
    learn.export(tmp_path/'model.pkl')
    fn = learn.dls.valid_ds.items[0]
    ours = learn.predict(fn)[0].numpy()
    code = (f"from fastai.vision.all import *; import numpy as np; l = load_learner({str(tmp_path/'model.pkl')!r}); "
            f"np.save({str(tmp_path/'pred.npy')!r}, l.predict({str(fn)!r})[0].numpy())")
    subprocess.run([sys.executable, '-c', code], check=True, capture_output=True)
    assert (np.load(tmp_path/'pred.npy') == ours).all()
