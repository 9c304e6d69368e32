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
    (['--bs', '0'], 'bs (tiles per forward pass) must be 1 or more'),
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
    assert code == 1 and 'usage: segcourse' in err

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
