"""Bad inputs, each driven through the command line or the function a user calls: a clear error or correct
behaviour, never a traceback for a user mistake, a hang, or a lost file. tests/README.md has the table."""
import os, sys, zlib, struct, inspect, subprocess, warnings
from pathlib import Path
import numpy as np
import pytest, torch
from PIL import Image
from segcourse.core import rgb_array, read_image, MaskError, ImageError
from segcourse.data import make_camvid_tiny, camvid_tiny_dls, read_codes, image_files, ImageReader, folder_dls
from segcourse.learner import seg_learner
from segcourse.inference import predict_files, segcourse_predict
from segcourse.cli import main

TIMEOUT = 120  # seconds: a command that takes longer hangs

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return make_camvid_tiny(tmp_path_factory.mktemp('camvid')/'camvid', n=6, size=(32, 48))

@pytest.fixture(scope='module')
def learn(data):
    return seg_learner(camvid_tiny_dls(data, bs=2, num_workers=0), 'resnet18', pretrained=False)

@pytest.fixture(scope='module')
def model(learn, tmp_path_factory):
    "A model folder (`save_model_folder`): what `segcourse predict` takes without trusting a pickle"
    from segcourse.export import save_model_folder
    return save_model_folder(learn, tmp_path_factory.mktemp('model')/'model')

def model_args(model): return [str(model)]

def run_cli(args, capsys, monkeypatch):
    "Run `segcourse ARGS` in this process: (exit code, stdout, stderr). Any exception but SystemExit fails the test: a traceback"
    monkeypatch.setattr(sys, 'argv', ['segcourse'] + [str(a) for a in args])
    try: main(); code = 0
    except SystemExit as e: code = e.code
    out,err = capsys.readouterr()
    if isinstance(code, str): err,code = err + code, 1  # `sys.exit(message)`: Python prints it and exits 1
    return code, out, err

def bomb_png(fn, side=40000):
    "A 100-byte PNG that claims side x side pixels: PIL refuses it as a decompression bomb when it opens it"
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    fn.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', side, side, 8, 0, 0, 0, 0)) +
                   chunk(b'IDAT', zlib.compress(b'\x00' * 64)) + chunk(b'IEND', b''))
    return fn

# Arguments the CLI refuses before it loads anything: one line, exit 1, nothing written.
@pytest.mark.parametrize('args,msg', [
    (['--overlap', '1.5'], 'overlap must be in [0, 1)'),
    (['--overlap', '-0.1'], 'overlap must be in [0, 1)'),
    (['--overlap', 'nan'], 'overlap must be in [0, 1)'),
    (['--bs', '0'], 'bs (tiles per forward pass) must be a whole number, 1 or more'),
    (['--tile', '0'], 'tile must be a size in pixels'),
    (['--tile', '-5'], 'tile must be a size in pixels'),
])
def test_cli_refuses_arguments(args, msg, data, tmp_path, capsys, monkeypatch):
    code,_,err = run_cli(['predict', 'model.pkl', data/'images', '--out', tmp_path/'out'] + args, capsys, monkeypatch)
    assert code == 1 and msg in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path/'out').exists()

def test_cli_help_exits_0(capsys, monkeypatch):
    for args in (['--help'], ['-h']):
        code,out,_ = run_cli(args, capsys, monkeypatch)
        assert code == 0 and 'usage: segcourse' in out
    code,_,err = run_cli(['train'], capsys, monkeypatch)
    assert code == 2 and "unknown command 'train'" in err

