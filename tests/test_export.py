"""Model files: every architecture through ONNX Runtime against PyTorch, and a saved model folder or ONNX file loaded
in a fresh process predicting what the learner predicts."""
import io, json, pickle, subprocess, sys
from pathlib import Path
import numpy as np, pytest, torch
from fastai.vision.all import imagenet_stats
from segcourse.archs import ARCHS
from segcourse.model import SegModel, ModelFileError
from segcourse.export import export_onnx, save_model_folder, onnx_config

NO_ONNX = sorted(n for n,spec in ARCHS.items() if spec.onnx is not True)  # each architecture's spec says whether it exports

ort = pytest.importorskip('onnxruntime')


def _tiny(arch):
    torch.manual_seed(0)
    return SegModel(arch, 'resnet18', 'torchvision', n_out=5, mean=list(imagenet_stats[0]), std=list(imagenet_stats[1]), img_size=[64, 96]).eval()


def _ort_probs(fn, x):
    sess = ort.InferenceSession(str(fn), providers=['CPUExecutionProvider'])
    return torch.from_numpy(sess.run(None, {'image': x.numpy()})[0]).softmax(1)


@pytest.mark.parametrize('arch', sorted(set(ARCHS) - set(NO_ONNX)))
def test_onnx_matches_pytorch(arch, tmp_path):
    "onnxruntime and PyTorch probabilities agree (< 1e-4, same argmax on >= 99.99% of pixels), at the export's size and another"
    m = _tiny(arch)
    fn = export_onnx(m, tmp_path/f'{arch}.onnx')
    assert onnx_config(fn)['arch'] == arch
    for shape in [(1, 3, 64, 96), (2, 3, 96, 128)]:
        x = torch.randn(shape)
        with torch.no_grad(): ref = m.model(x).softmax(1)
        got = _ort_probs(fn, x)
        assert got.shape == ref.shape
        assert (got - ref).abs().max() < 1e-4, f"{arch} {shape}: max diff {(got - ref).abs().max():.2e}"
        # random weights put many pixels on a near-tie between two classes, where a 1e-7 difference flips the argmax:
        # those decided by more than the error bound must agree on >= 99.99%
        top2 = ref.topk(2, dim=1).values
        decided = (top2[:, 0] - top2[:, 1]) > 2e-4
        assert decided.float().mean() > 0.5, f"{arch}: too few decided pixels to compare"
        assert (got.argmax(1) == ref.argmax(1))[decided].float().mean() >= 0.9999


@pytest.mark.parametrize('arch', NO_ONNX)
def test_unsupported_archs_are_refused_and_still_do_not_export(arch, tmp_path):
    "`export_onnx` refuses them with the reason; the raw export still fails, so the reason in the notebook is still true"
    m = _tiny(arch)
    with pytest.raises(ModelFileError, match=f"'{arch}' does not export"): export_onnx(m, tmp_path/'m.onnx')
    with pytest.raises(Exception):
        torch.onnx.export(m.model, (torch.zeros(1, 3, 64, 96),), str(tmp_path/'raw.onnx'), input_names=['image'], opset_version=17,
                          dynamo=False, dynamic_axes={'image': {0: 'b', 2: 'h', 3: 'w'}})
        _ort_probs(tmp_path/'raw.onnx', torch.zeros(1, 3, 64, 96))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A ResNet18 U-Net trained one epoch on generated scenes, saved as a folder and as ONNX"
    from segcourse.data import make_camvid_tiny, camvid_tiny_dls
    from segcourse.learner import seg_learner
    tmp = tmp_path_factory.mktemp('trained')
    dls = camvid_tiny_dls(make_camvid_tiny(tmp/'data', n=8, size=(64, 96)), bs=4, num_workers=0)
    learn = seg_learner(dls, 'resnet18', pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    save_model_folder(learn, tmp/'model')
    export_onnx(tmp/'model', tmp/'model.onnx')
    return learn, tmp, dls.valid_ds.items[0]


def _predict_in_fresh_process(model, img, out, tmp, *flags):
    code = (f"import numpy as np, torch; torch.set_num_threads({torch.get_num_threads()})\n"
            "from segcourse.inference import load_seg_model, predict_probs, read_image\n"
            f"m = load_seg_model({str(model)!r}{''.join(', ' + f for f in flags)})\n"
            f"np.save({str(out)!r}, predict_probs(m, read_image({str(img)!r})).numpy())")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp)
    assert r.returncode == 0, r.stderr[-2000:]
    return np.load(out)


