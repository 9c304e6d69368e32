"`segcourse convert` end to end: each format's generated export, converted by the command line, read by `folder_dls`, one training step."
import json, subprocess, sys
import numpy as np, pytest, torch
from PIL import Image
from segcourse.data import make_voc_like, make_cityscapes_like, folder_dls, read_codes
from segcourse.convert import make_labelme_like, read_split, convert
from segcourse.learner import seg_learner

CLI = [sys.executable, '-c', 'from segcourse.cli import main; main()', 'convert']


def _cli(*args):
    return subprocess.run(CLI + [str(o) for o in args], capture_output=True, text=True, timeout=300)


def _train_step(dest, valid=None):
    "folder_dls on a converted folder as it is, then one forward/backward/step of a tiny U-Net"
    codes = read_codes(dest/'codes.txt')
    dls = folder_dls(dest/'images', dest/'labels', dest/'codes.txt', void='void' if codes[-1] == 'void' else None,
                     valid_names=valid, size=(64, 64), bs=2, num_workers=0, batch_tfms=[])
    learn = seg_learner(dls, 'resnet18', pretrained=False)
    xb,yb = dls.one_batch()
    learn.model.train()
    loss = learn.loss_func(learn.model(xb), yb)
    loss.backward()
    learn.create_opt(); learn.opt.step()
    assert torch.isfinite(loss)
    assert xb.shape == (2, 3, 64, 64) and yb.shape == (2, 64, 64)
    return dls


def test_cli_labelme_to_training(tmp_path):
    src = make_labelme_like(tmp_path/'labelme', n=6, size=(48, 64))
    r = _cli('labelme', src, tmp_path/'out')
    assert r.returncode == 0, r.stderr
    assert '6 images and masks' in r.stdout and "folder_dls(dest/'images'" in r.stdout
    dls = _train_step(tmp_path/'out')
    assert len(dls.train_ds) + len(dls.valid_ds) == 6


def test_voc_and_cityscapes_keep_their_splits(tmp_path):
    voc = make_voc_like(tmp_path/'voc', n=6)
    convert('voc', voc, tmp_path/'voc_out', show_progress=False)
    dls = _train_step(tmp_path/'voc_out', read_split(tmp_path/'voc_out', 'val'))
    assert sorted(o.stem for o in dls.valid_ds.items) == sorted((voc/'ImageSets/Segmentation/val.txt').read_text().split())
    cs = make_cityscapes_like(tmp_path/'cs', n=6)
    convert('cityscapes', cs, tmp_path/'cs_out', show_progress=False)
    dls = _train_step(tmp_path/'cs_out', read_split(tmp_path/'cs_out', 'val'))
    assert all(o.stem.startswith('frankfurt') for o in dls.valid_ds.items) and dls.ignore_index == 19


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    src = make_labelme_like(tmp_path/'labelme', n=2, size=(32, 32))
    (tmp_path/'classes.txt').write_text('sky\nroad\n')
    r = _cli('labelme', src, tmp_path/'out', '--classes', tmp_path/'classes.txt')
    assert r.returncode != 0 and 'Traceback' not in r.stderr
    assert "label(s) not among the classes ['sky', 'road']" in r.stderr and 'frame_00' in r.stderr
    r = _cli('pascal', src, tmp_path/'out2')
    assert r.returncode != 0 and "unknown format 'pascal'" in r.stderr and 'Traceback' not in r.stderr


def test_coco_random_polygons_match_annToMask(tmp_path):
    "Random overlapping polygons (some out of the image): each instance's pixels are annToMask's, smaller on top"
    from pycocotools.coco import COCO
    rng = np.random.default_rng(0)
    (tmp_path/'src/annotations').mkdir(parents=True); (tmp_path/'src/images').mkdir()
    h,w = 40, 50
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(tmp_path/'src/images/a.jpg')
    anns = [dict(id=i, image_id=1, category_id=int(rng.integers(1, 4)), iscrowd=0,
                 segmentation=[rng.uniform(-10, 60, 2*int(rng.integers(3, 8))).round(2).tolist()]) for i in range(1, 13)]
    d = dict(images=[dict(id=1, file_name='a.jpg', height=h, width=w)], annotations=anns,
             categories=[dict(id=i, name=f'c{i}') for i in (1, 2, 3)])
    fn = tmp_path/'src/annotations/instances_default.json'
    fn.write_text(json.dumps(d))
    out = convert('coco', tmp_path/'src', tmp_path/'out', show_progress=False)
    api = COCO(str(fn))
    ref = np.zeros((h, w), np.uint8)
    for a in sorted(api.loadAnns(api.getAnnIds()), key=lambda a: -int(api.annToMask(a).sum())): ref[api.annToMask(a) == 1] = a['category_id']
    got = np.array(Image.open(out/'labels/a.png'))
    assert (got == ref).all()
    assert len(np.unique(got)) >= 3