def test_cli_help_subprocess():
    "The installed command, in its own process"
    exe = Path(sys.executable).parent/'segcourse'
    if not exe.exists(): pytest.skip("no `segcourse` command installed in this environment")
    r = subprocess.run([exe, '--help'], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and 'usage: segcourse' in r.stdout and 'Traceback' not in r.stderr

def test_cli_unwritable_out(model, data, tmp_path, capsys, monkeypatch):
    (tmp_path/'a_file').write_text('keep me')
    code,_,err = run_cli(['predict'] + model_args(model) + [data/'images', '--out', tmp_path/'a_file'], capsys, monkeypatch)
    assert code == 1 and 'cannot write the predictions there' in err and 'Traceback' not in err, err
    assert (tmp_path/'a_file').read_text() == 'keep me'

def test_cli_collision_writes_nothing(model, data, tmp_path, capsys, monkeypatch):
    (tmp_path/'x').mkdir(); (tmp_path/'y').mkdir()
    src = sorted((data/'images').iterdir())[0]
    Image.open(src).save(tmp_path/'x'/'frame.png'); Image.open(src).save(tmp_path/'y'/'frame.png')
    Image.open(src).save(tmp_path/'x'/'frame.jpg')
    for inputs,clash in (([tmp_path/'x'/'frame.png', tmp_path/'y'/'frame.png'], 'frame.png'), ([tmp_path/'x'], 'frame.png')):
        code,_,err = run_cli(['predict'] + model_args(model) + inputs + ['--out', tmp_path/'out'], capsys, monkeypatch)
        assert code == 1 and f'would both be written as {clash}' in err, err
        assert not (tmp_path/'out').exists()

def test_cli_bomb_is_a_listed_failure(model, data, tmp_path, capsys, monkeypatch):
    good = sorted((data/'images').iterdir())[0]
    code,out,err = run_cli(['predict'] + model_args(model) + [good, bomb_png(tmp_path/'bomb.png'), '--out', tmp_path/'out'], capsys, monkeypatch)
    assert code == 1 and 'bomb.png: refused as a possible decompression bomb' in err and 'Traceback' not in err, err
    assert (tmp_path/'out'/f'{good.stem}.png').exists()  # the good input is still segmented

def test_predict_keeps_folders(learn, data, tmp_path):
    (tmp_path/'in'/'x').mkdir(parents=True); (tmp_path/'in'/'y').mkdir()
    src = sorted((data/'images').iterdir())[:2]
    Image.open(src[0]).save(tmp_path/'in'/'x'/'frame.png'); Image.open(src[1]).save(tmp_path/'in'/'y'/'frame.png')
    assert predict_files(learn, [tmp_path/'in'], tmp_path/'out', show_progress=False) == []
    masks = sorted(str(p.relative_to(tmp_path/'out')) for p in (tmp_path/'out').rglob('*.png'))
    assert masks == ['x/frame.png', 'y/frame.png']

def test_bomb_in_training_data(data, tmp_path):
    with pytest.raises(ImageError, match='refused as a possible decompression bomb'): ImageReader()(bomb_png(tmp_path/'bomb.png'))
    with pytest.raises(ImageError, match='refused as a possible decompression bomb'): read_image(tmp_path/'bomb.png')

def test_16bit_same_in_training_and_inference(tmp_path):
    Image.fromarray((np.arange(48*64).reshape(48, 64) * 20).astype(np.uint16)).save(tmp_path/'16.png')
    train = np.asarray(ImageReader()(tmp_path/'16.png'))
    np.testing.assert_array_equal(train, read_image(tmp_path/'16.png'))
    assert train.std() > 10  # not a flat white image

def test_symlinks_dedupe_and_loops(data, tmp_path):
    root = tmp_path/'ds'
    (root/'images').mkdir(parents=True)
    for f in (data/'images').iterdir(): (root/'images'/f.name).symlink_to(f)
    (root/'images'/'again').symlink_to(root/'images')     # a loop
    (root/'images_copy').symlink_to(root/'images')        # the same folder twice
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        files = image_files([root/'images', root/'images_copy'])
        dls = folder_dls([root/'images', root/'images_copy'], data/'labels', data/'codes.txt', mask_suffix='_P', bs=2, num_workers=0)
    assert len(files) == 6 and any('reached twice through symlinks' in str(o.message) for o in w)
    names = [Path(o).name for o in dls.train_ds.items] + [Path(o).name for o in dls.valid_ds.items]
    assert sorted(names) == sorted(f.name for f in (data/'images').iterdir())  # each frame once, in one split

def test_duplicate_codes_and_small_n_out(data, tmp_path):
    (tmp_path/'codes.txt').write_text('sky\nroad\nsky\n')
    with pytest.raises(ValueError, match=r"\['sky'\] appear more than once"): read_codes(tmp_path/'codes.txt')
    dls = camvid_tiny_dls(data, bs=2, num_workers=0)
    with pytest.raises(ValueError, match='n_out=4 but the DataLoaders have 32 classes'): seg_learner(dls, 'resnet18', pretrained=False, n_out=4)


# ---- issue 24: nothing outside DEST, nothing of the user's overwritten, no hang ---------------------------------------
import json, base64, io, resource, shutil
from segcourse.core import check_pixels, OutputFolder, PathError
from segcourse.data import read_mask, seg_splitter, make_voc_like, MaskReader
from segcourse.convert import convert, make_labelme_like
from segcourse.losses import seg_loss, SEG_LOSSES
from segcourse.export import load_model_folder
from segcourse.model import ModelFileError

def frame(data, i=0): return sorted((data/'images').iterdir())[i]

def labelme_json(folder, name='a', shapes=(), h=24, w=32, image_path=None, image_data=None, image=True):
    "A LabelMe JSON (and its image unless `image=False`) in `folder`"
    folder.mkdir(parents=True, exist_ok=True)
    if image: Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(folder/f'{name}.png')
    js = [dict(label=l, points=p, shape_type=t, group_id=None, flags={}) for l,t,p in shapes]
    (folder/f'{name}.json').write_text(json.dumps(dict(version='5.5.0', shapes=js, imagePath=image_path or f'{name}.png',
                                                      imageHeight=h, imageWidth=w, imageData=image_data)))
    return folder

def coco_folder(root, segmentation, file_name='a.jpg', h=20, w=30):
    "A COCO folder with one image and one annotation"
    (root/'annotations').mkdir(parents=True); (root/'train').mkdir()
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(root/'train'/'a.jpg')
    d = dict(images=[dict(id=1, file_name=file_name, height=h, width=w)], categories=[dict(id=1, name='car')],
             annotations=[dict(id=7, image_id=1, category_id=1, iscrowd=0, segmentation=segmentation)])
    (root/'annotations'/'instances_train.json').write_text(json.dumps(d))
    return root

def files_under(p): return sorted(str(o.relative_to(p)) for o in Path(p).rglob('*') if o.is_file())

# 1. Paths read from annotations and split files stay inside SRC; outputs inside DEST
def test_voc_split_entry_cannot_write_outside(tmp_path, capsys, monkeypatch):
    voc = make_voc_like(tmp_path/'w'/'x'/'voc', n=4)
    (tmp_path/'victim').mkdir(); (tmp_path/'victim'/'p.png').write_text('keep me')
    split = voc/'ImageSets'/'Segmentation'/'val.txt'
    split.write_text(split.read_text() + '../../../../victim/p\n')
    before = files_under(tmp_path/'victim')
    code,_,err = run_cli(['convert', 'voc', voc, tmp_path/'w'/'x'/'dest'], capsys, monkeypatch)
    assert code == 1 and "'../../../../victim/p' is not a plain image name; refused" in err, err
    assert files_under(tmp_path/'victim') == before and (tmp_path/'victim'/'p.png').read_text() == 'keep me'

def test_voc_split_entry_with_a_nul_byte(tmp_path, capsys, monkeypatch):
    voc = make_voc_like(tmp_path/'voc', n=4)
    split = voc/'ImageSets'/'Segmentation'/'val.txt'
    split.write_text(split.read_text() + 'abc\x00def\n')
    code,_,err = run_cli(['convert', 'voc', voc, tmp_path/'dest'], capsys, monkeypatch)
    assert code == 1 and f"{split}, line 2: entry 'abc\\x00def' is not a plain image name" in err and 'Traceback' not in err, err
    assert not (tmp_path/'dest').exists()

@pytest.mark.parametrize('fmt', ['labelme', 'coco', 'cvat'])
@pytest.mark.parametrize('outside', ['../secret.png', 'ABS'])
def test_annotation_image_outside_src_is_refused(fmt, outside, tmp_path, capsys, monkeypatch):
    Image.fromarray(np.full((20, 30, 3), 7, np.uint8)).save(tmp_path/'secret.png')
    name = str(tmp_path/'secret.png') if outside == 'ABS' else outside
    src = tmp_path/'src'
    if fmt == 'labelme': labelme_json(src, h=20, w=30, image_path=name)
    if fmt == 'coco': coco_folder(src, [[1, 1, 8, 1, 8, 8]], file_name=name)
    if fmt == 'cvat':
        src.mkdir()
        (src/'annotations.xml').write_text(f'<annotations><meta><task><labels><label><name>car</name></label></labels></task></meta>'
                                           f'<image id="0" name="{name}" width="30" height="20"><box label="car" xtl="1" ytl="1" xbr="5" ybr="5" z_order="0"/></image></annotations>')
    code,_,err = run_cli(['convert', fmt, src, tmp_path/'dest'], capsys, monkeypatch)
    assert code == 1 and 'leads outside' in err and 'Traceback' not in err, err
    assert not (tmp_path/'dest'/'images').exists() or files_under(tmp_path/'dest'/'images') == []

# 2. predict: --out apart from the inputs; no file of the user's replaced
@pytest.mark.parametrize('where', ['same', 'inside', 'empty'])
def test_predict_out_must_be_apart(where, model, data, tmp_path, capsys, monkeypatch):
    shutil.copytree(data/'images', tmp_path/'in')
    before = {o.name: o.read_bytes() for o in (tmp_path/'in').iterdir()}
    out = dict(same=tmp_path/'in', inside=tmp_path/'in'/'pred', empty='')[where]
    monkeypatch.chdir(tmp_path/'in')
    code,_,err = run_cli(['predict', model, tmp_path/'in', '--out', out], capsys, monkeypatch)
    assert code == 1 and ('must be apart from the input' in err or '--out is empty' in err), err
    assert {o.name: o.read_bytes() for o in (tmp_path/'in').iterdir()} == before  # nothing added, nothing replaced

def test_predict_keeps_user_files(model, data, tmp_path, capsys, monkeypatch):
    (tmp_path/'out').mkdir(); (tmp_path/'out'/f'{frame(data).stem}_overlay.jpg').write_text("the user's")
    code,_,err = run_cli(['predict', model, frame(data), '--out', tmp_path/'out'], capsys, monkeypatch)
    assert code == 1 and "holds 1 file(s) segcourse did not write" in err and '_overlay.jpg' in err, err
    assert (tmp_path/'out'/f'{frame(data).stem}_overlay.jpg').read_text() == "the user's"
    code,out,err = run_cli(['predict', model, frame(data), '--out', tmp_path/'out', '--overwrite'], capsys, monkeypatch)
    assert code == 0 and '1 image(s) segmented' in out, err
    code,out,err = run_cli(['predict', model, frame(data), '--out', tmp_path/'out'], capsys, monkeypatch)
    assert code == 0, err  # its own outputs: replaced on a second run

# 3. no write through a symlink already in --out
def test_predict_does_not_follow_symlinks_in_out(model, data, tmp_path, capsys, monkeypatch):
    (tmp_path/'elsewhere.txt').write_text('keep me'); (tmp_path/'out').mkdir()
    for suffix in ('.png', '_probs.npy'): (tmp_path/'out'/f'{frame(data).stem}{suffix}').symlink_to(tmp_path/'elsewhere.txt')
    code,_,err = run_cli(['predict', model, frame(data), '--out', tmp_path/'out', '--probs'], capsys, monkeypatch)
    assert code == 1 and 'segcourse did not write' in err, err
    code,_,err = run_cli(['predict', model, frame(data), '--out', tmp_path/'out', '--probs', '--overwrite'], capsys, monkeypatch)
    assert code == 1 and 'is a symlink' in err, err  # even with --overwrite, no write through the link
    assert (tmp_path/'elsewhere.txt').read_text() == 'keep me'

# 4. convert into a DEST with files it did not write; a changed annotation is converted again
def test_convert_keeps_user_files_and_reconverts_changes(tmp_path, capsys, monkeypatch):
    src = make_labelme_like(tmp_path/'src', n=2, size=(32, 32))
    (tmp_path/'dest'/'images').mkdir(parents=True)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path/'dest'/'images'/'frame_000.png')
    user = (tmp_path/'dest'/'images'/'frame_000.png').read_bytes()
    code,_,err = run_cli(['convert', 'labelme', src, tmp_path/'dest'], capsys, monkeypatch)
    assert code == 1 and 'holds 1 file(s) segcourse did not write (images/frame_000.png)' in err, err
    assert (tmp_path/'dest'/'images'/'frame_000.png').read_bytes() == user and not (tmp_path/'dest'/'labels').exists()
    code,_,err = run_cli(['convert', 'labelme', src, tmp_path/'dest', '--overwrite'], capsys, monkeypatch)
    assert code == 0, err
    js = json.loads((src/'frame_001.json').read_text())
    js['shapes'] = [dict(label='car', points=[[0, 0], [31, 31]], shape_type='rectangle', group_id=None, flags={})]
    (src/'frame_001.json').write_text(json.dumps(js))
    code,_,err = run_cli(['convert', 'labelme', src, tmp_path/'dest'], capsys, monkeypatch)
    assert code == 0, err
    codes = read_codes(tmp_path/'dest'/'codes.txt')
    assert (np.array(Image.open(tmp_path/'dest'/'labels'/'frame_001.png')) == codes.index('car')).all()  # not the stale mask