def test_folder_in_a_fresh_process_predicts_identically(trained):
    from segcourse.inference import predict_probs, read_image
    learn, tmp, img = trained
    ours = predict_probs(learn, read_image(img)).numpy()
    theirs = _predict_in_fresh_process(tmp/'model', img, tmp/'folder.npy', tmp)
    np.testing.assert_array_equal(theirs, ours)


def test_onnx_in_a_fresh_process_predicts_within_tolerance(trained):
    from segcourse.inference import predict_probs, read_image
    learn, tmp, img = trained
    ours = predict_probs(learn, read_image(img)).numpy()
    theirs = _predict_in_fresh_process(tmp/'model.onnx', img, tmp/'onnx.npy', tmp, 'onnx=True')
    assert np.abs(theirs - ours).max() < 1e-4
    assert (theirs.argmax(0) == ours.argmax(0)).mean() >= 0.9999


def test_planted_pickle_runs_nothing_by_default(trained, tmp_path):
    "A pickle under any name is refused before anything in it runs; its payload would have written a file"
    from segcourse.inference import load_seg_model
    learn, tmp, img = trained
    class Payload:
        def __reduce__(self): return (io.open, (str(tmp_path/'pwned.txt'), 'w'))
    for name, data in [('model.pkl', pickle.dumps(Payload())), ('weights.bin', pickle.dumps(Payload()))]:
        (tmp_path/name).write_bytes(data)
        with pytest.raises(ModelFileError, match="can run any code"): load_seg_model(tmp_path/name)
    r = subprocess.run([Path(sys.executable).parent/'segcourse', 'predict', str(tmp_path/'model.pkl'), str(img), '--out', str(tmp_path/'out')],
                       capture_output=True, text=True)
    assert r.returncode == 1 and 'model.pkl: is a pickle' in r.stderr and '--trust-pickle' in r.stderr
    assert not (tmp_path/'pwned.txt').exists()


def test_saved_config_is_the_learners(trained):
    learn, tmp, _ = trained
    cfg = json.loads((tmp/'model'/'config.json').read_text())
    assert cfg == learn.model.config
    assert cfg['img_size'] == [64, 96] and cfg['n_out'] == len(cfg['codes']) == 32


def test_folder_of_the_release_before_segmodel_loads_and_predicts(tmp_path):
    "A folder as segcourse 0.1.0 wrote it (before `learn.model` was a `SegModel`): its config keys, tensors under `model.`"
    from safetensors.torch import save_file
    from torchvision.models import resnet18
    from segcourse.archs import create_seg_model
    from segcourse.export import load_model_folder
    from segcourse.inference import predict_probs, predict_files
    from PIL import Image
    torch.manual_seed(0)
    net = create_seg_model('naive', resnet18, 3, (32, 48), pretrained=False)[0].eval()
    (tmp_path/'m').mkdir()
    save_file({f'model.{k}': v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path/'m'/'model.safetensors'))
    (tmp_path/'m'/'config.json').write_text(json.dumps({"arch": "naive", "arch_kwargs": {}, "backbone": "resnet18", "backbone_source": "torchvision",
        "codes": ["a", "b", "void"], "ignore_index": 2, "img_size": [32, 48], "mean": [0.5, 0.5, 0.5], "n_in": 3, "n_out": 3,
        "segcourse_version": "0.1.0", "std": [0.25, 0.25, 0.25], "train_scale": [0.5, 0.5]}, indent=2, sort_keys=True))
    m = load_model_folder(tmp_path/'m')
    assert m.config['codes'] == ['a', 'b', 'void'] and m.config['train_scale'] == [0.5, 0.5]
    img = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    x = (torch.from_numpy(img).permute(2, 0, 1)[None].float().div(255) - 0.5) / 0.25  # the config's mean and std
    with torch.no_grad(): ref = net(x).softmax(1)[0]
    assert torch.allclose(predict_probs(m, img, size=None), ref, atol=1e-5)  # at the image's own size: the same network and weights
    assert predict_probs(m, img).shape == (3, 64, 96)  # at the training scale (32x48) and back
    Image.fromarray(img).save(tmp_path/'frame.png')
    assert predict_files(m, [tmp_path/'frame.png'], tmp_path/'out', show_progress=False) == []
    assert np.array(Image.open(tmp_path/'out'/'frame.png')).max() <= 2
