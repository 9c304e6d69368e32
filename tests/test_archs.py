"Every registered architecture: odd input sizes, one training step, the splitter, export/load round trip, backbones."
import hashlib, json, warnings
from pathlib import Path
import pytest
import torch, torchvision
from fastai.vision.all import Callback, Learner, load_learner, norm_types, resnet34, vgg11_bn
from segcourse.archs import count_params
from segcourse.data import make_camvid_tiny, camvid_tiny_dls
from segcourse.learner import seg_learner
from segcourse.archs import ARCHS, COURSE_ARCHS, create_seg_model

ALL = sorted(ARCHS)
SIZE = (45, 75)  # neither side divisible by 32 (nor 16, nor 8)

@pytest.fixture(scope='module')
def dls(tmp_path_factory):
    torch.set_num_threads(1)
    path = make_camvid_tiny(tmp_path_factory.mktemp('camvid') / 'camvid', n=12, size=SIZE)
    return camvid_tiny_dls(path, bs=4, num_workers=0)

def learner(dls, arch, **kwargs) -> Learner:
    torch.manual_seed(0)
    return seg_learner(dls, 'resnet18', arch=arch, pretrained=False, **kwargs)

def test_registry_has_the_course():
    assert len(COURSE_ARCHS) == 11 and set(COURSE_ARCHS) <= set(ARCHS)

@pytest.mark.parametrize('arch', ALL)
@pytest.mark.parametrize('size', [(33, 47), (67, 93), (64, 96)])
def test_output_has_input_size(arch, size):
    m = create_seg_model(arch, 'resnet18', n_out=3, img_size=(64, 96), pretrained=False)[0]
    with torch.no_grad():
        assert m.train()(torch.randn(2, 3, *size)).shape == (2, 3, *size)
        assert m.eval()(torch.randn(1, 3, *size)).shape == (1, 3, *size)

@pytest.mark.parametrize('arch', ALL)
def test_one_training_step_lowers_the_loss(dls, arch):
    learn = learner(dls, arch, lr=1e-4)  # a small step: one Adam step moves every weight by about lr
    xb,yb = dls.one_batch()
    learn.create_opt()
    learn.model.train()
    def loss():
        torch.manual_seed(1)  # same dropout masks before and after the step
        return learn.loss_func(learn.model(xb), yb)
    before = loss()
    before.backward(); learn.opt.step(); learn.opt.zero_grad()
    with torch.no_grad(): after = loss()
    assert after < before, f"{arch}: loss {before.item():.4f} -> {after.item():.4f}"

@pytest.mark.parametrize('arch', ALL)
def test_splitter_freezes_the_encoder(dls, arch):
    learn = learner(dls, arch)
    learn.freeze()
    net = learn.model.model  # the network inside the `SegModel`
    enc = net[0] if arch == 'dynamic_unet' else net.encoder
    enc_ids = {id(p) for p in enc.parameters()}
    frozen = [p.requires_grad for m in enc.modules() if not isinstance(m, norm_types) for p in m.parameters(recurse=False)]
    assert frozen and not any(frozen), f"{arch}: encoder weights still train when frozen"
    rest = [p for p in learn.model.parameters() if id(p) not in enc_ids]
    assert rest and all(p.requires_grad for p in rest), f"{arch}: decoder frozen too"
    learn.unfreeze()
    assert all(p.requires_grad for p in learn.model.parameters())

@pytest.mark.parametrize('arch', ALL)
def test_export_load_round_trip(dls, arch, tmp_path):
    learn = learner(dls, arch)
    learn.export(tmp_path / 'model.pkl')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn2 = load_learner(tmp_path / 'model.pkl')
    xb = dls.valid.one_batch()[0]
    learn.model.eval(); learn2.model.eval()
    with torch.no_grad(): torch.testing.assert_close(learn2.model(xb), learn.model(xb))
    mask,_,_ = learn2.predict(dls.valid_ds.items[0])
    assert mask.shape == SIZE

class CountTrainableEncoder(Callback):
    "Record, at the start of each fit, how many encoder weights (not norm layers) are trainable"
    def before_fit(self):
        self.counts = getattr(self, 'counts', []) + [sum(p.requires_grad for p in self.model.model.encoder.parameters() if p.ndim > 1)]

def test_fine_tune_trains_the_head_first(dls):
    learn = learner(dls, 'deeplabv3plus')
    counter = CountTrainableEncoder()
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(1, 1e-3, cbs=counter)
    frozen,unfrozen = counter.counts
    assert frozen == 0 < unfrozen

