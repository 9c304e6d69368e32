"Model folders written by an earlier `save_model_folder` (tests/fixtures/model_folders, made by tools/make_model_fixtures.py) load and predict the same masks"
import json, shutil, warnings
from pathlib import Path
import numpy as np, pytest

FIX = Path(__file__).resolve().parent/'fixtures'/'model_folders'
FOLDERS = sorted(p.name for p in FIX.iterdir() if (p/'config.json').is_file())
OLD_UNET = 'unet_was_dynamic_unet'  # a folder from when 'unet' named fastai's DynamicUnet: made from dynamic_unet_effnet below

def test_fixtures_are_there():
    assert FOLDERS == ['deeplabv3plus_effnet', 'dynamic_unet_effnet', 'unet_effnet', 'unet_tv_squeezenet']

def _folder(name, tmp_path)->Path:
    if name != OLD_UNET: return FIX/name
    fld = shutil.copytree(FIX/'dynamic_unet_effnet', tmp_path/name)
    cfg = json.loads((fld/'config.json').read_text()); cfg['arch'] = 'unet'
    (fld/'config.json').write_text(json.dumps(cfg))
    return fld

@pytest.mark.parametrize('name', FOLDERS + [OLD_UNET])
def test_old_folder_predicts_the_same(name, tmp_path):
    import sys; sys.path.insert(0, str(FIX.parent.parent.parent/'tools'))
    from make_model_fixtures import predict
    from segcourse.export import load_model_folder
    fld = _folder(name, tmp_path)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        m = load_model_folder(fld)
    saved = json.loads((fld/'config.json').read_text())
    if name == OLD_UNET:  # 'unet' was fastai's DynamicUnet: loaded as such, and said so
        assert any('loaded as arch=' in str(w.message) for w in ws)
        assert m.config['arch'] == 'dynamic_unet'
        saved['arch'] = 'dynamic_unet'
    assert {k: v for k,v in m.config.items() if k != 'segcourse_version'} == {k: v for k,v in saved.items() if k != 'segcourse_version'}
    for j,(p,mask) in enumerate(predict(m)):
        p0,mask0 = np.load(fld/f'probs{j}.npy').astype(np.float32),np.load(fld/f'mask{j}.npy')
        assert p.shape == p0.shape and mask.shape == mask0.shape
        np.testing.assert_allclose(p, p0, atol=2e-3)  # the probabilities are kept as float16
        top2 = np.sort(p0, 0)[-2:]
        sure = (top2[1] - top2[0]) > 4e-3  # pixels whose two best classes are further apart than float16 and kernels blur
        assert sure.mean() > 0.5  # random weights: near ties are many, but most pixels are clear
        assert (mask[sure] == mask0[sure]).all(), f"{name}, image {j}: {(mask[sure] != mask0[sure]).sum()} pixels changed class"