# 5. geometry checked before rasterising: a clear error, in a process with a memory limit so that a regression cannot take the machine
CONVERT_LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))
from segcourse.cli import main
sys.argv = ['segcourse', 'convert'] + sys.argv[1:]
main()
"""

@pytest.mark.parametrize('seg', [[[1, 1, 1e30, 1, 8, 8]], [[1, 1, float('nan'), 1, 8, 8]], [[1, 1, 8, 1]],
                                 dict(size=[20, 30], counts='0000ZZZZ'), dict(size=[20, 30], counts='\x7f\x7f'),
                                 dict(size=[20, 30], counts=[10, 9999999999]), dict(size=[2000000, 30], counts=[5])])
def test_coco_bad_geometry_is_a_clear_error_in_a_limited_process(seg, tmp_path):
    src = coco_folder(tmp_path/'coco', seg)
    r = subprocess.run([sys.executable, '-c', CONVERT_LIMITED, 'coco', src, tmp_path/'dest'], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 1 and 'annotation id 7' in r.stderr and 'Traceback' not in r.stderr, (r.returncode, r.stderr[-800:])

@pytest.mark.parametrize('fmt,shape,msg', [
    ('labelme', ('car', 'polygon', [[1, 1], [float('nan'), 5], [20, 20]]), 'is not a finite number'),
    ('labelme', ('car', 'circle', [[10, 10], [10, 1e9]]), 'lies far outside'),
    ('labelme', ('car', 'rectangle', [[1, 1], [1e30, 5]]), 'lies far outside'),
    ('labelme', ('car', 'polygon', [[1, 1, 0], [20, 1, 0], [20, 20, 0], [1, 20, 0]]), "a.json: shape 0 ('car'): coordinates must be (x, y) pairs or a flat [x0, y0, x1, y1, ...], not an array of shape (4, 3)"),
    ('cvat', '<polygon label="car" points="1,1;nan,5;20,20" z_order="0"/>', 'is not a finite number'),
    ('cvat', '<ellipse label="car" cx="5" cy="5" rx="1e9" ry="3" z_order="0"/>', 'lies far outside'),
    ('supervisely', dict(classTitle='car', geometryType='polygon', points=dict(exterior=[[1, 1], [1e30, 2], [5, 9]], interior=[])), 'lies far outside'),
    ('supervisely', dict(classTitle='car', geometryType='rectangle', points=dict(exterior=[[1, 1], [float('inf'), 2]], interior=[])), 'is not a finite number'),
])
def test_bad_geometry_names_file_and_shape(fmt, shape, msg, tmp_path, capsys, monkeypatch):
    src = tmp_path/'src'
    if fmt == 'labelme': labelme_json(src, shapes=[shape])
    if fmt == 'cvat':
        src.mkdir(); Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(src/'a.png')
        (src/'annotations.xml').write_text(f'<annotations><image id="0" name="a.png" width="32" height="24">{shape}</image></annotations>')
    if fmt == 'supervisely':
        for o in ('ds/img', 'ds/ann'): (src/o).mkdir(parents=True)
        Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(src/'ds/img/a.png')
        (src/'ds/ann/a.png.json').write_text(json.dumps(dict(size=dict(height=24, width=32), objects=[shape])))
    code,_,err = run_cli(['convert', fmt, src, tmp_path/'dest'], capsys, monkeypatch)
    assert code == 1 and msg in err and 'Traceback' not in err, err

# 6. bounded work: tiles, big images, bombs inside annotations
def test_tiles_are_bounded(model, tmp_path, capsys, monkeypatch):
    Image.fromarray(np.zeros((1000, 1000, 3), np.uint8)).save(tmp_path/'big.png')
    code,_,err = run_cli(['predict', model, tmp_path/'big.png', '--out', tmp_path/'out', '--tile', 64, '--overlap', 0.99, '--native'], capsys, monkeypatch)
    assert code == 1 and '877,969 tiles of 64x64' in err and 'MAX_TILES' in err, err

def test_big_png_is_refused(model, tmp_path, capsys, monkeypatch):
    for native in ([], ['--native']):
        code,_,err = run_cli(['predict', model, bomb_png(tmp_path/'big.png', side=12000), '--out', tmp_path/'out'] + native, capsys, monkeypatch)
        assert code == 1 and 'big.png: refused as a possible decompression bomb (12000x12000' in err, err

def test_bombs_inside_annotations(tmp_path, capsys, monkeypatch):
    bomb = bomb_png(tmp_path/'bomb.png', side=12000).read_bytes()
    labelme_json(tmp_path/'lm', image_data=base64.b64encode(bomb).decode(), image=False, h=12000, w=12000)
    code,_,err = run_cli(['convert', 'labelme', tmp_path/'lm', tmp_path/'d1'], capsys, monkeypatch)
    assert code == 1 and 'refused as a possible decompression bomb' in err and 'Traceback' not in err, err
    sy = tmp_path/'sly'
    for o in ('ds/img', 'ds/ann'): (sy/o).mkdir(parents=True)
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(sy/'ds/img/a.png')
    obj = dict(classTitle='car', geometryType='bitmap', bitmap=dict(origin=[0, 0], data=base64.b64encode(zlib.compress(bomb)).decode()))
    (sy/'ds/ann/a.png.json').write_text(json.dumps(dict(size=dict(height=24, width=32), objects=[obj])))
    code,_,err = run_cli(['convert', 'supervisely', sy, tmp_path/'d2'], capsys, monkeypatch)
    assert code == 1 and 'refused as a possible decompression bomb' in err and 'Traceback' not in err, err

# 7. tampered model folders: validated before anything is built; local only unless asked
@pytest.mark.parametrize('change,msg', [
    (dict(n_out=10**9), 'n_out must be a whole number from 1 to 256'), (dict(n_out='x'), 'n_out must be'),
    (dict(arch_kwargs={'channels': 10**6}), 'arch_kwargs must be'), (dict(train_scale=[0, 0]), 'train_scale must be'),
    (dict(std=[0, 0, 0]), 'std must be'), (dict(mean=[float('nan'), 0, 0]), 'mean must be'), (dict(img_size=[10**6, 10**6]), 'img_size must be'),
    (dict(codes=5), 'codes must be'), (dict(n_in=0), 'n_in must be'), (dict(surprise=1), "unknown key(s) ['surprise']"),
    (dict(backbone_source='torchvision', backbone='list_models'), 'backbone must be a torchvision model name'),
    (dict(ignore_index=-3), 'ignore_index must be'), (dict(arch=['unet']), 'arch must be one of'),
    (dict(backbone='nonexistent_net'), 'the network its config.json describes cannot be built'),
    (dict(codes=['a', 'b']), 'm/config.json: codes has 2 names but n_out is 32'),
])
def test_tampered_model_config(change, msg, model, data, tmp_path, capsys, monkeypatch):
    shutil.copytree(model, tmp_path/'m')
    cfg = json.loads((tmp_path/'m'/'config.json').read_text()) | change
    (tmp_path/'m'/'config.json').write_text(json.dumps(cfg))
    code,_,err = run_cli(['predict', tmp_path/'m', frame(data), '--out', tmp_path/'out'], capsys, monkeypatch)
    assert code == 1 and msg in err and 'Traceback' not in err, err
    assert not (tmp_path/'out').exists()

def test_nan_weights_refused(model, data, tmp_path, capsys, monkeypatch):
    import safetensors.torch
    shutil.copytree(model, tmp_path/'m')
    sd = safetensors.torch.load_file(tmp_path/'m'/'model.safetensors')
    k = next(k for k,v in sd.items() if v.is_floating_point()); sd[k] = sd[k] * float('nan')
    safetensors.torch.save_file(sd, tmp_path/'m'/'model.safetensors')
    code,_,err = run_cli(['predict', tmp_path/'m', frame(data), '--out', tmp_path/'out'], capsys, monkeypatch)
    assert code == 1 and 'hold NaN or infinite values' in err, err

def test_missing_model_folder_is_local(tmp_path, monkeypatch):
    import segcourse.export as ex
    def no_download(*a, **k): raise AssertionError("tried the Hugging Face Hub")
    monkeypatch.setattr(ex, 'hf_hub_download', no_download); monkeypatch.setattr(ex.SegModel, 'from_pretrained', no_download)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFileError, match=r"models/typo: model folder not found \(for a model on the Hugging Face Hub, give hf://"):
        load_model_folder('models/typo')

# 8. the default loss on an all-void batch
def test_all_void_batch_costs_nothing():
    x,void = torch.randn(2, 4, 6, 6, requires_grad=True),torch.full((2, 6, 6), 255)
    for name in SEG_LOSSES:
        l = seg_loss(name, 4, 255)(x, void)
        assert l.item() == 0 and torch.isfinite(l), name

# 9. permissions and odd outputs: a listed failure or a clear error, never a traceback
def test_predict_output_clash_and_unwritable(model, data, tmp_path, capsys, monkeypatch):
    (tmp_path/'out'/f'{frame(data).stem}.png').mkdir(parents=True)  # a folder where a mask would go
    code,_,err = run_cli(['predict', model, frame(data), '--out', tmp_path/'out'], capsys, monkeypatch)
    assert code == 1 and 'segcourse did not write' in err and 'Traceback' not in err, err
    real = os.replace
    def read_only(a, b): raise PermissionError(13, 'Permission denied', str(b)) if str(b).endswith('.png') else real(a, b)
    monkeypatch.setattr(os, 'replace', read_only)  # as a read-only file or folder would (the tests may run as root)
    code,_,err = run_cli(['predict', model, frame(data, 1), '--out', tmp_path/'out2'], capsys, monkeypatch)
    assert code == 1 and 'Permission denied' in err and 'Traceback' not in err, err

def test_convert_dest_is_a_file_and_too_many_classes(tmp_path, capsys, monkeypatch):
    src = make_labelme_like(tmp_path/'src', n=1, size=(32, 32))
    code,_,err = run_cli(['convert', 'labelme', src, src/'converted'], capsys, monkeypatch)
    assert code == 1 and 'must be apart from the input' in err and not (src/'converted').exists(), err
    (tmp_path/'dest').write_text('x')
    code,_,err = run_cli(['convert', 'labelme', src, tmp_path/'dest'], capsys, monkeypatch)
    assert code == 1 and 'cannot write the converted dataset there' in err, err
    (tmp_path/'classes.txt').write_text('\n'.join(['sky', 'road', 'tree', 'car', 'pole'] + [f'c{i}' for i in range(295)]))
    code,_,err = run_cli(['convert', 'labelme', src, tmp_path/'d2', '--classes', tmp_path/'classes.txt'], capsys, monkeypatch)
    assert code == 1 and '301 classes; a converted dataset holds at most 256' in err, err

def test_unreadable_config_is_clear(model, tmp_path, monkeypatch):
    shutil.copytree(model, tmp_path/'m')
    real = Path.read_text
    def denied(self, *a, **k):
        if self.name == 'config.json': raise PermissionError(13, 'Permission denied')
        return real(self, *a, **k)
    monkeypatch.setattr(Path, 'read_text', denied)
    with pytest.raises(ModelFileError, match='config.json: cannot be read'): load_model_folder(tmp_path/'m')

# 10. masks, codes and split arguments
def test_mask_rule(tmp_path):
    Image.fromarray(np.array([[0, 1], [1, 0]], bool)).save(tmp_path/'bits.png')
    assert np.array(MaskReader(2, ignore_index=255)(tmp_path/'bits.png')).tolist() == [[0, 1], [1, 0]]  # not 255 (void)
    Image.fromarray(np.array([[0, -255], [1, 2]], np.int32)).save(tmp_path/'neg.tif')
    with pytest.raises(MaskError, match='neg.tif: int32 mask with value -255'): read_mask(tmp_path/'neg.tif')
    Image.fromarray(np.array([[0, 2.7], [1, 2]], np.float32)).save(tmp_path/'f.tif')
    with pytest.raises(MaskError, match='f.tif: float32 mask with value 2.7'): read_mask(tmp_path/'f.tif')

def test_codes_bom_and_split_arguments(data, tmp_path):
    (tmp_path/'codes.txt').write_bytes('\ufeffbg\ncar\n'.encode())
    assert read_codes(tmp_path/'codes.txt') == ['bg', 'car']
    for bad in (-0.2, 0, 1, 1.5): pytest.raises(ValueError, seg_splitter, valid_pct=bad)
    with pytest.raises(ValueError, match='bs \\(batch size\\) must be a whole number'): camvid_tiny_dls(data, bs=0, num_workers=0)
    with pytest.raises(ValueError, match='size must be None, or a size in pixels'): camvid_tiny_dls(data, size=0, num_workers=0)

def test_predict_too_many_classes(data, tmp_path):
    from segcourse.model import SegModel
    model = SegModel('naive', n_out=300, net=torch.nn.Conv2d(3, 300, 1))  # built around a network: its config is not checked
    with pytest.raises(ValueError, match='the model has 300 classes; a mask PNG holds at most 256'):
        predict_files(model, [frame(data)], tmp_path/'out', show_progress=False, size=None)


# The audit after issue 24's fixes (tests/README.md): what it found, each now a clear error
def test_tiny_tiles_with_huge_overlap_are_refused_at_once(model, data, tmp_path, capsys, monkeypatch):
    code,_,err = run_cli(['predict', model, frame(data), '--out', tmp_path/'out', '--tile', 1, '--overlap', 0.99], capsys, monkeypatch)
    assert code == 1 and 'MAX_TILE_WORK' in err and 'Traceback' not in err, err

def test_save_model_folder_keeps_user_files_and_links(learn, tmp_path):
    from segcourse.export import save_model_folder
    from segcourse.core import PathError
    (tmp_path/'mine').mkdir(); (tmp_path/'mine'/'config.json').write_text('{"mine": 1}')
    with pytest.raises(PathError, match='did not write'): save_model_folder(learn, tmp_path/'mine')
    assert (tmp_path/'mine'/'config.json').read_text() == '{"mine": 1}'
    (tmp_path/'outside').mkdir(); (tmp_path/'link').symlink_to(tmp_path/'outside')
    with pytest.raises(PathError, match='is a symlink'): save_model_folder(learn, tmp_path/'link')
    assert files_under(tmp_path/'outside') == []

def test_written_list_that_is_a_link_is_refused(learn, tmp_path):
    "`.segcourse-written` a symlink loop, or a link to a file elsewhere: refused through the API, nothing written anywhere"
    from segcourse.export import save_model_folder
    (tmp_path/'elsewhere.txt').write_text('keep me')
    src = make_labelme_like(tmp_path/'src', n=1, size=(32, 32))
    for i,target in enumerate(('.segcourse-written', tmp_path/'elsewhere.txt')):
        dest = tmp_path/f'dest{i}'; dest.mkdir()
        (dest/'.segcourse-written').symlink_to(target)
        with pytest.raises(PathError, match='.segcourse-written: is a symlink or not a regular file'): save_model_folder(learn, dest)
        with pytest.raises(PathError, match='.segcourse-written: is a symlink'): convert('labelme', src, dest, show_progress=False)
        assert [o.name for o in dest.iterdir()] == ['.segcourse-written']
    assert (tmp_path/'elsewhere.txt').read_text() == 'keep me'

def test_annotation_files_that_are_not_files_or_too_deep(tmp_path, capsys, monkeypatch):
    sy = tmp_path/'sly'
    for o in ('ds/img', 'ds/ann'): (sy/o).mkdir(parents=True)
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(sy/'ds/img/a.png')
    (sy/'ds/ann/a.png.json').symlink_to('/dev/zero')
    code,_,err = run_cli(['convert', 'supervisely', sy, tmp_path/'d1'], capsys, monkeypatch)
    assert code == 1 and 'not a regular file' in err and 'Traceback' not in err, err
    (sy/'ds/ann/a.png.json').unlink()
    obj = dict(classTitle='car', geometryType='bitmap', bitmap=dict(origin=[0, 0], data=base64.b64encode(b'not zlib').decode()))
    (sy/'ds/ann/a.png.json').write_text(json.dumps(dict(size=dict(height=24, width=32), objects=[obj])))
    code,_,err = run_cli(['convert', 'supervisely', sy, tmp_path/'d2'], capsys, monkeypatch)
    assert code == 1 and 'not zlib-compressed data' in err and 'Traceback' not in err, err
    root = coco_folder(tmp_path/'coco', [[1, 1, 8, 1, 8, 8]])
    (root/'annotations'/'instances_train.json').write_text('[' * 100_000 + ']' * 100_000)
    code,_,err = run_cli(['convert', 'coco', root, tmp_path/'d3'], capsys, monkeypatch)
    assert code == 1 and 'not a readable JSON file' in err and 'Traceback' not in err, err

def test_huge_train_scale_is_a_listed_failure(model, data, tmp_path, capsys, monkeypatch):
    shutil.copytree(model, tmp_path/'m')
    cfg = json.loads((tmp_path/'m'/'config.json').read_text()) | dict(train_scale=[1000, 1000])
    (tmp_path/'m'/'config.json').write_text(json.dumps(cfg))
    code,_,err = run_cli(['predict', tmp_path/'m', frame(data), '--out', tmp_path/'out'], capsys, monkeypatch)
    assert code == 1 and 'at the model\'s training scale' in err and 'Traceback' not in err, err


# issue 35: one confinement check (`core.confined`), whatever the way SRC, DEST and --out are written
def one_image_export(fmt, root, name=None):
    "A valid one-image export of `fmt` in `root`; with `name`, its annotation names that image file instead"
    if fmt == 'coco': return coco_folder(root, [[1, 1, 8, 1, 8, 8]], file_name=name or 'a.jpg')
    if fmt == 'labelme': return labelme_json(root, h=20, w=30, image_path=name)
    if fmt == 'cvat':
        root.mkdir(parents=True); Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(root/'a.png')
        (root/'annotations.xml').write_text(f'<annotations><meta><task><labels><label><name>car</name></label></labels></task></meta>'
                                            f'<image id="0" name="{name or "a.png"}" width="30" height="20"><box label="car" xtl="1" ytl="1" xbr="5" ybr="5" z_order="0"/></image></annotations>')
        return root
    voc = make_voc_like(root, n=3, size=(20, 30))
    if name: (voc/'JPEGImages'/'2007_000000.jpg').unlink(); (voc/'JPEGImages'/'2007_000000.jpg').symlink_to(name)  # a link leading out
    return root

# (working folder, SRC, DEST) relative to tmp_path: the export is data/exp, the folder written out/ (outs/out through outlink)
PATH_FORMS = dict(absolute=('a/b', 'ABS/data/exp', 'ABS/out'), relative=('.', 'data/exp', 'out'), dotdot=('a/b', '../../data/exp', '../../out'),
                  dotdot_one=('a', '../data/exp', '../out'), dotdot_inside=('.', 'a/../data/exp', 'a/b/../../out'), symlink=('.', 'link/exp', 'outlink/out'), from_src=('data/exp', '.', '../../out'))

def path_layout(tmp_path):
    for o in ('a/b', 'data', 'outs'): (tmp_path/o).mkdir(parents=True)
    (tmp_path/'link').symlink_to(tmp_path/'data'); (tmp_path/'outlink').symlink_to(tmp_path/'outs')
    Image.fromarray(np.full((20, 30, 3), 7, np.uint8)).save(tmp_path/'data'/'secret.png')

@pytest.mark.parametrize('form', PATH_FORMS)
@pytest.mark.parametrize('fmt', ['coco', 'labelme', 'cvat', 'voc'])
def test_convert_confinement_whatever_the_paths(fmt, form, tmp_path, capsys, monkeypatch):
    "A valid export converts, and an image from outside it is refused, however SRC and DEST are written (issue 35)"
    path_layout(tmp_path)
    cwd,src,dest = (o.replace('ABS', str(tmp_path)) for o in PATH_FORMS[form])
    out = tmp_path/('outs' if form == 'symlink' else '')/'out'
    one_image_export(fmt, tmp_path/'data'/'exp')
    monkeypatch.chdir(tmp_path/cwd)
    code,_,err = run_cli(['convert', fmt, src, dest], capsys, monkeypatch)
    assert code == 0, err  # `../..` in SRC refused every image of a valid export
    assert len(files_under(out/'images')) == (3 if fmt == 'voc' else 1) and 'secret' not in str(files_under(out))
    shutil.rmtree(tmp_path/'data'/'exp'); shutil.rmtree(out)
    one_image_export(fmt, tmp_path/'data'/'exp', name=dict(coco='../../secret.png', voc=str(tmp_path/'data'/'secret.png')).get(fmt, '../secret.png'))
    monkeypatch.chdir(tmp_path/cwd)  # made anew (`from_src` works inside the export)
    code,_,err = run_cli(['convert', fmt, src, dest], capsys, monkeypatch)
    assert code == 1 and 'leads outside' in err and 'Traceback' not in err, err  # SRC relative: copied from outside, exit 0
    assert not (out/'images').exists() or files_under(out/'images') == []

@pytest.mark.parametrize('form', ['absolute', 'relative', 'dotdot', 'symlink_parent', 'symlink'])
def test_predict_out_whatever_the_path(form, model, data, tmp_path, capsys, monkeypatch):
    "--out written any way: the outputs land in that folder and nowhere else; a run from elsewhere knows them as its own (issue 35)"
    for o in ('a/b', 'p'): (tmp_path/o).mkdir(parents=True)
    (tmp_path/'plink').symlink_to(tmp_path/'p'); (tmp_path/'outlink').symlink_to(tmp_path/'p')
    cwd,out = dict(absolute=('a/b', str(tmp_path/'p'/'out')), relative=('.', 'p/out'), dotdot=('a/b', '../../p/out'),
                   symlink_parent=('.', 'plink/out'), symlink=('.', 'outlink'))[form]
    before = files_under(tmp_path)
    monkeypatch.chdir(tmp_path/cwd)
    code,_,err = run_cli(['predict', model, frame(data), '--out', out], capsys, monkeypatch)
    if form == 'symlink':
        assert code == 1 and 'is a symlink; give the real folder' in err, err
        assert files_under(tmp_path) == before; return
    assert code == 0, err
    stem = frame(data).stem
    assert files_under(tmp_path) == sorted(before + [f'p/out/{o}' for o in ('.segcourse-written', f'{stem}.png', f'{stem}_overlay.jpg')])
    monkeypatch.chdir(tmp_path)
    code,_,err = run_cli(['predict', model, frame(data), '--out', tmp_path/'p'/'out'], capsys, monkeypatch)
    assert code == 0, err  # the same folder named another way: its files are segcourse's

# issue 35: the record of written files binds to content (size and SHA-256 of what segcourse wrote)
def empty_folder(p):
    "`rm -rf p/*`: the hidden record stays"
    for o in Path(p).iterdir():
        if not o.name.startswith('.'): shutil.rmtree(o) if o.is_dir() else o.unlink()

def test_record_after_emptying_the_folder(model, data, tmp_path, capsys, monkeypatch):
    "After `rm -rf OUT/*`, a file the user puts at an output's name is the user's: kept and named, exit 1 (issue 35)"
    src = make_labelme_like(tmp_path/'src', n=2, size=(32, 32))
    stem = frame(data).stem
    for cmd,out,user in ((['predict', model, frame(data), '--out', tmp_path/'out'], tmp_path/'out', f'{stem}.png'),
                         (['convert', 'labelme', src, tmp_path/'dest'], tmp_path/'dest', 'images/frame_000.png')):
        code,_,err = run_cli(cmd, capsys, monkeypatch)
        assert code == 0, err
        empty_folder(out)
        (out/user).parent.mkdir(exist_ok=True); Image.fromarray(np.full((32, 32, 3), 9, np.uint8)).save(out/user)
        mine = (out/user).read_bytes()
        code,_,err = run_cli(cmd, capsys, monkeypatch)
        assert code == 1 and f'holds 1 file(s) segcourse did not write ({user})' in err and 'Traceback' not in err, err
        assert (out/user).read_bytes() == mine  # was replaced, exit 0
        code,_,err = run_cli(cmd + ['--overwrite'], capsys, monkeypatch)
        assert code == 0 and (out/user).read_bytes() != mine, err

def test_record_keeps_a_mask_corrected_by_hand(model, data, tmp_path, capsys, monkeypatch):
    "A mask the user edited after segcourse wrote it is kept by the next run, named, exit 1; `--overwrite` replaces it (issue 35)"
    src = make_labelme_like(tmp_path/'src', n=2, size=(32, 32))
    stem = frame(data).stem
    for cmd,mask in ((['predict', model, frame(data), '--out', tmp_path/'out'], tmp_path/'out'/f'{stem}.png'),
                     (['convert', 'labelme', src, tmp_path/'dest'], tmp_path/'dest'/'labels'/'frame_001.png')):
        code,_,err = run_cli(cmd, capsys, monkeypatch)
        assert code == 0, err
        im = Image.open(mask); m = np.array(im); m[:4, :4] = (m[:4, :4] + 1) % 2  # same size on disk or not: the bytes differ
        fixed = Image.fromarray(m, mode=im.mode);
        if im.mode == 'P': fixed.putpalette(im.getpalette())
        fixed.save(mask); mine = mask.read_bytes()
        code,_,err = run_cli(cmd, capsys, monkeypatch)
        assert code == 1 and 'changed since segcourse wrote them' in err and mask.name in err and 'Traceback' not in err, err
        assert mask.read_bytes() == mine
        code,_,err = run_cli(cmd + ['--overwrite'], capsys, monkeypatch)
        assert code == 0 and mask.read_bytes() != mine, err

def test_record_that_lists_a_users_file(model, data, tmp_path, capsys, monkeypatch):
    "A record naming a file whose content is not what segcourse wrote (a tampered line; the old plain-text record): kept (issue 35)"
    stem = frame(data).stem
    out = tmp_path/'out'; out.mkdir()
    (out/f'{stem}.png').write_bytes(b"the user's"); (out/f'{stem}_overlay.jpg').write_bytes(b"the user's too")
    rec = out/'.segcourse-written'
    rec.write_text(json.dumps(OutputFolder.header) + '\n' + json.dumps(dict(name=f'{stem}.png', size=10, sha256='0'*64)) + '\n')
    code,_,err = run_cli(['predict', model, frame(data), '--out', out], capsys, monkeypatch)
    assert code == 1 and f'changed since segcourse wrote them ({stem}.png)' in err and f'{stem}_overlay.jpg' in err, err
    rec.write_text(f'{stem}.png\n{stem}_overlay.jpg\n')  # the record before issue 35: names only, so nothing to verify
    code,_,err = run_cli(['predict', model, frame(data), '--out', out], capsys, monkeypatch)
    assert code == 1 and 'listed in an old .segcourse-written that holds no content hashes' in err and '--overwrite' in err, err
    assert (out/f'{stem}.png').read_bytes() == b"the user's" and (out/f'{stem}_overlay.jpg').read_bytes() == b"the user's too"
    code,_,err = run_cli(['predict', model, frame(data), '--out', out, '--overwrite'], capsys, monkeypatch)
    assert code == 0, err
    code,_,err = run_cli(['predict', model, frame(data), '--out', out], capsys, monkeypatch)
    assert code == 0, err  # the record now holds hashes: its own files are replaced without a word

def test_record_survives_any_file_name(model, data, tmp_path, capsys, monkeypatch):
    "A newline in a file name: the record stays one JSON line per file, and the next run knows the file as its own (issue 35)"
    (tmp_path/'in').mkdir(); shutil.copy(frame(data), tmp_path/'in'/'a\nb.png'); shutil.copy(frame(data, 1), tmp_path/'in'/'c.png')
    for _ in range(3):
        code,_,err = run_cli(['predict', model, tmp_path/'in', '--out', tmp_path/'out'], capsys, monkeypatch)
        assert code == 0, err
    lines = (tmp_path/'out'/'.segcourse-written').read_text().splitlines()
    entries = [json.loads(l) for l in lines]  # every line is JSON
    assert entries[0] == OutputFolder.header and len(entries) <= 1 + 2*4  # rewritten whole on opening: one line per file, not per run
    assert {e['name'] for e in entries[1:]} == {'a\nb.png', 'a\nb_overlay.jpg', 'c.png', 'c_overlay.jpg'}
    assert OutputFolder(tmp_path/'out').theirs() == []


# Issue 35: numbers that are never silently wrong, and no traceback at these entry points (tests/README.md)
from segcourse.metrics import confusion_matrix
from segcourse.report import SegReport
from segcourse.data import MaskFinder

NO_GPU = 'cuda' if not torch.cuda.is_available() else f'cuda:{torch.cuda.device_count()}'  # a device this machine lacks

@pytest.mark.parametrize('pred,targ,kw,msg', [
    (torch.tensor([0, 1, 5]), torch.tensor([0, 1, 1]), {}, 'predicted class 5 is not one of the 3 classes'),
    (torch.tensor([0, -1, 2]), torch.tensor([0, 1, 1]), {}, 'predicted class -1 is not one of the 3 classes'),
    (torch.full((1, 3, 2), float('nan')), torch.tensor([[1, 2]]), {}, 'NaN logits'),
    (torch.tensor([0, 1]), torch.tensor([0, 7]), {}, "target value 7 is not one of the 3 classes (0..2); if 7 means 'no label', pass ignore_index=7"),
    (torch.tensor([0, 1]), torch.tensor([-1, 1]), dict(ignore_index=255), 'target value -1 is not one of the 3 classes (0..2) nor ignore_index=255'),
])
def test_confusion_matrix_refuses_values_that_are_no_class(pred, targ, kw, msg):
    with pytest.raises(ValueError) as e: confusion_matrix(pred, targ, 3, **kw)
    assert msg in str(e.value), e.value
    assert confusion_matrix(torch.tensor([0, 2]), torch.tensor([255, 2]), 3, ignore_index=255).tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 1]]

def test_report_from_files_refuses_wrong_pairs(learn, data, tmp_path):
    fs,mask_of = [frame(data, 0), frame(data, 1)],MaskFinder(data/'labels', '_P')
    cases = [(([fs[0], fs[1], fs[0]], mask_of), {}, f'{fs[0]} and {fs[0]} are the same image, given twice'),
             ((fs, lambda f: mask_of(fs[0])), {}, f'{fs[0]} and {fs[1]} both get the mask {mask_of(fs[0])}'),
             ((fs, mask_of), dict(codes=['a', 'b']), 'codes has 2 names but the model has 32 classes'),
             (([], mask_of), {}, 'no image files to report on'),
             ((fs, data/'labels'), {}, 'get_mask must be a function'),
             ((5, mask_of), {}, 'files must be a list of image files'),
             ((fs, mask_of), dict(ignore_index='31'), 'ignore_index must be a whole number')]
    for args,kw,msg in cases:
        with pytest.raises((ValueError, TypeError)) as e: SegReport.from_files(learn, *args, **kw)
        assert msg in str(e.value), (msg, e.value)
    with pytest.raises(TypeError, match='model must be a model from `load_seg_model`'): SegReport.from_files(None, fs, mask_of)
    m = read_mask(mask_of(fs[0])).copy()
    Image.fromarray(np.full_like(m, learn.dls.ignore_index)).save(tmp_path/'void.png')
    ii = learn.dls.ignore_index
    with pytest.raises(ValueError, match=rf'nothing to score: every pixel of the 1 mask\(s\) is ignore_index={ii} \({learn.dls.codes[ii]}\)'):
        SegReport.from_files(learn, fs[:1], lambda f: tmp_path/'void.png')
    m[0, 0] = 200; Image.fromarray(m).save(tmp_path/'m200.png')  # a mask of another dataset: 200 is no class of this model
    with pytest.raises(ValueError) as e: SegReport.from_files(learn, fs[:1], lambda f: tmp_path/'m200.png')
    assert f"{tmp_path/'m200.png'} (the mask of {fs[0]}): target value 200 is not one of the 32 classes" in str(e.value), e.value
    rep = SegReport.from_files(learn, fs, mask_of)  # the right pairs still give a report of every labelled pixel
    assert rep.cm.sum() == sum((read_mask(mask_of(f)) != learn.dls.ignore_index).sum() for f in fs)

def test_compare_archs_refuses_arguments(learn):
    from segcourse.compare import compare_archs
    for args,kw,exc,msg in [(({},), {}, ValueError, 'no learners to compare'), (([learn],), {}, TypeError, 'learners must be a dict name -> Learner'),
                            ((learn,), {}, TypeError, "(one learner: {'name': learn})"), ((learn.dls,), dict(archs=[]), ValueError, 'archs is empty'),
                            ((learn.dls,), dict(archs='unet'), TypeError, 'archs must be a list of architecture names'),
                            ((learn.dls,), dict(archs=['naive'], epochs=0), ValueError, 'epochs must be a whole number, 1 or more'),
                            ((learn.dls,), dict(archs=['naive'], lr=float('nan')), ValueError, 'lr must be a learning rate above 0'),
                            (({'a': learn},), dict(epochs='1'), ValueError, 'epochs must be a whole number')]:
        with pytest.raises(exc) as e: compare_archs(*args, **kw)
        assert msg in str(e.value), (msg, e.value)

def test_zero_class_weights_are_finite_or_refused():
    x,only0 = torch.randn(2, 4, 6, 6),torch.zeros(2, 6, 6, dtype=torch.long)
    for name in SEG_LOSSES:
        with pytest.raises(ValueError, match='every class weight is 0'): seg_loss(name, 4, 255, weight=[0.] * 4)
        xv = x.clone().requires_grad_()
        loss = seg_loss(name, 4, 255, weight=[0., 1., 1., 1.])(xv, only0)  # a batch of the zero-weight class only
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(xv.grad).all(), name
    xv = x.clone().requires_grad_(); loss = seg_loss('ce', 4, 255, weight=[0., 1., 1., 1.])(xv, only0); loss.backward()
    assert loss.item() == 0 and xv.grad.abs().sum() == 0

def test_median_frequency_weights_of_absent_classes():
    from fastai.vision.all import DataLoader, DataLoaders, TensorMask
    from segcourse.losses import median_frequency_weights
    masks = [TensorMask(torch.tensor([[0, 0], [0, 1]])), TensorMask(torch.tensor([[0, 2], [2, 2]]))]
    dl = DataLoader([(torch.tensor([0.]), m) for m in masks], bs=1)
    dls = DataLoaders(dl, dl); dls.codes,dls.ignore_index = ['a', 'b', 'c', 'd'],None
    with pytest.warns(UserWarning, match=r'class\(es\) 3 \(d\) never appear in the 2 training batch\(es\) counted: given the largest weight, 2'):
        w = median_frequency_weights(dls, show_progress=False)
    assert torch.allclose(w, torch.tensor([1, 2, 2/3, 2]))

def test_model_folder_with_int8_or_bool_weights(model, data, tmp_path, capsys, monkeypatch):
    import safetensors.torch
    sd = safetensors.torch.load_file(model/'model.safetensors')
    k = next(k for k,v in sd.items() if v.is_floating_point())
    for dt,name in ((torch.int8, 'I8'), (torch.bool, 'BOOL')):
        m = tmp_path/name; shutil.copytree(model, m)
        safetensors.torch.save_file({**sd, k: sd[k].to(dt)}, m/'model.safetensors')
        with pytest.raises(ModelFileError, match=f"tensor '{k}' is {name}, but the model holds it as float32"): load_model_folder(m)
        code,_,err = run_cli(['predict', m, frame(data), '--out', tmp_path/'out'], capsys, monkeypatch)
        assert code == 1 and f"{m/'model.safetensors'}: tensor '{k}' is {name}" in err and 'Traceback' not in err, err
    assert not (tmp_path/'out').exists()

def test_config_nested_too_deep(model, data, tmp_path, capsys, monkeypatch):
    shutil.copytree(model, tmp_path/'m')
    (tmp_path/'m'/'config.json').write_text('{"arch": ' + '[' * 100_000 + ']' * 100_000 + '}')
    code,_,err = run_cli(['predict', tmp_path/'m', frame(data), '--out', tmp_path/'out'], capsys, monkeypatch)
    assert code == 1 and 'config.json: nested too deep to be a model config' in err and 'Traceback' not in err, err

def test_device_this_machine_lacks(model, data):
    with pytest.raises(ValueError, match=f"device='{NO_GPU}', but"): load_model_folder(model, device=NO_GPU)
    with pytest.raises(ValueError, match=f"device='{NO_GPU}', but"): folder_dls(data/'images', data/'labels', data/'codes.txt', mask_suffix='_P', bs=2, num_workers=0, device=NO_GPU)
    with pytest.raises(ValueError, match=f"device='{NO_GPU}', but"): camvid_tiny_dls(data, bs=2, num_workers=0, device=NO_GPU)
    with pytest.raises(ValueError, match="device='gpu' is not a device"): load_model_folder(model, device='gpu')

def test_mixed_frame_sizes_without_size(data, tmp_path):
    d = tmp_path/'mixed'; shutil.copytree(data, d)
    f0 = sorted((d/'images').iterdir())[0]
    Image.open(f0).resize((40, 30)).save(f0)
    mf = d/'labels'/f'{f0.stem}_P.png'; Image.fromarray(read_mask(mf)).resize((40, 30), Image.NEAREST).save(mf)
    kw = dict(mask_suffix='_P', num_workers=0, batch_tfms=[])
    with pytest.raises(ValueError) as e: folder_dls(d/'images', d/'labels', d/'codes.txt', bs=2, **kw)
    assert f"{f0} is 40x30 but " in str(e.value) and 'give size=(h, w) to resize them all, e.g. size=(30, 40)' in str(e.value), e.value
    assert folder_dls(d/'images', d/'labels', d/'codes.txt', bs=2, size=(30, 40), **kw).one_batch()[0].shape == (2, 3, 30, 40)

@pytest.mark.parametrize('size', ['256', ('a', 3), (32.0, 48), ('32', '48')])
def test_string_sizes(size, learn, data):
    with pytest.raises(ValueError, match='size must be None, or a size in pixels'): folder_dls(data/'images', data/'labels', data/'codes.txt', mask_suffix='_P', size=size, num_workers=0)
    with pytest.raises(ValueError, match="size must be 'train', None or"): learn.predict_masks([frame(data)], size=size)

def test_nul_byte_in_coco_and_supervisely(tmp_path, capsys, monkeypatch):
    root = coco_folder(tmp_path/'coco', [[1, 1, 8, 1, 8, 8]], file_name='a\x00.jpg')
    code,_,err = run_cli(['convert', 'coco', root, tmp_path/'d1'], capsys, monkeypatch)
    assert code == 1 and "holds a NUL byte, which no file name can" in err and 'Traceback' not in err, err
    sy = tmp_path/'sly'
    for o in ('ds/img', 'ds/ann'): (sy/o).mkdir(parents=True)
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(sy/'ds/img/a.png')
    obj = dict(classTitle='c\x00ar', geometryType='rectangle', points=dict(exterior=[[0, 0], [4, 4]], interior=[]))
    (sy/'ds/ann/a.png.json').write_text(json.dumps(dict(size=dict(height=24, width=32), objects=[obj])))
    code,_,err = run_cli(['convert', 'supervisely', sy, tmp_path/'d2'], capsys, monkeypatch)
    assert code == 1 and "class name 'c\\x00ar' holds a NUL byte" in err and 'Traceback' not in err, err
    assert not (tmp_path/'d1').exists() and not (tmp_path/'d2').exists()
