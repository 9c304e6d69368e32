"""`segcourse doctor` as a user runs it: on a folder of broken data (in a subprocess under a memory limit, with hostile
files among them), and on the real camvid11 when it is on this machine (`$SEGCOURSE_CAMVID11`, else
/work/shared/data/camvid11). Each asserts what the doctor finds, that it names the files, and a time bound."""
import os, re, struct, subprocess, sys, zlib
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from segcourse.doctor import make_broken_dataset, seg_doctor

ROOT = Path(__file__).resolve().parent.parent
CAMVID11 = Path(os.environ.get('SEGCOURSE_CAMVID11', '/work/shared/data/camvid11'))
# `segcourse doctor ARGS` as `segcourse.cli.main` runs a command, in a process that cannot take more than 4 GiB
DOCTOR_LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))
from fastcore.script import parse_cli
from segcourse.doctor import segcourse_doctor
sys.argv = ['segcourse doctor'] + sys.argv[1:]
func = segcourse_doctor.__wrapped__
pargs,kwargs,_ = parse_cli(func)
func(*pargs, **kwargs)
"""

def bomb_png(fn, side=40000):
    "A 100-byte PNG that claims side x side pixels (as tests/test_bad_inputs.py makes them)"
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    fn.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', side, side, 8, 0, 0, 0, 0)) +
                   chunk(b'IDAT', zlib.compress(b'\x00' * 64)) + chunk(b'IEND', b''))
    return fn

def doctor(*args, timeout=900):
    "(exit code, stdout + stderr, seconds the doctor took to read the data, as it reports) of `segcourse doctor ARGS` in a memory-limited subprocess"
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]), 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, '-c', DOCTOR_LIMITED, *map(str, args), '--quiet'], capture_output=True, text=True, timeout=timeout, env=env)
    m = re.search(r'; read in ([0-9.]+) s', r.stdout)  # the time of reading the data, without Python's start (fastai's import)
    return r.returncode, r.stdout + r.stderr, float(m[1]) if m else float('inf')

def test_broken_folder(tmp_path):
    d = make_broken_dataset(tmp_path/'broken')
    bomb_png(d/'images'/'train'/'0001TP_000050.png'); bomb_png(d/'labels'/'0001TP_000051.png')  # hostile: a bomb image, a bomb mask
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(d/'images'/'train'/'0001TP_000051.jpg')
    (d/'labels'/'0001TP_000050.png').write_bytes((d/'labels'/'0001TP_000000.png').read_bytes())
    code,out,secs = doctor(d/'images', d/'labels', '--codes', d/'codes.txt', '--valid-folder', 'val')
    assert code == 1 and 'Traceback' not in out, out[-3000:]
    for kind,names in [('unreadable', ['0001TP_000004.jpg: the file is empty', '0001TP_000008.jpg', '0001TP_000009.png',
                                       '0001TP_000050.png: refused as a possible decompression bomb', '0001TP_000051.png: refused']),
                       ('no mask', ['0001TP_000005.jpg']), ('size mismatch', ['0001TP_000003.png 72x48 vs 0001TP_000003.jpg 64x48']),
                       ('values outside codes', ['value(s) 7', '0001TP_000002.png']), ('encoding: 1 mask(s) are colour (RGB)', ['0001TP_000006.png']),
                       ('encoding: 1 mask(s) are 16-bit', ['0001TP_000007.png']), ('missing class', ['only in validation masks', 'bicycle']),
                       ('near-duplicates', ['0001TP_000100.jpg ~ 0001TP_000000.jpg']), ('recording leak', ['0001TP']),
                       ('void', ["'void', value 4"]), ('imbalance', ['car'])]:
        line = next((l for l in out.splitlines() if f' {kind}' in l), None)
        assert line is not None and all(n in line for n in names), (kind, names, out[-4000:])
    assert "dls = folder_dls(" in out and "void='void'" in out and 'median-frequency weights' in out
    assert secs < 60, secs  # 17 frames: well under a second on an idle laptop

def test_binary_and_bad_arguments(tmp_path):
    d = make_broken_dataset(tmp_path/'bin', binary=True)
    code,out,_ = doctor(d/'images', d/'labels')
    assert code == 1 and 'only 0 and 255' in out and '(read_mask(f) > 0)' in out and 'Traceback' not in out, out[-3000:]
    code,out,_ = doctor(tmp_path/'nowhere', d/'labels')
    assert code == 1 and 'IMAGES' in out and 'not a folder' in out and 'Traceback' not in out, out
    code,out,_ = doctor(d/'images', d/'labels', '--codes', tmp_path/'none.txt')
    assert code == 1 and '--codes' in out and 'file not found' in out and 'Traceback' not in out, out

@pytest.mark.skipif(not (CAMVID11/'codes.txt').exists(), reason=f"camvid11 is not at {CAMVID11} (set SEGCOURSE_CAMVID11)")
def test_camvid11():
    folders = lambda k: ','.join(str(CAMVID11/s/k) for s in ('train', 'val'))
    code,out,secs = doctor(folders('images'), folders('labels'), '--codes', CAMVID11/'codes.txt', '--valid-folder', 'val')
    assert code == 0 and 'Traceback' not in out, out[-3000:]
    assert '468 images (367 train, 101 valid), 468 masks stored as index (468); 12 classes' in out, out[:400]
    assert "void ('Unlabelled', value 11)" in out and "void='Unlabelled'" in out
    assert 'recording leak: training and validation share 1 recording(s): 0016E5 (204 train / 101 valid)' in out
    n_dup = int(out.split('near-duplicates: ')[1].split(' of the 101')[0])
    assert n_dup >= 30, out  # SegNet's val frames lie between training frames of the same drive
    assert 'ERROR' not in out and 'imbalance' in out and 'Bicyclist' in out
    assert secs < 120, secs  # 468 frames: 5 s on 2 busy cores
    # the dev split: drive 0006R0 held out
    rep = seg_doctor([CAMVID11/s/'images' for s in ('train', 'val')], [CAMVID11/s/'labels' for s in ('train', 'val')],
                     CAMVID11/'codes.txt', valid_groups=['0006R0'], show_progress=False)
    assert 'recording leak' not in rep.kinds() and len(rep.duplicates) < n_dup / 10, (rep.kinds(), rep.duplicates)
    assert rep.seconds < 60, rep.seconds
