"One output channel end to end: data of 0/1/255 masks, `seg_learner(n_out=1)` with BCE + Dice, the positive class's IoU, `predict_masks(threshold=)`, a model folder and ONNX"
import sys, subprocess
import numpy as np, pytest, torch
from pathlib import Path
from PIL import Image
from fastai.vision.all import resnet18
from segcourse.data import make_camvid_tiny, CAMVID_CODES, read_mask
from segcourse.loaders import folder_dls
from segcourse.learner import seg_learner
from segcourse.model import SegModel
from segcourse.export import save_model_folder, load_model_folder, export_onnx
from segcourse.inference import load_seg_model, predict_probs, predict_files
from segcourse.core import read_image
from segcourse.report import SegReport
from segcourse.data import MaskFinder

CMD = [sys.executable, '-c', 'import sys; from segcourse.cli import main; sys.exit(main())']  # the checkout under test

def split_threshold(p:torch.Tensor)->float:
    "A threshold above 0.5 that some pixels of `p` (probabilities of class 1) called positive at 0.5 do not pass: it changes the mask"
    mid = p[(p > 0.5) & (p < 1)]
    assert len(mid), "no probability between 0.5 and 1: the test model is too sure to test a threshold"
    return mid.median().item()

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    torch.manual_seed(0)
    tmp = tmp_path_factory.mktemp('binary')
    path = make_camvid_tiny(tmp/'camvid', n=8, size=(64, 96))
    (tmp/'labels').mkdir()
    road,void = CAMVID_CODES.index('Road'),CAMVID_CODES.index('Void')
    for f in (path/'labels').glob('*_P.png'):
        m = read_mask(f)
        Image.fromarray(np.where(m == road, 1, np.where(m == void, 255, 0)).astype(np.uint8)).save(tmp/'labels'/f.name.replace('_P', ''))
    dls = folder_dls(path/'images', tmp/'labels', ['not road', 'road'], ignore_index=255, bs=4, num_workers=0, valid_groups=['0006R0'])
    learn = seg_learner(dls, resnet18, pretrained=False, n_out=1, loss_func='ce+dice', arch='unet')
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-2)
    return learn, tmp

@pytest.fixture(scope='module')
def unsure(trained):
    "The same learner untrained: its probabilities spread around 0.5 (the trained one's are 0 or 1), so a threshold changes its masks"
    torch.manual_seed(1)
    return seg_learner(trained[0].dls, resnet18, pretrained=False, n_out=1, loss_func='ce+dice', arch='unet')

def test_learner(trained):
    learn,_ = trained
    assert learn.metrics.attrgot('name') == ['iou', 'dice', 'miou', 'pixel_acc']
    probs,targs,masks = learn.get_preds(with_decoded=True)
    assert probs.shape[1] == 1 and 0 <= probs.min() and probs.max() <= 1
    assert torch.equal(masks, (probs[:, 0] > 0.5).long())
    iou = learn.validate()[1]
    keep = targs != 255
    inter,union = ((masks == 1) & (targs == 1) & keep).sum(), (((masks == 1) | (targs == 1)) & keep).sum()
    assert abs(iou - (inter/union).item()) < 1e-4

def test_predict_threshold(unsure):
    learn = unsure
    f = learn.dls.valid_ds.items[0]
    p = predict_probs(learn, read_image(f))
    assert p.shape == (2, 64, 96)
    torch.testing.assert_close(p.sum(0), torch.ones(64, 96))  # 1 - sigmoid and sigmoid
    t = split_threshold(p[1])
    (m,),(mt,) = learn.predict_masks([f]),learn.predict_masks([f], threshold=t)
    assert np.array_equal(m, (p[1] > 0.5).numpy().astype(np.uint8))
    assert np.array_equal(mt, (p[1] > t).numpy().astype(np.uint8))
    assert not np.array_equal(m, mt)  # the threshold moved the boundary
    with pytest.raises(ValueError, match='threshold=1.5: a probability'): learn.predict_masks([f], threshold=1.5)