@pytest.mark.parametrize('backbone', [resnet34, 'resnet18d', 'convnext_atto', 'efficientnet_b0', 'mobilenetv3_small_100'])
@pytest.mark.parametrize('arch', ['fcn8s', 'deeplabv3', 'deeplabv3plus', 'pspnet', 'fpn', 'mask2former'])
def test_backbones(arch, backbone):
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)  # a backbone that could not be dilated warns: fail on it
        m = create_seg_model(arch, backbone, n_out=3, pretrained=False)[0]
    assert m(torch.randn(2, 3, 45, 61)).shape == (2, 3, 45, 61)
    if arch in ('deeplabv3', 'deeplabv3plus'): assert m.encoder.strides[-1] == 16
    if arch == 'pspnet': assert m.encoder.strides[-1] == 8

def test_fcn_on_vgg():
    m = create_seg_model('fcn8s', vgg11_bn, n_out=3, pretrained=False)[0]
    assert m.encoder.strides[-3:] == [8, 16, 32]
    assert m(torch.randn(2, 3, 45, 61)).shape == (2, 3, 45, 61)

def test_unknown_arch_names_the_choices(dls):
    with pytest.raises(ValueError, match="unknown architecture 'segformer'; choose one of .*fcn8s"):
        seg_learner(dls, 'resnet18', arch='segformer', pretrained=False)

def test_sizes_are_sensible():
    "Parameter counts near the references (resnet18 backbones, 12 classes)"
    n = {a: count_params(create_seg_model(a, 'resnet18', n_out=12, pretrained=False)[0]) / 1e6 for a in ('fcn8s', 'deeplabv3plus')}
    assert 11 < n['fcn8s'] < 13 and 15 < n['deeplabv3plus'] < 18

KEYS = json.loads((Path(__file__).parent/'arch_keys.json').read_text())  # recorded before encoders read timm's feature_info

def _digest(sd): return hashlib.sha256('\n'.join(f"{k} {tuple(v.shape)}" for k,v in sorted(sd.items())).encode()).hexdigest()[:16]

def _as_saved_before(m, sd)->dict:
    "`sd` under the keys of the flattened timm encoders of before issue 32, which `TimmFeatures.legacy_prefixes` maps back on loading"
    from segcourse.archs import TimmFeatures
    for name,mod in m.named_modules():
        if not isinstance(mod, TimmFeatures): continue
        for old,new in mod.legacy_prefixes():
            sd = {f'{name}.{old}{k[len(name + "." + new):]}' if k.startswith(f'{name}.{new}') else k: v for k,v in sd.items()}
    return sd

@pytest.mark.parametrize('name', sorted(KEYS))
def test_state_dict_keys_are_unchanged(name):
    "Every architecture on a timm, a torchvision and the offline Lite0 encoder reads the state_dict keys and shapes of the model folders saved before"
    arch,bb = name.split('/')
    backbone = {'timm': 'resnet18', 'torchvision': torchvision.models.resnet18, 'lite0': 'tf_efficientnet_lite0'}[bb]
    torch.manual_seed(0)
    m = create_seg_model(arch, backbone, n_out=3, img_size=(64, 96), pretrained=False)[0]
    sd = _as_saved_before(m, m.state_dict())
    assert [len(sd), _digest(sd)] == KEYS[name], f"{name}: the state_dict keys changed, so saved model folders would not load"
    m.load_state_dict(sd)  # and the encoder reads them

@pytest.mark.parametrize('backbone,strides', [('test_vit', [16]), ('test_mambaout', [4, 8, 16, 32]), ('test_convnext', [4, 8, 16, 32])])
def test_transformer_and_nhwc_encoders(backbone, strides):
    "timm's features-only models are kept whole: a ViT (every map at stride 16; its forward is not a sequence of modules) and MambaOut (NHWC features) are U-Net encoders"
    torch.manual_seed(0)
    m = create_seg_model('unet', backbone, n_out=3, img_size=(64, 96), pretrained=False)[0]
    assert m.encoder.strides == strides
    out = m.train()(torch.randn(2, 3, 64, 96))
    assert out.shape == (2, 3, 64, 96)
    out.mean().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.encoder.parameters())

def test_dynamic_unet_refuses_a_vit():
    "fastai's DynamicUnet needs modules run in sequence: a ViT fails with what to use instead"
    with pytest.raises(ValueError, match="does not run its modules in sequence.*arch='unet'"):
        create_seg_model('dynamic_unet', 'test_vit', n_out=3, img_size=(64, 96), pretrained=False)