def test_folder_and_onnx(trained):
    learn,tmp = trained
    f = learn.dls.valid_ds.items[0]
    ref = predict_probs(learn, read_image(f))
    m = load_model_folder(save_model_folder(learn, tmp/'model'))
    assert m.config['n_out'] == 1 and m.config['codes'] == ['not road', 'road']
    torch.testing.assert_close(predict_probs(m, read_image(f)), ref, atol=1e-5, rtol=1e-4)
    o = load_seg_model(export_onnx(learn, tmp/'model.onnx'))
    torch.testing.assert_close(predict_probs(o, read_image(f)), ref, atol=1e-4, rtol=1e-3)
    assert np.array_equal(o.predict_masks([f], threshold=0.5)[0], learn.predict_masks([f])[0])
    assert predict_files(o, [f], tmp/'out', show_progress=False) == []
    assert set(np.unique(np.array(Image.open(tmp/'out'/f'{Path(f).stem}.png')))) <= {0, 1}
    three = SegModel('naive', None, None, n_out=3)  # a multi-class model takes the most probable class: no threshold
    with pytest.raises(ValueError, match='is for a one-channel'): three.predict_masks([f], threshold=0.5)

def test_report_from_files(trained, unsure):
    "The prediction path's report of a binary model: its 2x2 matrix is the masks `predict_masks` gives, at the threshold asked"
    (_,tmp),learn = trained,unsure
    files = list(learn.dls.valid_ds.items)
    get_mask = MaskFinder(tmp/'labels')
    t_half = split_threshold(torch.cat([predict_probs(learn, read_image(f))[1].flatten() for f in files]))
    cms = []
    for t in (None, t_half):
        rep = SegReport.from_files(learn, files, get_mask, threshold=t)
        cms.append(rep.cm)
        preds = learn.predict_masks(files, threshold=t)
        targs = [read_mask(get_mask(f)) for f in files]
        tp = sum(((p == 1) & (m == 1)).sum() for p,m in zip(preds, targs))
        fp = sum(((p == 1) & (m == 0)).sum() for p,m in zip(preds, targs))
        assert rep.cm.shape == (2, 2) and rep.cm[1, 1] == tp and rep.cm[0, 1] == fp
    assert not torch.equal(cms[0], cms[1])  # the threshold reached the masks scored
    assert rep.codes == ['not road', 'road']
    assert SegReport.from_files(learn, files, get_mask, codes=['bg', 'fg']).codes == ['bg', 'fg']  # two names for one channel

def test_cli_predict(trained, unsure):
    "`segcourse predict` on a binary model folder: 0/1 masks, `--threshold` moves the boundary, and a multi-class model refuses it in words"
    (_,tmp),learn = trained,unsure
    folder = save_model_folder(learn, tmp/'cli_model')
    f = Path(learn.dls.valid_ds.items[0])
    p = predict_probs(learn, read_image(f))[1]
    t = split_threshold(p)
    masks = {}
    for t_,out in ((None, 'cli'), (t, 'cli_t')):
        r = subprocess.run(CMD + ['predict', str(folder), str(f), '--out', str(tmp/out), '--cpu'] + ([] if t_ is None else ['--threshold', repr(t_)]),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert '1 image(s) segmented' in r.stdout
        masks[t_] = np.array(Image.open(tmp/out/f'{f.stem}.png'))
        assert np.array_equal(masks[t_], (p > (t_ or 0.5)).numpy().astype(np.uint8))
    assert not np.array_equal(masks[None], masks[t])  # the threshold moved the boundary
    multi = SegModel('naive', None, None, n_out=3)
    r = subprocess.run(CMD + ['predict', str(save_model_folder(multi, tmp/'three')), str(f), '--out', str(tmp/'cli3'), '--threshold', '0.5'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and 'error: threshold=0.5 is for a one-channel (binary) model; this one has 3 classes' in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr and not (tmp/'cli3').exists()

def test_report_from_learner(trained):
    "`SegReport.from_learner` of a binary learner: the metrics' 2x2 matrix, and the worst images' masks thresholded, not an argmax of one channel"
    learn,_ = trained
    rep = SegReport.from_learner(learn, k=2)
    probs,targs,masks = learn.get_preds(with_decoded=True)
    keep = targs != 255
    assert rep.cm.shape == (2, 2) and rep.cm[1, 1] == ((masks == 1) & (targs == 1) & keep).sum()
    assert abs(rep.table().set_index('class').loc['road', 'iou'] - learn.validate()[1]) < 1e-4
    _,_,_,p = rep.worst
    assert set(p.unique().tolist()) <= {0, 1}
    i = [j for j in range(len(targs)) if torch.equal(targs[j], rep.worst[2][0].cpu())][0]
    assert torch.equal(p[0].cpu(), masks[i])
