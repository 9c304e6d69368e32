#!/usr/bin/env python
"""Round-4 audit of segcourse: hostile files and mistaken arguments, each case in a forked child process.

    PYTHONPATH=<checkout> OMP_NUM_THREADS=1 /work/main/.venv/bin/python tools/audit_round4.py --out results.jsonl

Each case is a small function with its expected good outcome: 'error' (a clear exception, ValueError/TypeError/OSError
kind, whose message names the problem; for the CLI an exit code != 0 and no traceback), 'ok' (correct result, checked)
or 'either'. Every case runs in a forked child (torch, fastai and segcourse imported once in the parent) under a
6 GiB RLIMIT_AS and a 60 s timeout, in its own folder `CASE/work` (its current directory); `CASE/sentinel` beside it
is hashed before and after (writes outside), files a case protects are hashed (loss), and `CASE/PWNED`, which only a
payload writes, means code execution. Outcomes: clear error, correct, silently wrong, traceback, unclear error (a
clear kind of exception whose message does not name the problem), refused (a valid input refused), hang, loss,
outside write, code execution. `--only ID,ID` runs some cases; `--list` lists them."""
import os, sys, io, json, time, shutil, hashlib, struct, zlib, base64, pickle, resource, signal, argparse, tempfile, traceback, warnings
from contextlib import redirect_stdout, redirect_stderr
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ['SEGCOURSE_OFFLINE'] = '1'  # no case may need the network
os.environ['HF_HUB_OFFLINE'] = '1'
warnings.simplefilter('ignore')

import numpy as np
from PIL import Image
import torch
torch.set_num_threads(1)
import segcourse
from segcourse.all import *  # noqa: F403 (the whole public API, as a user imports it)
from segcourse.core import ImageError, MaskError, PathError, OutputFolder
from segcourse.masks import read_mask, read_codes, image_files
from segcourse.loaders import folder_dls
from segcourse.data import camvid_dls, voc_dls, cityscapes_dls, make_camvid, make_voc_like, make_cityscapes_like
from segcourse.a2d2_data import a2d2_dls
from segcourse.a2d2_synthetic import make_a2d2
from segcourse.a2d2 import read_a2d2_class_table
from segcourse.learner import seg_learner
from segcourse.model import SegModel, ModelFileError
from segcourse.archs import create_seg_model
from segcourse.losses import seg_loss
from segcourse.metrics import confusion_matrix, iou_per_class, seg_metrics
from segcourse.report import SegReport
from segcourse.compare import compare_archs
from segcourse.export import save_model_folder, load_model_folder, export_onnx
from segcourse.inference import load_onnx_model, load_seg_model, predict_files, predict_probs
from segcourse.cli import main as cli_main
from fastai.torch_core import defaults
defaults.cpus = 0  # DataLoaders without worker processes: a forked child forks no further

MEM_LIMIT = 6 << 30
TIMEOUT = 60
CODES = ['a', 'b', 'c']

# ---------------------------------------------------------------- outcomes
class Wrong(Exception): "A result that is silently wrong (raised by a case's own check)"
class CliTraceback(Exception): "An exception escaped `segcourse ...`: the user sees a traceback"
def want(cond, msg):
    if not cond: raise Wrong(msg)

GOOD = {'error': {'clear error'}, 'ok': {'correct'}, 'either': {'clear error', 'correct'}}
TRACEBACK_KINDS = (KeyError, IndexError, AttributeError, ZeroDivisionError, NameError, AssertionError, RecursionError,
                   MemoryError, OverflowError, NotImplementedError, SystemError, StopIteration)
INTERNAL = ("object is not", "unsupported operand", "not supported between instances", "positional argument", "object has no attribute",
            "argument after ** must be", "invalid literal for int()", "could not convert string to float", "must be real number",
            "expected str, bytes or os.PathLike", "Expecting value: line", "unhashable type", "object cannot be interpreted",
            "can't multiply sequence", "not iterable", "got an unexpected keyword")

def classify_exc(e, needle):
    "The outcome of an exception escaping a case"
    msg = f"{type(e).__name__}: {e}"
    if isinstance(e, Wrong): return 'silently wrong', str(e)
    if isinstance(e, CliTraceback): return 'traceback', f"CLI traceback: {e}"
    clear_kind = isinstance(e, (ValueError, TypeError, OSError, ImportError)) or type(e).__module__.startswith('segcourse')
    if (isinstance(e, TRACEBACK_KINDS) and not type(e).__module__.startswith('segcourse')) or not clear_kind: return 'traceback', msg
    text = str(e).lower()
    if needle:
        needles = [needle] if isinstance(needle, str) else list(needle)
        if not any(n.lower() in text for n in needles): return 'unclear error', msg
    elif any(p.lower() in text for p in INTERNAL) or not text.strip(): return 'unclear error', msg
    return 'clear error', msg

# ---------------------------------------------------------------- case registry
CASES = []
def case(id, surface, what, expect='error', needle=None):
    "Register a case: `expect` is 'error', 'ok' or 'either'; `needle`: text (or texts, any of) a clear message holds"
    def deco(f):
        assert id not in {c['id'] for c in CASES}, id
        CASES.append(dict(id=id, surface=surface, what=what, expect=expect, needle=needle, fn=f)); return f
    return deco

# ---------------------------------------------------------------- helpers used inside a child
CTX = {}  # 'cdir', 'work', 'protect'
def P(*paths):
    "Protect user files: hashed now, compared after the case (a change or a removal is a loss)"
    for p in paths: CTX['protect'][str(Path(p).absolute())] = tree_hash(p)
    (CTX['cdir']/'protect.json').write_text(json.dumps(CTX['protect']))

def tree_hash(p):
    p = Path(p)
    if p.is_symlink(): return 'link:' + os.readlink(p)
    if p.is_file():
        try: return hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError as e: return f'unreadable:{e.errno}'
    if p.is_dir(): return {str(o.relative_to(p)): tree_hash(o) for o in sorted(p.rglob('*')) if o.is_file() or o.is_symlink()}
    return 'MISSING' if not os.path.lexists(p) else 'special'

def rng(seed=0): return np.random.default_rng(seed)
def img_array(h=32, w=32, seed=0): return rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
def png(fn, h=32, w=32, seed=0, mode='RGB', a=None, **kw):
    fn = Path(fn); fn.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(a if a is not None else img_array(h, w, seed))
    if mode != 'RGB': im = im.convert(mode)
    im.save(fn, **kw); return fn
def mask_png(fn, h=32, w=32, n=3, seed=0, a=None):
    fn = Path(fn); fn.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a if a is not None else rng(seed).integers(0, n, (h, w), dtype=np.uint8), mode='L').save(fn); return fn

def dataset(root='ds', n=6, h=32, w=32, ncls=3, stems=None, ext='.png'):
    "images/ and masks/ of `n` random frames"
    root = Path(root)
    stems = stems or [f'f{i}' for i in range(n)]
    for i,s in enumerate(stems):
        png(root/'images'/f'{s}{ext}', h, w, i)
        mask_png(root/'masks'/f'{s}.png', h, w, ncls, i)
    return root/'images', root/'masks'

def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
def raw_png(fn, w, h, extra=b'', bad_crc=False, data=None):
    "A hand-made 8-bit grey PNG"
    ihdr = chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
    body = data if data is not None else zlib.compress(b''.join(b'\x00' + b'\x01' * max(w, 0) for _ in range(max(h, 0))))
    ex = extra
    if bad_crc: ex = struct.pack('>I', 4) + b'tEXt' + b'a\x00bc' + b'\x00\x00\x00\x00'
    Path(fn).write_bytes(b'\x89PNG\r\n\x1a\n' + ihdr + ex + chunk(b'IDAT', body) + chunk(b'IEND', b''))
    return Path(fn)

def model_dir(dest='model'):
    "A copy of the tiny model folder (U-Net, resnet18, 3 classes, trained at 32x32)"
    shutil.copytree(FIX/'model', dest); return Path(dest)
def onnx_file(dest='m.onnx'): shutil.copyfile(FIX/'m.onnx', dest); return Path(dest)
def edit_config(folder, **change):
    fn = Path(folder)/'config.json'
    fn.write_text(json.dumps(json.loads(fn.read_text()) | change)); return Path(folder)
def onnx_meta(fn, value):
    import onnx
    g = onnx.load(str(fn))
    del g.metadata_props[:]
    if value is not None: onnx.helper.set_model_props(g, {'segcourse_config': value})
    onnx.save(g, str(fn)); return fn

class Payload:
    "Unpickling this runs code that writes CASE/PWNED"
    def __reduce__(self): return (os.system, (f"touch '{CTX['cdir']}/PWNED'",))

def cli(*args):
    "Run `segcourse ARGS` in this process: (exit code, stdout, stderr); an escaping exception is a CliTraceback"
    out,err = io.StringIO(),io.StringIO()
    old = sys.argv
    sys.argv = ['segcourse'] + [str(a) for a in args]
    try:
        with redirect_stdout(out), redirect_stderr(err): cli_main()
        code = 0
    except SystemExit as e: code = e.code
    except BaseException as e: raise CliTraceback(f"{type(e).__name__}: {str(e)[:300]}") from None
    finally: sys.argv = old
    err = err.getvalue()
    if isinstance(code, str): err,code = err + code, 1
    return (code or 0), out.getvalue(), err

def cli_error_text(err): return ' '.join(l.strip() for l in err.strip().splitlines() if l.strip() and '█' not in l)[-400:]

def cli_error(*args, needle=None):
    "A CLI case expecting a refusal: exit != 0, no traceback, a message holding `needle`"
    code,out,err = cli(*args)
    if code == 0: raise Wrong(f"exit 0: {(out + err).strip()[-300:]}")
    if 'Traceback' in err: raise CliTraceback(err.strip().splitlines()[-1][:300])
    lines = [l for l in err.strip().splitlines() if l.strip()]
    last = lines[-1] if lines else ''
    needle = ifnone(needle, CTX.get('needle'))
    needles = [] if needle is None else [needle] if isinstance(needle, str) else list(needle)
    if needles and not any(n.lower() in err.lower() for n in needles): return ('unclear error', f"exit {code}: {last[:300]}")
    return ('clear error', f"exit {code}: {last[:300]}")

class Refused(Exception): "A CLI refusal in an 'either' case"

def cli_ok(*args, either=False):
    code,out,err = cli(*args)
    if either and code and 'Traceback' not in err: raise Refused(cli_error_text(err))
    if 'Traceback' in err: raise CliTraceback(err.strip().splitlines()[-1][:300])
    want(code == 0, f"exit {code}: {err.strip()[-300:]}")
    return out

def dls_small(**kw):
    i,m = dataset()
    kw.setdefault('bs', 2); kw.setdefault('valid_pct', 0.34); kw.setdefault('batch_tfms', [])
    return folder_dls(i, m, CODES, **kw)

# =============================================================================================== CASES
# ---- A. images and masks (read_mask, read_image)
@case('mask_truncated_png', 'read_mask', 'a PNG mask cut in the middle of its pixel data', needle='m.png')
def _(w):
    mask_png('full.png', 64, 64); b = Path('full.png').read_bytes(); Path('m.png').write_bytes(b[:len(b)//2])
    return read_mask('m.png')

@case('mask_truncated_jpeg', 'read_image', 'a JPEG cut to a third', needle='t.jpg')
def _(w):
    png('f.jpg', 64, 64); b = Path('f.jpg').read_bytes(); Path('t.jpg').write_bytes(b[:len(b)//3])
    return read_image('t.jpg')

@case('mask_la_mode', 'read_mask', "a grey+alpha ('LA') mask: the grey values are the classes", expect='ok')
def _(w):
    a = rng().integers(0, 3, (16, 16), dtype=np.uint8)
    Image.fromarray(np.stack([a, np.full_like(a, 255)], -1), mode='LA').save('m.png')
    want((read_mask('m.png') == a).all(), 'LA mask read wrong')

@case('mask_cmyk_jpeg', 'read_mask', 'a CMYK JPEG as a mask (colours, no table)', needle=('colour', 'm.jpg'))
def _(w):
    Image.fromarray(img_array(16, 16)).convert('CMYK').save('m.jpg'); return read_mask('m.jpg')

@case('mask_is_dir_png', 'read_mask', "a folder named 'm.png'", needle='folder')
def _(w): Path('m.png').mkdir(); return read_mask('m.png')

@case('mask_fifo', 'read_mask', 'a named pipe (FIFO) called m.png: must not block', needle='m.png')
def _(w): os.mkfifo('m.png'); return read_mask('m.png')

@case('mask_link_dev_zero', 'read_mask', 'm.png a symlink to /dev/zero', needle='m.png')
def _(w): os.symlink('/dev/zero', 'm.png'); return read_mask('m.png')

@case('mask_colours_empty', 'read_mask', 'an RGB mask with colours=[] (empty table)', needle=('colour',))
def _(w): png('m.png', 8, 8); return read_mask('m.png', colours=[])

@case('mask_colours_4tuple', 'read_mask', 'colours given as RGBA 4-tuples', needle='colour')
def _(w):
    a = np.zeros((8, 8, 3), np.uint8); a[:4] = (255, 0, 0); png('m.png', a=a)
    return read_mask('m.png', colours=[(0, 0, 0, 255), (255, 0, 0, 255)])

@case('mask_colours_index_300', 'read_mask', 'a colour dict mapping a colour to class 300 (past uint8)', needle=('300', 'class'))
def _(w):
    a = np.zeros((8, 8, 3), np.uint8); a[:4] = (255, 0, 0); png('m.png', a=a)
    m = read_mask('m.png', colours={(0, 0, 0): 0, (255, 0, 0): 300})
    raise Wrong(f"accepted; class 300 read as {sorted(np.unique(m).tolist())}")

@case('mask_colours_300_list', 'read_mask', 'a colour list of 300 colours (index past 255)', needle=('300', '256', 'class'))
def _(w):
    a = np.zeros((8, 8, 3), np.uint8); a[:4] = (1, 1, 0); png('m.png', a=a)
    cols = [(i % 256, i // 256, 0) for i in range(300)]
    m = read_mask('m.png', colours=cols)
    raise Wrong(f"accepted; colour of class 257 read as {sorted(np.unique(m).tolist())}")

@case('mask_colours_negative', 'read_mask', 'a colour with a negative component (-1, 0, 0)', needle='colour')
def _(w): png('m.png', 8, 8); return read_mask('m.png', colours=[(-1, 0, 0), (255, 0, 0)])

@case('mask_colours_hex', 'read_mask', "colours as '#rrggbb' strings", expect='either', needle='colour')
def _(w):
    a = np.zeros((8, 8, 3), np.uint8); a[:4] = (255, 0, 0); png('m.png', a=a)
    m = read_mask('m.png', colours=['#000000', '#ff0000'])
    want(m[0, 0] == 1 and m[7, 7] == 0, f"hex colours read as {np.unique(m)}")

@case('mask_none', 'read_mask', 'read_mask(None)', needle=('None', 'file'))
def _(w): return read_mask(None)

@case('png_zero_width', 'read_mask', 'a PNG whose header declares width 0', needle='z.png')
def _(w): raw_png('z.png', 0, 4, data=zlib.compress(b'\x00' * 4)); return read_mask('z.png')

@case('png_bad_crc', 'read_image', 'a PNG with a bad CRC in an ancillary chunk', needle='c.png')
def _(w): raw_png('c.png', 4, 4, bad_crc=True); return read_image('c.png')

@case('png_idat_garbage', 'read_image', 'a PNG whose IDAT is not zlib data', needle='g.png')
def _(w): raw_png('g.png', 4, 4, data=b'not zlib at all'); return read_image('g.png')

@case('image_1x1', 'read_image', 'a 1x1 image', expect='ok')
def _(w): png('a.png', 1, 1); want(read_image('a.png').shape == (1, 1, 3), 'shape')

@case('image_webp_as_png', 'read_image', 'a WebP file named .png', expect='ok')
def _(w):
    Image.fromarray(img_array(8, 8)).save('a.png', format='WEBP'); want(read_image('a.png').shape == (8, 8, 3), 'shape')

@case('image_text_as_jpg', 'read_image', 'a text file named .jpg', needle='t.jpg')
def _(w): Path('t.jpg').write_text('hello'); return read_image('t.jpg')

@case('image_newline_name', 'read_image', 'an image whose name holds a newline', expect='ok')
def _(w): png('a\nb.png', 8, 8); want(read_image('a\nb.png').shape == (8, 8, 3), 'shape')

@case('image_bmp_topdown', 'read_image', 'a top-down BMP (negative height)', expect='ok')
def _(w):
    a = img_array(4, 6); png('a.bmp', a=a)
    b = bytearray(Path('a.bmp').read_bytes()); h = struct.unpack('<i', b[22:26])[0]
    rows = [bytes(b[54 + i*20: 54 + (i+1)*20]) for i in range(4)]  # 6 px * 3 + 2 pad = 20 bytes a row
    b[22:26] = struct.pack('<i', -h); b[54:54+80] = b''.join(reversed(rows)); Path('a.bmp').write_bytes(bytes(b))
    want((read_image('a.bmp') == a).all(), 'top-down BMP flipped')

@case('image_palette_transparency', 'read_image', 'a palette PNG with transparency', expect='ok')
def _(w):
    im = Image.fromarray(img_array(8, 8)).convert('P'); im.info['transparency'] = 0; im.save('a.png', transparency=0)
    want(read_image('a.png').shape == (8, 8, 3), 'shape')

@case('image_gif_animated', 'read_image', 'an animated GIF: the first frame', expect='ok')
def _(w):
    fr = [Image.fromarray(img_array(8, 8, s)) for s in range(3)]
    fr[0].save('a.gif', save_all=True, append_images=fr[1:]); want(read_image('a.gif').shape == (8, 8, 3), 'shape')

# ---- B. read_codes
@case('codes_empty_string', 'read_codes', "read_codes('') (the current folder)", needle=('codes', "''"))
def _(w): return read_codes('')

@case('codes_newline_in_name', 'read_codes', "a class name holding a newline ['a\\nb', 'c']: cannot round-trip codes.txt", needle='name')
def _(w): r = read_codes(['a\nb', 'c']); raise Wrong(f"accepted {r!r}")

@case('codes_empty_name', 'read_codes', "an empty class name ['a', '']", needle='name')
def _(w): r = read_codes(['a', '']); raise Wrong(f"accepted {r!r}")

@case('codes_utf16_file', 'read_codes', 'codes.txt saved as UTF-16', needle='codes.txt')
def _(w): Path('codes.txt').write_text('sky\nroad\n', encoding='utf-16'); return read_codes('codes.txt')

@case('codes_csv_string', 'read_codes', "read_codes('sky,road,car') (names, not a file)", needle='sky,road,car')
def _(w): return read_codes('sky,road,car')

@case('codes_bytes', 'read_codes', "read_codes(b'abc')", needle='codes')
def _(w): return read_codes(b'abc')

@case('codes_none', 'read_codes', 'read_codes(None)', needle=('codes', 'None'))
def _(w): return read_codes(None)

@case('codes_whitespace_file', 'read_codes', 'a codes.txt of blank lines', needle='no class names')
def _(w): Path('codes.txt').write_text('\n  \n\t\n'); return read_codes('codes.txt')

@case('codes_crlf', 'read_codes', 'codes.txt with CRLF line ends', expect='ok')
def _(w): Path('codes.txt').write_bytes(b'sky\r\nroad\r\n'); want(read_codes('codes.txt') == ['sky', 'road'], 'names')

@case('codes_nul', 'read_codes', 'codes.txt holding a NUL byte inside a name', needle=('codes.txt', 'name'))
def _(w): Path('codes.txt').write_bytes(b'sky\nro\x00ad\n'); r = read_codes('codes.txt'); raise Wrong(f"accepted {r!r}")

@case('codes_fifo', 'read_codes', 'codes.txt a named pipe: must not block', needle='codes.txt')
def _(w): os.mkfifo('codes.txt'); return read_codes('codes.txt')

# ---- C. folder_dls
@case('dls_mask_other_size', 'folder_dls', 'masks of another size than their images', needle=('size', 'f0'))
def _(w):
    i,m = dataset(); mask_png(m/'f0.png', 16, 16); return folder_dls(i, m, CODES, bs=2, valid_pct=0.34)

@case('dls_masks_in_image_folder', 'folder_dls', "masks beside the images (images/x.png, images/x_mask.png, mask_suffix='_mask')", expect='either', needle='mask')
def _(w):
    i,m = dataset()
    for f in list(m.iterdir()): shutil.move(f, i/f'{f.stem}_mask.png')
    d = folder_dls(i, i, CODES, mask_suffix='_mask', bs=2, valid_pct=0.34, batch_tfms=[])
    items = list(d.train_ds.items) + list(d.valid_ds.items)
    want(not any('_mask' in Path(o).stem for o in items), f"masks listed as training images: {[Path(o).name for o in items if '_mask' in Path(o).stem][:3]}")

@case('dls_valid_names_typo', 'folder_dls', "valid_names=['typo.png'] (no such file)", needle=('typo', 'validation'))
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_names=['typo.png'])

@case('dls_valid_names_all', 'folder_dls', 'valid_names naming every image', needle='training')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_names=[f'f{k}' for k in range(6)])

@case('dls_seed_string', 'folder_dls', "seed='abc'", needle='seed')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, seed='abc')

@case('dls_valid_pct_true', 'folder_dls', 'valid_pct=True', needle='valid_pct')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_pct=True)

@case('dls_valid_pct_str', 'folder_dls', "valid_pct='0.2'", needle='valid_pct')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_pct='0.2')

@case('dls_size_1tuple', 'folder_dls', 'size=(32,)', needle='size')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, size=(32,))

@case('dls_size_3tuple', 'folder_dls', 'size=(32, 32, 3)', needle='size')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, size=(32, 32, 3))

@case('dls_size_float', 'folder_dls', 'size=32.5', needle='size')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, size=32.5)

@case('dls_size_str', 'folder_dls', "size='32'", needle='size')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, size='32')

@case('dls_images_is_file', 'folder_dls', 'images= a single image file, not a folder', needle=('f0.png', 'no image', 'folder'))
def _(w): i,m = dataset(); return folder_dls(i/'f0.png', m, CODES, bs=2)

@case('dls_images_missing', 'folder_dls', 'images= a folder that does not exist', needle=('nope', 'not found', 'no image'))
def _(w): i,m = dataset(); return folder_dls('nope', m, CODES, bs=2)

@case('dls_mask_suffix_path', 'folder_dls', "mask_suffix='../x'", needle=('mask', 'suffix'))
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, mask_suffix='../x', bs=2)

@case('dls_ignore_negative', 'folder_dls', 'ignore_index=-1', needle='ignore_index')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_pct=0.34, ignore_index=-1)

@case('dls_ignore_256', 'folder_dls', 'ignore_index=256 (no 8-bit mask holds it)', needle='ignore_index')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_pct=0.34, ignore_index=256)

@case('dls_ignore_float', 'folder_dls', 'ignore_index=1.5', needle='ignore_index')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_pct=0.34, ignore_index=1.5)

@case('dls_ignore_str', 'folder_dls', "ignore_index='255'", needle='ignore_index')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_pct=0.34, ignore_index='255')

@case('dls_valid_folder_missing', 'folder_dls', "valid_folder='val' but no such folder", needle=('val', 'validation'))
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_folder='val')

@case('dls_group_bad_regex', 'folder_dls', "group='(' (a broken regex) with valid_groups", needle=('group', 'regex', '('))
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_groups=['f0'], group='(')

@case('dls_valid_groups_empty', 'folder_dls', 'valid_groups=[]', needle=('valid_groups', 'validation'))
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2, valid_groups=[])

@case('dls_zero_byte_image', 'folder_dls', 'a 0-byte image among the frames', needle='f0.png')
def _(w): i,m = dataset(); (i/'f0.png').write_bytes(b''); return folder_dls(i, m, CODES, bs=2, valid_pct=0.34)

@case('dls_corrupt_image_nocheck', 'folder_dls', 'check=False and a corrupt image: the first batch', needle=('f', '.png'))
def _(w):
    i,m = dataset(n=2)
    for f in i.iterdir(): f.write_bytes(b'\x89PNG\r\n\x1a\ngarbage')
    d = folder_dls(i, m, CODES, bs=1, valid_pct=0.5, check=False, batch_tfms=[])
    return d.one_batch()

@case('dls_rgb_masks_colours', 'folder_dls', 'RGB colour masks with a colour dict', expect='ok')
def _(w):
    i,m = dataset(); cols = [(0, 0, 0), (255, 0, 0), (0, 255, 0)]
    for f in m.iterdir(): a = np.array(Image.open(f)); Image.fromarray(np.array(cols, np.uint8)[a]).save(f)
    d = folder_dls(i, m, CODES, colours={c: k for k,c in enumerate(cols)}, bs=2, valid_pct=0.34, batch_tfms=[])
    y = d.one_batch()[1]; want(int(y.max()) <= 2, f"mask values {y.unique().tolist()}")

@case('dls_unicode_names', 'folder_dls', 'file names in Greek, CJK, emoji and with spaces', expect='ok')
def _(w):
    i,m = dataset(stems=['αβγ', '漢字', '😀x', 'a b', 'é', 'z'])
    d = folder_dls(i, m, CODES, bs=2, valid_pct=0.34, batch_tfms=[]); want(len(d.train_ds) + len(d.valid_ds) == 6, 'items')

@case('dls_newline_names', 'folder_dls', 'file names holding newlines', expect='ok')
def _(w):
    i,m = dataset(stems=['a\nb', 'c\nd', 'e', 'f', 'g', 'h'])
    d = folder_dls(i, m, CODES, bs=2, valid_pct=0.34, batch_tfms=[]); want(len(d.train_ds) + len(d.valid_ds) == 6, 'items')

@case('dls_long_names', 'folder_dls', '250-byte file names', expect='ok')
def _(w):
    i,m = dataset(stems=[('x' * 240) + str(k) for k in range(6)])
    d = folder_dls(i, m, CODES, bs=2, valid_pct=0.34, batch_tfms=[]); want(len(d.train_ds) + len(d.valid_ds) == 6, 'items')

@case('dls_same_folder_twice', 'folder_dls', 'images=[folder, folder]', expect='ok')
def _(w):
    i,m = dataset(); d = folder_dls([i, i], m, CODES, bs=2, valid_pct=0.34, batch_tfms=[])
    want(len(d.train_ds) + len(d.valid_ds) == 6, f"{len(d.train_ds) + len(d.valid_ds)} items for 6 frames")

@case('dls_list_of_files', 'folder_dls', 'images= a list of image files', expect='either', needle=('no image', 'folder'))
def _(w):
    i,m = dataset(); d = folder_dls(sorted(i.iterdir()), m, CODES, bs=2, valid_pct=0.34, batch_tfms=[])
    want(len(d.train_ds) + len(d.valid_ds) == 6, 'items')

@case('dls_stem_twice', 'folder_dls', 'a.png and a.jpg in the images (one mask, two frames)', expect='either', needle=('f0', 'twice', 'same'))
def _(w):
    i,m = dataset(); png(i/'f0.jpg', 32, 32, 9)
    d = folder_dls(i, m, CODES, bs=2, valid_pct=0.5, batch_tfms=[], seed=1)
    tr = {Path(o).stem for o in d.train_ds.items}; va = {Path(o).stem for o in d.valid_ds.items}
    want(not (tr & va), f"stem(s) {sorted(tr & va)} in both the training and the validation set")

@case('dls_codes_300', 'folder_dls', '300 class names (a mask holds 256 values)', needle=('300', '256'))
def _(w): i,m = dataset(); return folder_dls(i, m, [f'c{k}' for k in range(300)], bs=2, valid_pct=0.34)

@case('dls_bs_float', 'folder_dls', 'bs=2.0', needle='bs')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, bs=2.0, valid_pct=0.34)

@case('dls_bs_numpy', 'folder_dls', 'bs=np.int64(2)', expect='either', needle='bs')
def _(w): i,m = dataset(); d = folder_dls(i, m, CODES, bs=np.int64(2), valid_pct=0.34, batch_tfms=[]); want(d.bs == 2, 'bs')

@case('dls_void_not_str', 'folder_dls', 'void=2 (an index, not a name)', needle='void')
def _(w): i,m = dataset(); return folder_dls(i, m, CODES, void=2, bs=2, valid_pct=0.34)

@case('dls_link_loop_mask', 'folder_dls', 'a mask that is a symlink to itself', needle='f0')
def _(w):
    i,m = dataset(); (m/'f0.png').unlink(); os.symlink('f0.png', m/'f0.png'); return folder_dls(i, m, CODES, bs=2, valid_pct=0.34)

@case('dls_mask_16bit_big', 'folder_dls', 'a 16-bit mask holding 1000', needle=('f0', '1000'))
def _(w):
    i,m = dataset(); a = np.zeros((32, 32), np.uint16); a[0, 0] = 1000
    Image.fromarray(a).save(m/'f0.png'); return folder_dls(i, m, CODES, bs=2, valid_pct=0.34)

# ---- D. camvid_dls, voc_dls, cityscapes_dls, a2d2_dls
def camvid_small(dest='cv'): return make_camvid(dest, n=1, size=(32, 32))

@case('camvid_path_file', 'camvid_dls', 'path= a file', needle='x.txt')
def _(w): Path('x.txt').write_text('x'); return camvid_dls('x.txt', bs=1)

@case('camvid_path_empty', 'camvid_dls', 'path= an empty folder', needle='empty')
def _(w): Path('empty').mkdir(); return camvid_dls('empty', bs=1)

@case('camvid_split_case', 'camvid_dls', "split='Dev'", needle='split')
def _(w): return camvid_dls(camvid_small(), split='Dev', bs=1)

@case('camvid_groups_string', 'camvid_dls', "valid_groups='0006R0' (a string, not a list)", expect='either', needle='valid_groups')
def _(w):
    d = camvid_dls(camvid_small(), valid_groups='0006R0', bs=1, batch_tfms=[])
    want(all(Path(o).name.startswith('0006R0') for o in d.valid_ds.items) and len(d.valid_ds), 'validation drives')

@case('camvid_codes_empty', 'camvid_dls', 'an empty codes.txt in the CamVid folder', needle='codes.txt')
def _(w):
    p = camvid_small(); (p/'codes.txt').write_text(''); return camvid_dls(p, bs=1)

@case('camvid_codes_short', 'camvid_dls', 'codes.txt with 3 names for 12-class masks', needle=('mask values', 'codes'))
def _(w):
    p = camvid_small(); (p/'codes.txt').write_text('a\nb\nc\n'); return camvid_dls(p, bs=1)

@case('camvid_bs_str', 'camvid_dls', "bs='2'", needle='bs')
def _(w): return camvid_dls(camvid_small(), bs='2')

@case('voc_no_imagesets', 'voc_dls', 'a VOC folder without ImageSets/', needle=('train.txt', 'split'))
def _(w):
    r = make_voc_like('v', n=4, size=(32, 32)); shutil.rmtree(r/'ImageSets'); return voc_dls(r, bs=1)

@case('voc_missing_jpeg', 'voc_dls', 'a split entry whose JPEG is missing', needle='2007_000001')
def _(w):
    r = make_voc_like('v', n=4, size=(32, 32)); (r/'JPEGImages'/'2007_000001.jpg').unlink(); return voc_dls(r, bs=1, size=32)

@case('voc_duplicate_entry', 'voc_dls', 'train.txt listing one image twice', expect='either', needle=('twice', 'duplicate', '2007'))
def _(w):
    r = make_voc_like('v', n=4, size=(32, 32)); t = r/'ImageSets/Segmentation/train.txt'; t.write_text(t.read_text() * 2)
    d = voc_dls(r, bs=1, size=32, batch_tfms=[]); items = [Path(o).stem for o in d.train_ds.items]
    want(len(items) == len(set(items)), f"{len(items)} training items for {len(set(items))} images")

@case('voc_train_val_overlap', 'voc_dls', 'an image in both train.txt and val.txt', needle=('both', '2007'))
def _(w):
    r = make_voc_like('v', n=4, size=(32, 32)); s = r/'ImageSets/Segmentation'
    (s/'val.txt').write_text((s/'val.txt').read_text() + (s/'train.txt').read_text().split()[0] + '\n')
    d = voc_dls(r, bs=1, size=32, batch_tfms=[])
    tr = {Path(o).stem for o in d.train_ds.items}; va = [Path(o).stem for o in d.valid_ds.items]
    raise Wrong(f"accepted: {len(tr)} training, {len(va)} validation items ({len(va) - len(set(va))} repeated), no error")

@case('voc_empty_val', 'voc_dls', 'an empty val.txt', needle='validation')
def _(w):
    r = make_voc_like('v', n=4, size=(32, 32)); (r/'ImageSets/Segmentation/val.txt').write_text(''); return voc_dls(r, bs=1, size=32)

@case('voc_rgb_mask', 'voc_dls', 'SegmentationClass PNG saved as RGB (not palette)', needle=('2007_000000', 'colour'))
def _(w):
    r = make_voc_like('v', n=4, size=(32, 32)); f = r/'SegmentationClass/2007_000000.png'
    Image.open(f).convert('RGB').save(f); return voc_dls(r, bs=1, size=32)

@case('cityscapes_empty', 'cityscapes_dls', 'an empty folder', needle=('leftImg8bit', 'cs'))
def _(w): Path('cs').mkdir(); return cityscapes_dls('cs', bs=1)

@case('cityscapes_missing_label', 'cityscapes_dls', 'an image without its labelIds PNG', needle='labelIds')
def _(w):
    r = make_cityscapes_like('cs', n=6, size=(32, 64))
    next(Path(r/'gtFine').rglob('*_labelIds.png')).unlink(); return cityscapes_dls(r, bs=1)

@case('cityscapes_path_file', 'cityscapes_dls', 'path= a file', needle='x.txt')
def _(w): Path('x.txt').write_text('x'); return cityscapes_dls('x.txt', bs=1)

@case('a2d2_empty', 'a2d2_dls', 'an empty folder', needle=('empty', 'a2d2', 'camera'))
def _(w): Path('empty').mkdir(); return a2d2_dls('empty', bs=1, cache=False)

@case('a2d2_missing', 'a2d2_dls', 'a folder that does not exist', needle=('nope', 'not found'))
def _(w): return a2d2_dls('nope', bs=1, cache=False)

@case('a2d2_bs_negative', 'a2d2_dls', 'bs=-1', needle='bs')
def _(w): return a2d2_dls('nope', bs=-1, cache=False)

def a2d2_small(): return make_a2d2('a2d2', scenes=2, frames=2, size=(32, 48))

@case('a2d2_classes_bogus', 'a2d2_dls', "classes='bogus'", needle=('bogus', 'classes', 'groups'))
def _(w): return a2d2_dls(a2d2_small(), classes='bogus', bs=1, cache=False)

@case('a2d2_split_unknown_scene', 'a2d2_dls', "split=['no_such_scene']", needle=('no_such_scene', 'validation'))
def _(w): return a2d2_dls(a2d2_small(), split=['no_such_scene'], bs=1, cache=False)

@case('a2d2_split_string', 'a2d2_dls', "split='scenes' (typo)", needle=('split', 'scenes'))
def _(w): return a2d2_dls(a2d2_small(), split='scenes', bs=1, cache=False)

@case('a2d2_manifest_garbage', 'a2d2_dls', 'a cache whose a2d2_cache.json is not JSON', needle='a2d2_cache.json')
def _(w): Path('c').mkdir(); Path('c/a2d2_cache.json').write_text('{nope'); return a2d2_dls('c', bs=1)

@case('a2d2_manifest_no_frames', 'a2d2_dls', "a manifest whose frames lack 'image'", needle='a2d2_cache.json')
def _(w):
    Path('c').mkdir(); Path('c/a2d2_cache.json').write_text(json.dumps(dict(frames=[{}], class_table={}, problems=[])))
    return a2d2_dls('c', bs=1)

@case('a2d2_class_table_garbage', 'read_a2d2_class_table', 'a class_list.json that is a list', needle='class_list.json')
def _(w): Path('class_list.json').write_text('[1, 2]'); return read_a2d2_class_table('class_list.json')

@case('a2d2_class_table_badhex', 'read_a2d2_class_table', "a class_list.json with colour '#zzzzzz'", needle=('zzzzzz', 'class_list.json'))
def _(w): Path('class_list.json').write_text(json.dumps({'#zzzzzz': 'Car 1'})); return read_a2d2_class_table('class_list.json')

# ---- E. seg_learner
@case('learner_arch_case', 'seg_learner', "arch='UNET'", needle='UNET')
def _(w): return seg_learner(DLS, 'resnet18', arch='UNET', pretrained=False)

@case('learner_backbone_unknown', 'seg_learner', "backbone='resnet19' (no such model)", needle='resnet19')
def _(w): return seg_learner(DLS, 'resnet19', pretrained=False)

@case('learner_backbone_int', 'seg_learner', 'backbone=123', needle=('backbone', '123'))
def _(w): return seg_learner(DLS, 123, pretrained=False)

@case('learner_n_out_zero', 'seg_learner', 'n_out=0', needle='n_out')
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, n_out=0)

@case('learner_n_out_negative', 'seg_learner', 'n_out=-3', needle='n_out')
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, n_out=-3)

@case('learner_n_out_float', 'seg_learner', 'n_out=3.0', needle='n_out')
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, n_out=3.0)

@case('learner_n_in_zero', 'seg_learner', 'n_in=0', needle='n_in')
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, n_in=0)

@case('learner_n_in_mismatch', 'seg_learner', 'n_in=1 with RGB DataLoaders', needle=('n_in', 'channel'))
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, n_in=1)

@case('learner_arch_kwargs_unknown', 'seg_learner', "arch_kwargs={'bogus': 1}", needle='bogus')
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, arch_kwargs={'bogus': 1})

@case('learner_arch_kwargs_str', 'seg_learner', "arch_kwargs='abc'", needle='arch_kwargs')
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, arch_kwargs='abc')

@case('learner_loss_trailing_plus', 'seg_learner', "loss_func='dice+'", needle=('dice+', 'loss'))
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, loss_func='dice+')

@case('learner_loss_int', 'seg_learner', 'loss_func=123', needle='loss')
def _(w): l = seg_learner(DLS, 'resnet18', pretrained=False, loss_func=123); raise Wrong(f"accepted loss_func={l.loss_func!r}")

@case('learner_metrics_str', 'seg_learner', "metrics='miou' (a string)", needle='metric')
def _(w): l = seg_learner(DLS, 'resnet18', pretrained=False, metrics='miou'); raise Wrong(f"accepted metrics={l.metrics!r}")

@case('learner_mixed_precision_bad', 'seg_learner', "mixed_precision='fp8'", needle='mixed_precision')
def _(w): l = seg_learner(DLS, 'resnet18', pretrained=False, mixed_precision='fp8'); raise Wrong('accepted fp8')

@case('learner_channels_last_str', 'seg_learner', "channels_last='no' (a truthy string)", needle='channels_last')
def _(w):
    l = seg_learner(DLS, 'resnet18', pretrained=False, channels_last='no'); raise Wrong("accepted channels_last='no' (a truthy string: channels-last on)")

@case('learner_weights_missing', 'seg_learner', "weights='nope.pth'", needle='nope.pth')
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, weights='nope.pth')

@case('learner_weights_pickle_payload', 'seg_learner', 'weights= a .pth pickle that runs code', needle='w.pth')
def _(w): torch.save({'x': Payload()}, 'w.pth'); return seg_learner(DLS, 'resnet18', weights='w.pth')

@case('learner_weights_legacy_pickle', 'seg_learner', 'weights= a raw (non-zip) pickle that runs code', needle='w.pt')
def _(w): Path('w.pt').write_bytes(pickle.dumps(Payload())); return seg_learner(DLS, 'resnet18', weights='w.pt')

@case('learner_weights_safetensors_wrong', 'seg_learner', 'weights= a safetensors file of other tensors', needle='w.safetensors')
def _(w):
    import safetensors.torch; safetensors.torch.save_file({'foo': torch.zeros(3)}, 'w.safetensors')
    return seg_learner(DLS, 'resnet18', weights='w.safetensors')

@case('learner_weights_safetensors_garbage', 'seg_learner', 'weights= a .safetensors file of garbage', needle='w.safetensors')
def _(w): Path('w.safetensors').write_bytes(b'\xff' * 64); return seg_learner(DLS, 'resnet18', weights='w.safetensors')

@case('learner_weights_empty', 'seg_learner', 'weights= a 0-byte .pth', needle='w.pth')
def _(w): Path('w.pth').write_bytes(b''); return seg_learner(DLS, 'resnet18', weights='w.pth')

@case('learner_weights_dir', 'seg_learner', 'weights= a folder', needle='wdir')
def _(w): Path('wdir').mkdir(); return seg_learner(DLS, 'resnet18', weights='wdir')

@case('learner_dls_none', 'seg_learner', 'dls=None', needle='dls')
def _(w): return seg_learner(None, 'resnet18', pretrained=False)

@case('learner_dls_list', 'seg_learner', 'dls= a list of tensors', needle='dls')
def _(w): return seg_learner([torch.zeros(1, 3, 32, 32)], 'resnet18', pretrained=False)

@case('learner_opt_kwarg_typo', 'seg_learner', 'an unknown keyword (lrr=0.1)', needle='lrr')
def _(w): return seg_learner(DLS, 'resnet18', pretrained=False, lrr=0.1)

# ---- F. create_seg_model
@case('model_n_out_zero', 'create_seg_model', 'n_out=0', needle='n_out')
def _(w): return create_seg_model('unet', 'resnet18', n_out=0, img_size=(32, 32), pretrained=False)

@case('model_n_out_negative', 'create_seg_model', 'n_out=-1', needle='n_out')
def _(w): return create_seg_model('unet', 'resnet18', n_out=-1, img_size=(32, 32), pretrained=False)

@case('model_n_out_huge', 'create_seg_model', 'n_out=100000', needle='n_out')
def _(w): m = create_seg_model('unet', 'resnet18', n_out=100000, img_size=(32, 32), pretrained=False); raise Wrong('built a 100000-class model')

@case('model_img_size_zero', 'create_seg_model', 'img_size=(0, 0)', needle='img_size')
def _(w): return create_seg_model('unet', 'resnet18', n_out=3, img_size=(0, 0), pretrained=False)

@case('model_img_size_str', 'create_seg_model', "img_size='big'", needle='img_size')
def _(w): return create_seg_model('unet', 'resnet18', n_out=3, img_size='big', pretrained=False)

@case('model_n_in_negative', 'create_seg_model', 'n_in=-1', needle='n_in')
def _(w): return create_seg_model('unet', 'resnet18', n_out=3, img_size=(32, 32), pretrained=False, n_in=-1)

@case('model_backbone_none', 'create_seg_model', "backbone=None for 'unet'", needle='backbone')
def _(w): return create_seg_model('unet', None, n_out=3, img_size=(32, 32), pretrained=False)

@case('model_backbone_lambda', 'create_seg_model', 'backbone= a callable returning 1', needle='backbone')
def _(w): return create_seg_model('unet', lambda *a, **k: 1, n_out=3, img_size=(32, 32), pretrained=False)

@case('model_arch_none', 'create_seg_model', 'arch=None', needle='None')
def _(w): return create_seg_model(None, 'resnet18', n_out=3, pretrained=False)

@case('model_output_stride_7', 'create_seg_model', "arch='deeplabv3', output_stride=7", needle='output_stride')
def _(w): return create_seg_model('deeplabv3', 'resnet18', n_out=3, img_size=(32, 32), pretrained=False, output_stride=7)

@case('model_fcn_tiny_input', 'create_seg_model', "arch='fcn8s' on a 32x32 batch: output size", expect='either', needle='size')
def _(w):
    m,_,_ = create_seg_model('fcn8s', 'resnet18', n_out=3, img_size=(32, 32), pretrained=False)
    y = m.eval()(torch.zeros(1, 3, 32, 32)); want(tuple(y.shape) == (1, 3, 32, 32), f"output {tuple(y.shape)}")

# ---- G. losses
def logits(n=2, c=3, h=8, w=8): return torch.randn(n, c, h, w, requires_grad=True)
def targ(n=2, h=8, w=8, hi=3): return torch.randint(0, hi, (n, h, w))

@case('loss_name_case', 'seg_loss', "seg_loss('CE')", needle='CE')
def _(w): return seg_loss('CE')

@case('loss_n_classes_zero', 'seg_loss', "seg_loss('ce', n_classes=0)", needle='n_classes')
def _(w): return seg_loss('ce', n_classes=0)

@case('loss_focal_gamma_negative', 'seg_loss', "'focal' with gamma=-1", needle='gamma')
def _(w):
    l = seg_loss('focal', n_classes=3, gamma=-1)(logits(), targ()); raise Wrong(f"accepted gamma=-1: loss {float(l):.3g}")

@case('loss_focal_gamma_nan', 'seg_loss', "'focal' with gamma=nan", needle='gamma')
def _(w):
    l = seg_loss('focal', n_classes=3, gamma=float('nan'))(logits(), targ()); raise Wrong(f"accepted gamma=nan: loss {float(l)}")

@case('loss_tversky_alpha_negative', 'seg_loss', "'tversky' with alpha=-1", needle='alpha')
def _(w):
    l = seg_loss('tversky', n_classes=3, alpha=-1.)(logits(), targ()); raise Wrong(f"accepted alpha=-1: loss {float(l):.3g}")

@case('loss_sum_weights_count', 'seg_loss', "'ce+dice' with weights=[1] (one for two terms)", needle='weights')
def _(w):
    l = seg_loss('ce+dice', n_classes=3, weights=[1])(logits(), targ()); raise Wrong(f"accepted: loss {float(l):.3g}")

@case('loss_sum_weights_nan', 'seg_loss', "'ce+dice' with weights=[nan, 1]", needle='weights')
def _(w):
    l = seg_loss('ce+dice', n_classes=3, weights=[float('nan'), 1])(logits(), targ()); raise Wrong(f"accepted: loss {float(l)}")

@case('loss_shape_mismatch', 'seg_loss', "'ce' with target 8x9 for logits 8x8", needle='shape')
def _(w): return seg_loss('ce', n_classes=3)(logits(), targ(w=9))

@case('loss_float_target', 'seg_loss', "'ce' with a float target holding 0.5", needle=('target', 'float', 'whole'))
def _(w):
    t = targ().float(); t[0, 0, 0] = 0.5; l = seg_loss('ce', n_classes=3)(logits(), t); raise Wrong(f"accepted 0.5 as a class: loss {float(l):.3g}")

@case('loss_dice_target_out_of_range', 'seg_loss', "'dice' with target value 5 of 3 classes", needle=('5', 'class'))
def _(w): l = seg_loss('dice', n_classes=3)(logits(), targ(hi=6)); raise Wrong(f"accepted: loss {float(l):.3g}")

@case('loss_lovasz_target_out_of_range', 'seg_loss', "'lovasz' with target value 7 of 3 classes", needle=('7', 'class'))
def _(w):
    t = targ(); t[0, 0, 0] = 7; l = seg_loss('lovasz', n_classes=3)(logits(), t); raise Wrong(f"accepted: loss {float(l):.3g}")

@case('loss_focal_target_negative', 'seg_loss', "'focal' with target -1 and no ignore_index", needle=('-1', 'class'))
def _(w):
    t = targ(); t[0, 0, 0] = -1; l = seg_loss('focal', n_classes=3)(logits(), t); raise Wrong(f"accepted: loss {float(l):.3g}")

@case('loss_ohem_target_out_of_range', 'seg_loss', "'ohem' with target value 9 of 3 classes", needle=('9', 'class'))
def _(w):
    t = targ(); t[0, 0, 0] = 9; l = seg_loss('ohem', n_classes=3)(logits(), t); raise Wrong(f"accepted: loss {float(l):.3g}")

@case('loss_binary_target_2', 'seg_loss', "'ce' with n_classes=1 (binary) and target value 2", needle=('2', 'class', 'binary'))
def _(w):
    l = seg_loss('ce', n_classes=1)(logits(c=1), targ(hi=3)); raise Wrong(f"accepted: loss {float(l):.3g}")

@case('loss_weight_2d', 'seg_loss', "'ce' with a 2-D class weight [[1, 2, 3]]", needle='weight')
def _(w):
    l = seg_loss('ce', n_classes=3, weight=torch.tensor([[1., 2., 3.]]))(logits(), targ()); raise Wrong(f"accepted: loss {float(l):.3g}")

@case('loss_weight_str', 'seg_loss', "weight='abc'", needle='weight')
def _(w): return seg_loss('ce', n_classes=3, weight='abc')(logits(), targ())

@case('loss_dice_ignore_out_of_range', 'seg_loss', "'dice' with ignore_index=255 and a target value 4 of 3 classes", needle=('4', 'class'))
def _(w):
    t = targ(); t[0, 0, 0] = 255; t[0, 0, 1] = 4
    l = seg_loss('dice', n_classes=3, ignore_index=255)(logits(), t); raise Wrong(f"accepted: loss {float(l):.3g}")

@case('loss_jaccard_classes_mismatch', 'seg_loss', "'jaccard' made for 3 classes, given 5-channel logits", expect='either', needle=('3', '5', 'class', 'channel'))
def _(w):
    l = seg_loss('jaccard', n_classes=3)(logits(c=5), targ()); want(torch.isfinite(l), 'loss not finite')

# ---- H. metrics
@case('cm_n_zero', 'confusion_matrix', 'n_classes=0', needle='n_classes')
def _(w): return confusion_matrix(torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long), 0)

@case('cm_n_negative', 'confusion_matrix', 'n_classes=-1', needle='n_classes')
def _(w): return confusion_matrix(torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long), -1)

@case('cm_n_float', 'confusion_matrix', 'n_classes=2.5', needle='n_classes')
def _(w): return confusion_matrix(torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long), 2.5)

@case('cm_float_pred', 'confusion_matrix', 'float predictions 1.7 (indices, same shape as target)', needle=('pred', 'float', 'whole'))
def _(w):
    cm = confusion_matrix(torch.full((4,), 1.7), torch.full((4,), 2, dtype=torch.long), 3)
    raise Wrong(f"accepted: 1.7 counted as {int(cm[2].argmax())}, cm row 2 = {cm[2].tolist()}")

@case('cm_targ_out_of_range', 'confusion_matrix', 'a target value 5 with 3 classes and no ignore_index', needle=('5', 'target'))
def _(w):
    cm = confusion_matrix(torch.zeros(4, dtype=torch.long), torch.tensor([0, 5, 5, 5]), 3)
    raise Wrong(f"3 of 4 labelled pixels dropped without a word: cm sum {int(cm.sum())}")

@case('cm_empty', 'confusion_matrix', 'empty tensors', expect='ok')
def _(w):
    cm = confusion_matrix(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), 3)
    want(cm.shape == (3, 3) and int(cm.sum()) == 0, 'cm')

@case('cm_axis_wrong', 'confusion_matrix', 'logits (2, 3, 8, 8) with axis=-1', needle='shape')
def _(w): return confusion_matrix(torch.randn(2, 3, 8, 8), torch.zeros(2, 8, 8, dtype=torch.long), 3, axis=-1)

@case('cm_numpy_input', 'confusion_matrix', 'numpy arrays instead of tensors', expect='either', needle=('tensor', 'numpy'))
def _(w):
    cm = confusion_matrix(np.array([0, 1, 2]), np.array([0, 1, 1]), 3); want(int(cm[1, 2]) == 1 and int(cm.sum()) == 3, 'cm')

@case('cm_bool_pred', 'confusion_matrix', 'a bool prediction (binary mask) with n_classes=2', expect='ok')
def _(w):
    cm = confusion_matrix(torch.tensor([True, False, True]), torch.tensor([1, 0, 0]), 2); want(cm.tolist() == [[1, 1], [0, 1]], f"{cm.tolist()}")

@case('iou_non_square', 'iou_per_class', 'a 2x3 confusion matrix', needle=('square', 'shape'))
def _(w): r = iou_per_class(torch.ones(2, 3, dtype=torch.long)); raise Wrong(f"accepted: {r.tolist()}")

@case('iou_negative_counts', 'iou_per_class', 'a confusion matrix with negative counts', needle='negative')
def _(w): r = iou_per_class(torch.tensor([[-5, 1], [1, 5]])); raise Wrong(f"accepted: IoU {r.tolist()}")

@case('seg_metrics_zero', 'seg_metrics', 'seg_metrics(n_classes=0)', needle='n_classes')
def _(w): r = seg_metrics(0); raise Wrong(f"accepted: {r!r}"[:200])

@case('seg_metrics_ignore_out', 'seg_metrics', 'seg_metrics(3, ignore_index=7)', expect='either', needle='ignore_index')
def _(w): r = seg_metrics(3, 7); want(len(r) > 0, 'no metrics')

# ---- I. SegReport
@case('report_non_square', 'SegReport', 'SegReport of a 2x3 confusion matrix', needle=('square', 'shape'))
def _(w): r = SegReport(torch.ones(2, 3, dtype=torch.long)); return r.miou

@case('report_codes_short', 'SegReport', 'a 3x3 confusion matrix with 2 codes', needle=('codes', '3'))
def _(w): r = SegReport(torch.eye(3, dtype=torch.long) * 5, codes=['a', 'b']); return r.table()

@case('report_ignore_out', 'SegReport', 'ignore_index=10 for 3 classes', expect='either', needle='ignore_index')
def _(w): r = SegReport(torch.eye(3, dtype=torch.long) * 5, ignore_index=10); want(abs(r.miou - 1) < 1e-9, f"miou {r.miou}")

@case('report_float_cm', 'SegReport', 'a float confusion matrix with NaN', needle=('nan', 'confusion'))
def _(w):
    cm = torch.eye(3) * 5; cm[0, 1] = float('nan'); r = SegReport(cm); m = r.miou; raise Wrong(f"accepted: mIoU {m}")

@case('report_files_mask_size', 'SegReport.from_files', 'a mask of another size than its image', needle=('a.png', 'shape', 'size'))
def _(w):
    png('im/a.png', 32, 32); mask_png('mk/a.png', 16, 16)
    return SegReport.from_files(MODEL, [Path('im/a.png')], lambda f: Path('mk')/f.name)

@case('report_files_mask_missing', 'SegReport.from_files', 'get_mask naming a missing file', needle='a.png')
def _(w): png('im/a.png', 32, 32); return SegReport.from_files(MODEL, [Path('im/a.png')], lambda f: Path('mk')/f.name)

@case('report_files_ignore_300', 'SegReport.from_files', 'ignore_index=300', needle='ignore_index')
def _(w):
    png('im/a.png', 32, 32); mask_png('mk/a.png', 32, 32)
    r = SegReport.from_files(MODEL, [Path('im/a.png')], lambda f: Path('mk')/f.name, ignore_index=300); raise Wrong(f"accepted: {r!r}")

@case('report_files_str_files', 'SegReport.from_files', "files= one path as a string, not a list", expect='either', needle=('files', 'list'))
def _(w):
    png('im/a.png', 32, 32); mask_png('mk/a.png', 32, 32)
    r = SegReport.from_files(MODEL, 'im/a.png', lambda f: Path('mk')/Path(f).name); want(len(r.image_ious) == 1, f"{len(r.image_ious)} images")

@case('report_files_mask_rgb', 'SegReport.from_files', 'an RGB colour mask (no colour table)', needle=('a.png', 'colour'))
def _(w):
    png('im/a.png', 32, 32); png('mk/a.png', 32, 32)
    return SegReport.from_files(MODEL, [Path('im/a.png')], lambda f: Path('mk')/f.name)

# ---- J. compare_archs (argument checks; trains at most 1 epoch of 2 batches of 32x32)
@case('compare_archs_string', 'compare_archs', "archs='unet' (a string)", needle=('archs', 'unet'))
def _(w): return compare_archs(DLS, archs='unet', pretrained=False, bar=False)

@case('compare_epochs_zero', 'compare_archs', 'epochs=0', needle='epochs')
def _(w): return compare_archs(DLS, epochs=0, archs=['unet'], pretrained=False, bar=False)

@case('compare_epochs_negative', 'compare_archs', 'epochs=-1', needle='epochs')
def _(w): return compare_archs(DLS, epochs=-1, archs=['unet'], pretrained=False, bar=False)

@case('compare_lr_nan', 'compare_archs', 'lr=nan', needle=('lr', 'nan'))
def _(w): r = compare_archs(DLS, lr=float('nan'), archs=['unet'], pretrained=False, bar=False); raise Wrong(f"accepted: {r.to_dict('records')}"[:300])

@case('compare_lr_negative', 'compare_archs', 'lr=-1', needle='lr')
def _(w): r = compare_archs(DLS, lr=-1., archs=['unet'], pretrained=False, bar=False); raise Wrong(f"accepted: {r.to_dict('records')}"[:300])

@case('compare_list', 'compare_archs', 'a list of learners instead of a dict', needle=('dict', 'learners'))
def _(w): return compare_archs(['a', 'b'])

@case('compare_dict_not_learner', 'compare_archs', "{'x': 'not a learner'}", needle=('learner', 'x'))
def _(w): return compare_archs({'x': 'not a learner'})

@case('compare_archs_empty', 'compare_archs', 'archs=[]', needle='archs')
def _(w): return compare_archs(DLS, archs=[], pretrained=False, bar=False)

@case('compare_backbone_unknown', 'compare_archs', "backbone='nope_net'", needle='nope_net')
def _(w): return compare_archs(DLS, archs=['unet'], backbone='nope_net', pretrained=False, bar=False)

@case('compare_seed_str', 'compare_archs', "seed='x'", needle='seed')
def _(w): return compare_archs(DLS, archs=['unet'], seed='x', pretrained=False, bar=False)

# ---- K. model folders
@case('save_folder_empty', 'save_model_folder', "folder='' (would be the current folder)", needle=('empty', "''"))
def _(w):
    save_model_folder(MODEL, ''); raise Wrong(f"accepted '': wrote {sorted(os.listdir('.'))} into the current folder")

@case('save_not_a_model', 'save_model_folder', "model='not a model' (a string)", needle=('not a model',))
def _(w): return save_model_folder('not a model', 'out')

@case('save_folder_is_file', 'save_model_folder', 'folder= an existing file', needle='f.txt')
def _(w): Path('f.txt').write_text('mine'); P('f.txt'); return save_model_folder(MODEL, 'f.txt')

@case('save_model_none', 'save_model_folder', 'model=None', needle=('None', 'model'))
def _(w): return save_model_folder(None, 'out')

@case('save_push_offline', 'save_model_folder', 'push_to_hub=True while offline', needle=('offline', 'hub', 'push'))
def _(w): save_model_folder(MODEL, 'out', push_to_hub=True, repo_id='me/x'); raise Wrong('claimed a push while offline')

@case('save_then_reload_roundtrip', 'save_model_folder', 'save into a folder with a unicode, spaced name, and load it back', expect='ok')
def _(w):
    save_model_folder(MODEL, 'mödel dir ✓'); m = load_model_folder('mödel dir ✓')
    x = torch.rand(1, 3, 32, 32); want(torch.allclose(m(x), MODEL(x), atol=1e-5), 'outputs differ')

@case('load_config_array', 'load_model_folder', 'config.json holding a JSON array', needle='config.json')
def _(w): p = model_dir(); (p/'config.json').write_text('[1, 2]'); return load_model_folder(p)

@case('load_backbone_swapped', 'load_model_folder', "config.json says resnet34, the weights are resnet18's", needle='model.safetensors')
def _(w): return load_model_folder(edit_config(model_dir(), backbone='resnet34'))

@case('load_n_out_swapped', 'load_model_folder', 'config.json says n_out 4 (4 codes), the weights have 3', needle='model.safetensors')
def _(w): return load_model_folder(edit_config(model_dir(), n_out=4, codes=['a', 'b', 'c', 'd']))

@case('load_img_size_odd', 'load_model_folder', 'config.json with img_size [31, 33] (not multiples of 32)', expect='ok')
def _(w):
    m = load_model_folder(edit_config(model_dir(), img_size=[31, 33]))
    p = predict_probs(m, img_array(40, 50)); want(tuple(p.shape) == (3, 40, 50), f"{tuple(p.shape)}")

@case('load_config_bom', 'load_model_folder', 'config.json saved with a BOM (a Windows editor)', expect='either', needle='config.json')
def _(w):
    p = model_dir(); t = (p/'config.json').read_text(); (p/'config.json').write_text('\ufeff' + t, encoding='utf-8')
    load_model_folder(p)

@case('load_arch_kwargs_n_out', 'load_model_folder', "config.json arch_kwargs {'n_out': 5} clashing with n_out", needle='config.json')
def _(w): return load_model_folder(edit_config(model_dir(), arch_kwargs={'n_out': 5}))

@case('load_backbone_hf_hub', 'load_model_folder', "config.json backbone 'hf-hub:evil/model' (a download)", needle=('hf-hub', 'backbone'))
def _(w): return load_model_folder(edit_config(model_dir(), backbone='hf-hub:evil/model'))

@case('load_safetensors_truncated', 'load_model_folder', 'model.safetensors cut in half', needle='model.safetensors')
def _(w):
    p = model_dir(); b = (p/'model.safetensors').read_bytes(); (p/'model.safetensors').write_bytes(b[:len(b)//2]); return load_model_folder(p)

@case('load_safetensors_huge_header', 'load_model_folder', 'model.safetensors declaring a 2**60-byte header', needle='model.safetensors')
def _(w): p = model_dir(); (p/'model.safetensors').write_bytes(struct.pack('<Q', 2**60) + b'{}'); return load_model_folder(p)

@case('load_safetensors_bad_offsets', 'load_model_folder', 'model.safetensors whose offsets run past the file', needle='model.safetensors')
def _(w):
    p = model_dir(); h = json.dumps({'x': {'dtype': 'F32', 'shape': [10**6], 'data_offsets': [0, 4 * 10**6]}}).encode()
    (p/'model.safetensors').write_bytes(struct.pack('<Q', len(h)) + h + b'\0' * 8); return load_model_folder(p)

@case('load_safetensors_dev_zero', 'load_model_folder', 'model.safetensors a symlink to /dev/zero', needle='model.safetensors')
def _(w): p = model_dir(); (p/'model.safetensors').unlink(); os.symlink('/dev/zero', p/'model.safetensors'); return load_model_folder(p)

@case('load_safetensors_pickle', 'load_model_folder', 'model.safetensors replaced by a torch pickle that runs code', needle='model.safetensors')
def _(w): p = model_dir(); torch.save({'x': Payload()}, p/'model.safetensors'); return load_model_folder(p)

@case('load_config_is_dir', 'load_model_folder', 'config.json a folder', needle='config.json')
def _(w): p = model_dir(); (p/'config.json').unlink(); (p/'config.json').mkdir(); return load_model_folder(p)

@case('load_config_fifo', 'load_model_folder', 'config.json a named pipe: must not block', needle='config.json')
def _(w): p = model_dir(); (p/'config.json').unlink(); os.mkfifo(p/'config.json'); return load_model_folder(p)

@case('load_int', 'load_model_folder', 'load_model_folder(123)', needle='123')
def _(w): return load_model_folder(123)

@case('load_device_bogus', 'load_model_folder', "device='gpu0'", needle=('device', 'gpu0'))
def _(w): return load_model_folder(model_dir(), device='gpu0')

@case('load_hf_three_parts', 'load_model_folder', "'hf://a/b/c'", needle='a/b/c')
def _(w): return load_model_folder('hf://a/b/c')

@case('load_hf_dotdot', 'load_model_folder', "'hf://../x'", needle='../x')
def _(w): return load_model_folder('hf://../x')

@case('load_kwarg_typo', 'load_model_folder', 'an unknown keyword (revison=1) on a local folder', needle='revison')
def _(w): return load_model_folder(model_dir(), revison=1)

@case('load_config_net_key', 'load_model_folder', "config.json with a 'net' key", needle=('net', 'config.json'))
def _(w): return load_model_folder(edit_config(model_dir(), net='x'))

@case('load_config_huge_number', 'load_model_folder', 'config.json n_out 1e400 (parses as inf)', needle='n_out')
def _(w):
    p = model_dir(); t = (p/'config.json').read_text().replace('"n_out": 3', '"n_out": 1e400'); (p/'config.json').write_text(t)
    return load_model_folder(p)

@case('load_config_codes_newline', 'load_model_folder', 'config.json codes holding a name with a newline and one empty', needle=('codes', 'name'))
def _(w): m = load_model_folder(edit_config(model_dir(), codes=['a\nb', '', 'c'])); raise Wrong(f"accepted codes {m.config['codes']}")

@case('load_config_mean_1ch', 'load_model_folder', 'config.json mean/std of 1 value (broadcast): predicts', expect='ok')
def _(w):
    m = load_model_folder(edit_config(model_dir(), mean=[0.5], std=[0.25]))
    want(tuple(predict_probs(m, img_array()).shape) == (3, 32, 32), 'shape')

@case('load_seg_model_dotted_dir', 'load_seg_model', "a model folder named 'x.onnx'", expect='either', needle='x.onnx')
def _(w):
    shutil.copytree(FIX/'model', 'x.onnx'); m = load_seg_model('x.onnx'); want(isinstance(m, SegModel), type(m).__name__)

# ---- L. ONNX
@case('onnx_fn_empty', 'export_onnx', "fn='' (the current folder)", needle=('empty', "''", 'fn'))
def _(w): return export_onnx(MODEL, '')

@case('onnx_opset_99', 'export_onnx', 'opset=99', needle='opset')
def _(w): return export_onnx(MODEL, 'm.onnx', opset=99)

@case('onnx_opset_str', 'export_onnx', "opset='17'", needle='opset')
def _(w): return export_onnx(MODEL, 'm.onnx', opset='17')

@case('onnx_fn_symlink_out', 'export_onnx', 'fn a symlink to a file outside the folder (written through?)', expect='either', needle=('symlink', 'link'))
def _(w):
    os.symlink(CTX['cdir']/'sentinel'/'model.onnx', 'm.onnx'); export_onnx(MODEL, 'm.onnx')
    want(not (CTX['cdir']/'sentinel'/'model.onnx').exists(), 'wrote through the symlink into sentinel/model.onnx')

@case('onnx_fn_is_dir', 'export_onnx', 'fn an existing folder named m.onnx', needle='m.onnx')
def _(w): Path('m.onnx').mkdir(); return export_onnx(MODEL, 'm.onnx')

@case('onnx_model_missing_folder', 'export_onnx', "model='nope' (no such folder)", needle='nope')
def _(w): return export_onnx('nope', 'm.onnx')

@case('onnx_model_none', 'export_onnx', 'model=None', needle=('None', 'model'))
def _(w): return export_onnx(None, 'm.onnx')

@case('onnx_load_safetensors', 'load_onnx_model', 'a model.safetensors given as ONNX', needle='model.safetensors')
def _(w): p = model_dir(); return load_onnx_model(p/'model.safetensors')

@case('onnx_meta_string', 'load_onnx_model', "segcourse_config metadata '\"string\"'", needle='m.onnx')
def _(w): return load_onnx_model(onnx_meta(onnx_file(), '"string"'))

@case('onnx_meta_deep', 'load_onnx_model', 'segcourse_config metadata nested 100,000 deep', needle='m.onnx')
def _(w): return load_onnx_model(onnx_meta(onnx_file(), '[' * 100000 + ']' * 100000))

@case('onnx_meta_missing', 'load_onnx_model', 'an ONNX file with no segcourse_config', needle='segcourse_config')
def _(w): return load_onnx_model(onnx_meta(onnx_file(), None))

@case('onnx_truncated', 'load_onnx_model', 'an ONNX file cut in half', needle='m.onnx')
def _(w): f = onnx_file(); b = f.read_bytes(); f.write_bytes(b[:len(b)//2]); return load_onnx_model(f)

@case('onnx_empty', 'load_onnx_model', 'a 0-byte .onnx', needle='m.onnx')
def _(w): Path('m.onnx').write_bytes(b''); return load_onnx_model('m.onnx')

@case('onnx_meta_mean_str', 'load_onnx_model', "metadata mean ['a', 'b', 'c']", needle='mean')
def _(w):
    cfg = dict(ONNX_CFG, mean=['a', 'b', 'c'])
    return load_onnx_model(onnx_meta(onnx_file(), json.dumps(cfg)))

@case('onnx_meta_img_size_1', 'load_onnx_model', 'metadata img_size [1, 1]: loads and predicts', expect='ok')
def _(w):
    cfg = dict(ONNX_CFG, img_size=[1, 1]); m = load_onnx_model(onnx_meta(onnx_file(), json.dumps(cfg)))
    want(tuple(predict_probs(m, img_array(20, 20)).shape) == (3, 20, 20), 'shape')

@case('onnx_external_data_outside', 'load_onnx_model', 'an ONNX initializer stored as external data ../sentinel/secret.bin', needle=('outside', 'external', 'm.onnx'))
def _(w):
    import onnx
    g = onnx.load(str(onnx_file())); t = g.graph.initializer[0]
    t.data_location = onnx.TensorProto.EXTERNAL; t.ClearField('raw_data'); t.ClearField('float_data')
    del t.external_data[:]; e = t.external_data.add(); e.key = 'location'; e.value = '../sentinel/note.txt'
    onnx.save(g, 'm.onnx')
    m = load_onnx_model('m.onnx'); raise Wrong('loaded a tensor from a file outside the model folder (../sentinel/note.txt)')

@case('seg_model_pickle_bin', 'load_seg_model', 'a raw pickle named model.bin (runs code if unpickled)', needle=('pickle', 'model.bin'))
def _(w): Path('model.bin').write_bytes(pickle.dumps(Payload())); return load_seg_model('model.bin')

@case('seg_model_pickle_as_onnx', 'load_seg_model', 'a torch pickle named model.onnx', needle='model.onnx')
def _(w): torch.save({'x': Payload()}, 'model.onnx'); return load_seg_model('model.onnx')

@case('seg_model_zip_noext', 'load_seg_model', 'a torch zip pickle without a suffix', needle=('pickle', 'model'))
def _(w): torch.save({'x': Payload()}, 'model'); return load_seg_model('model')

@case('seg_model_onnx_flag_folder', 'load_seg_model', 'onnx=True on a model folder', needle='model')
def _(w): return load_seg_model(model_dir(), onnx=True)

# ---- M. predict_probs, predict_masks, predict_files
@case('probs_float_image', 'predict_probs', 'a float32 image in [0, 1] (read as all black)', needle=('uint8', 'float', 'dtype'))
def _(w):
    a = img_array() / 255.0; p = predict_probs(MODEL, a.astype(np.float32)); q = predict_probs(MODEL, np.zeros((32, 32, 3), np.uint8))
    raise Wrong("accepted without a word: a [0, 1] float image is cast to uint8 (every pixel 0 or 1 of 255)")

@case('probs_gray_2d', 'predict_probs', 'a 2-D (H, W) grey array', needle=('shape', '(H, W, 3)', 'channel'))
def _(w): return predict_probs(MODEL, np.zeros((32, 32), np.uint8))

@case('probs_rgba', 'predict_probs', 'an (H, W, 4) RGBA array', needle=('shape', 'channel', '4'))
def _(w): return predict_probs(MODEL, np.zeros((32, 32, 4), np.uint8))

@case('probs_empty', 'predict_probs', 'an empty (0, 0, 3) image', needle=('empty', 'size', '0'))
def _(w): return predict_probs(MODEL, np.zeros((0, 0, 3), np.uint8))

@case('probs_list', 'predict_probs', 'a nested list instead of an array', expect='either', needle=('array', 'list'))
def _(w): p = predict_probs(MODEL, img_array(8, 8).tolist()); want(tuple(p.shape) == (3, 8, 8), f"{tuple(p.shape)}")

@case('probs_size_native', 'predict_probs', "size='native'", needle='size')
def _(w): return predict_probs(MODEL, img_array(), size='native')

@case('probs_tile_1tuple', 'predict_probs', 'tile=(32,)', needle='tile')
def _(w): return predict_probs(MODEL, img_array(), tile=(32,))

@case('probs_stride_zero', 'predict_probs', 'stride_multiple=0', needle='stride_multiple')
def _(w): return predict_probs(MODEL, img_array(), stride_multiple=0)

@case('probs_stride_negative', 'predict_probs', 'stride_multiple=-32', needle='stride_multiple')
def _(w): return predict_probs(MODEL, img_array(), stride_multiple=-32)

@case('probs_1x1', 'predict_probs', 'a 1x1 image', expect='ok')
def _(w): want(tuple(predict_probs(MODEL, img_array(1, 1)).shape) == (3, 1, 1), 'shape')

@case('probs_1x5000', 'predict_probs', 'a 1x5000 strip', expect='ok')
def _(w):
    p = predict_probs(MODEL, img_array(1, 5000)); want(tuple(p.shape) == (3, 1, 5000) and torch.isfinite(p).all(), f"{tuple(p.shape)}")

@case('probs_overlap_true', 'predict_probs', 'overlap=True', needle='overlap')
def _(w): return predict_probs(MODEL, img_array(), tile=16, overlap=True)

@case('probs_overlap_str', 'predict_probs', "overlap='0.5'", needle='overlap')
def _(w): return predict_probs(MODEL, img_array(), tile=16, overlap='0.5')

@case('probs_tta_tile', 'predict_probs', 'tta with 16 px tiles on a 40x50 image: shape and sum to 1', expect='ok')
def _(w):
    p = predict_probs(MODEL, img_array(40, 50), tile=16, tta=True, size=None)
    want(tuple(p.shape) == (3, 40, 50) and torch.allclose(p.sum(0), torch.ones(40, 50), atol=1e-3), f"{tuple(p.shape)}, sums {p.sum(0).min():.3f}..{p.sum(0).max():.3f}")

@case('probs_size_huge', 'predict_probs', 'size=(20000, 20000)', needle=('size', 'MAX_PIXELS', 'bomb'))
def _(w): return predict_probs(MODEL, img_array(), size=(20000, 20000))

@case('probs_model_none', 'predict_probs', 'model=None', needle=('None', 'model'))
def _(w): return predict_probs(None, img_array())

@case('masks_empty_list', 'predict_masks', 'files=[]', expect='ok')
def _(w): want(MODEL.predict_masks([]) == [], 'not []')

@case('masks_missing_file', 'predict_masks', "files='nope.png'", needle='nope.png')
def _(w): return MODEL.predict_masks('nope.png')

@case('masks_empty_dir', 'predict_masks', 'a folder without images', needle='d')
def _(w): Path('d').mkdir(); return MODEL.predict_masks(['d'])

@case('masks_bs_zero', 'predict_masks', 'bs=0', needle='bs')
def _(w): png('a.png'); return MODEL.predict_masks(['a.png'], bs=0)

@case('files_empty_inputs', 'predict_files', 'inputs=[]', expect='either', needle='input')
def _(w): r = predict_files(MODEL, [], 'out', show_progress=False); want(r == [], f"{r}")

@case('files_long_name', 'predict_files', 'an input named with 250 bytes (outputs past NAME_MAX)', expect='either', needle=('name', 'long'))
def _(w):
    f = png('x' * 246 + '.png'); r = predict_files(MODEL, [f], 'out', show_progress=False)
    if r: return ('clear error', f"listed failure: {r[0][1][:200]}")

@case('files_fifo_input', 'predict_files', 'an input x.png that is a named pipe: must not block', expect='either', needle='x.png')
def _(w):
    os.mkfifo('x.png'); r = predict_files(MODEL, ['x.png'], 'out', show_progress=False)
    want(len(r) == 1, f"failures {r}"); return ('clear error', f"listed failure: {r[0][1][:200]}")

@case('files_dev_zero_in_dir', 'predict_files', 'a folder holding z.png -> /dev/zero', expect='either', needle='z.png')
def _(w):
    Path('in').mkdir(); os.symlink('/dev/zero', 'in/z.png'); png('in/a.png')
    r = predict_files(MODEL, ['in'], 'out', show_progress=False)
    want(len(r) == 1 and Path('out/a.png').exists(), f"failures {r}"); return ('clear error', f"listed failure: {r[0][1][:200]}")

@case('files_model_none', 'predict_files', 'model=None', needle=('None', 'model'))
def _(w): png('a.png'); return predict_files(None, ['a.png'], 'out', show_progress=False)

@case('files_inputs_str_dir', 'predict_files', 'inputs= one folder as a string', expect='ok')
def _(w):
    png('in/a.png'); png('in/s/b.png'); r = predict_files(MODEL, 'in', 'out', show_progress=False)
    want(r == [] and Path('out/a.png').exists() and Path('out/s/b.png').exists(), f"{r}")

@case('files_cmyk_jpeg', 'predict_files', 'a CMYK JPEG input', expect='ok')
def _(w):
    Image.fromarray(img_array()).convert('CMYK').save('a.jpg'); r = predict_files(MODEL, ['a.jpg'], 'out', show_progress=False)
    want(r == [] and np.array(Image.open('out/a.png')).shape == (32, 32), f"{r}")

@case('files_overwrite_str', 'predict_files', "overwrite='no' (a truthy string) over a user's out/a.png", needle='overwrite')
def _(w):
    png('in/a.png'); Path('out').mkdir(); Path('out/a.png').write_text('my own notes'); P('out/a.png')
    r = predict_files(MODEL, ['in/a.png'], 'out', show_progress=False, overwrite='no'); raise Wrong(f"accepted overwrite='no' ({r})")

@case('files_kwarg_typo', 'predict_files', 'an unknown keyword tile_size=64', needle='tile_size')
def _(w): png('a.png'); return predict_files(MODEL, ['a.png'], 'out', show_progress=False, tile_size=64)

@case('files_out_none', 'predict_files', 'out=None', needle=('out', 'None'))
def _(w): png('a.png'); return predict_files(MODEL, ['a.png'], None, show_progress=False)

@case('files_record_dir', 'predict_files', "out/.segcourse-written is a folder", needle='.segcourse-written')
def _(w): png('a.png'); Path('out/.segcourse-written').mkdir(parents=True); return predict_files(MODEL, ['a.png'], 'out', show_progress=False)

@case('files_record_garbage', 'predict_files', "out/.segcourse-written holds binary garbage, a user's out/a.png present", expect='either', needle=('.segcourse-written', 'a.png'))
def _(w):
    png('a.png'); Path('out').mkdir(); Path('out/.segcourse-written').write_bytes(b'\xff\xfe\x00garbage'); Path('out/a.png').write_text('mine'); P('out/a.png')
    r = predict_files(MODEL, ['a.png'], 'out', show_progress=False); raise Wrong(f"replaced the user's a.png? failures={r}")

@case('files_record_claims_parent', 'predict_files', "a record listing '../sentinel/note.txt' and a user's file of that name", expect='either', needle='note')
def _(w):
    png('note.png'); Path('out').mkdir(); Path('out/.segcourse-written').write_text('../sentinel/note.png\nnote.png\n')
    r = predict_files(MODEL, ['note.png'], 'out', show_progress=False)
    want(not (CTX['cdir']/'sentinel'/'note.png').exists(), 'wrote outside')

# ---- N. the CLI: predict
@case('cli_predict_no_args', 'segcourse predict', 'no arguments at all')
def _(w): return cli_error('predict')

@case('cli_predict_no_inputs', 'segcourse predict', 'a model but no inputs', needle='no inputs')
def _(w): return cli_error('predict', model_dir())

@case('cli_predict_tile_text', 'segcourse predict', '--tile abc', needle='tile')
def _(w): png('a.png'); return cli_error('predict', model_dir(), 'a.png', '--tile', 'abc')

@case('cli_predict_overlap_text', 'segcourse predict', '--overlap half', needle='overlap')
def _(w): png('a.png'); return cli_error('predict', model_dir(), 'a.png', '--overlap', 'half')

@case('cli_predict_bs_negative', 'segcourse predict', '--bs -1', needle='bs')
def _(w): png('a.png'); return cli_error('predict', model_dir(), 'a.png', '--bs', '-1')

@case('cli_predict_tile_huge', 'segcourse predict', '--tile 10000000 on a 32x32 image', expect='either', needle='tile')
def _(w):
    png('a.png'); code,out,err = cli('predict', model_dir(), 'a.png', '--out', 'o', '--tile', '10000000')
    if 'Traceback' in err: raise CliTraceback(err.strip().splitlines()[-1])
    if code: return ('clear error' if 'tile' in err.lower() else 'unclear error', err.strip().splitlines()[-1][:300])
    want(Path('o/a.png').exists(), 'no mask')

@case('cli_predict_model_missing', 'segcourse predict', 'a model path that does not exist', needle='nope')
def _(w): png('a.png'); return cli_error('predict', 'nope', 'a.png')

@case('cli_predict_out_symlink', 'segcourse predict', '--out a symlink to a folder outside', needle='symlink')
def _(w):
    png('a.png'); os.symlink(CTX['cdir']/'sentinel', 'o'); return cli_error('predict', model_dir(), 'a.png', '--out', 'o')

@case('cli_predict_native_tile', 'segcourse predict', '--native --tile 16 on a 40x50 image', expect='ok')
def _(w):
    png('a.png', 40, 50); cli_ok('predict', model_dir(), 'a.png', '--out', 'o', '--native', '--tile', '16')
    want(np.array(Image.open('o/a.png')).shape == (40, 50), 'mask size')

@case('cli_predict_bogus_flag', 'segcourse predict', 'an unknown option --bogus')
def _(w): png('a.png'); return cli_error('predict', model_dir(), 'a.png', '--bogus')

@case('cli_uppercase_command', 'segcourse', "'segcourse PREDICT'", needle='usage')
def _(w): return cli_error('PREDICT', 'x')

@case('cli_predict_empty_input', 'segcourse predict', "an input '' (the current folder)", needle=('apart', "''", 'empty'))
def _(w): png('a.png'); return cli_error('predict', model_dir(), '', '--out', 'o')

@case('cli_predict_onnx_flag_folder', 'segcourse predict', '--onnx with a model folder', needle='model')
def _(w): png('a.png'); return cli_error('predict', model_dir(), 'a.png', '--onnx', '--out', 'o')

@case('cli_predict_onnx_ok', 'segcourse predict', 'an .onnx model on a 20x30 image', expect='ok')
def _(w):
    png('a.png', 20, 30); cli_ok('predict', onnx_file(), 'a.png', '--out', 'o'); want(np.array(Image.open('o/a.png')).shape == (20, 30), 'mask size')

@case('cli_predict_pickle_model', 'segcourse predict', 'a model.pkl pickle payload without --trust-pickle', needle='pickle')
def _(w): png('a.png'); torch.save({'x': Payload()}, 'model.pkl'); return cli_error('predict', 'model.pkl', 'a.png', '--out', 'o')

@case('cli_predict_truncated_input', 'segcourse predict', 'one truncated PNG among two inputs', needle='b.png')
def _(w):
    png('in/a.png'); png('in/b.png', 64, 64); b = Path('in/b.png').read_bytes(); Path('in/b.png').write_bytes(b[:len(b)//2])
    r = cli_error('predict', model_dir(), 'in', '--out', 'o'); want(Path('o/a.png').exists(), 'the good input was not segmented'); return r

@case('cli_predict_out_dash', 'segcourse predict', "--out '-' (a folder named '-')", expect='ok')
def _(w): png('a.png'); cli_ok('predict', model_dir(), 'a.png', '--out', '-'); want(Path('-/a.png').exists(), 'no mask')

@case('cli_predict_input_newline', 'segcourse predict', 'an input whose name holds a newline, run twice', expect='either', needle='a')
def _(w):
    png('a\nb.png'); m = model_dir(); cli_ok('predict', m, 'a\nb.png', '--out', 'o'); cli_ok('predict', m, 'a\nb.png', '--out', 'o')
    want(Path('o/a\nb.png').exists(), 'no mask')

@case('cli_predict_config_corrupt', 'segcourse predict', 'a model folder whose model.safetensors is garbage', needle='model.safetensors')
def _(w): p = model_dir(); (p/'model.safetensors').write_bytes(b'\x00' * 100); png('a.png'); return cli_error('predict', p, 'a.png', '--out', 'o')

# ---- O. the CLI: convert
def coco(root='coco', images=None, anns=None, cats=None, h=20, w=30, write_image=True):
    root = Path(root); (root/'annotations').mkdir(parents=True); (root/'train').mkdir()
    if write_image: png(root/'train'/'a.png', h, w)
    d = dict(images=images if images is not None else [dict(id=1, file_name='a.png', height=h, width=w)],
             categories=cats if cats is not None else [dict(id=1, name='car')],
             annotations=anns if anns is not None else [dict(id=7, image_id=1, category_id=1, iscrowd=0, segmentation=[[1, 1, 8, 1, 8, 8]])])
    (root/'annotations'/'instances_train.json').write_text(json.dumps(d)); return root

@case('cli_convert_no_args', 'segcourse convert', 'no arguments')
def _(w): return cli_error('convert')

@case('cli_convert_bogus_format', 'segcourse convert', "format 'yolo'", needle='yolo')
def _(w): Path('s').mkdir(); return cli_error('convert', 'yolo', 's', 'd')

@case('cli_convert_src_missing', 'segcourse convert', 'SRC does not exist', needle='nope')
def _(w): return cli_error('convert', 'coco', 'nope', 'd')

@case('coco_images_dict', 'segcourse convert coco', "'images' a dict, not a list", needle='instances_train.json')
def _(w): return cli_error('convert', 'coco', coco(images={'id': 1}), 'd')

@case('coco_negative_width', 'segcourse convert coco', 'an image of width -5', needle=('-5', 'size'))
def _(w): return cli_error('convert', 'coco', coco(images=[dict(id=1, file_name='a.png', height=20, width=-5)]), 'd')

@case('coco_duplicate_image_ids', 'segcourse convert coco', 'two images with the same id', needle=('id', 'twice', 'duplicate'))
def _(w):
    r = coco(images=[dict(id=1, file_name='a.png', height=20, width=30), dict(id=1, file_name='b.png', height=20, width=30)])
    png(r/'train'/'b.png', 20, 30); return cli_error('convert', 'coco', r, 'd')

@case('coco_toplevel_list', 'segcourse convert coco', 'the JSON is a list', needle='instances_train.json')
def _(w):
    r = coco(); (r/'annotations'/'instances_train.json').write_text('[]'); return cli_error('convert', 'coco', r, 'd')

@case('coco_polygon_strings', 'segcourse convert coco', 'polygon coordinates given as strings', expect='either', needle=('annotation', 'point', 'number'))
def _(w):
    cli_ok(either=True, *('convert', 'coco', coco(anns=[dict(id=7, image_id=1, category_id=1, iscrowd=0, segmentation=[['1', '1', '8', '1', '8', '8']])]), 'd'))
    m = np.array(Image.open('d/labels/a.png')); want((m == 1).sum() > 10, f"painted {(m == 1).sum()} px of the triangle")

@case('coco_duplicate_category_names', 'segcourse convert coco', "two category ids named 'car', one annotation of each", expect='either', needle=('car', 'twice', 'more than once'))
def _(w):
    anns = [dict(id=7, image_id=1, category_id=1, iscrowd=0, segmentation=[[1, 1, 8, 1, 8, 8]]), dict(id=8, image_id=1, category_id=2, iscrowd=0, segmentation=[[20, 10, 28, 10, 28, 18]])]
    cli_ok(either=True, *('convert', 'coco', coco(cats=[dict(id=1, name='car'), dict(id=2, name='car')], anns=anns), 'd'))
    codes = Path('d/codes.txt').read_text().split('\n'); m = np.array(Image.open('d/labels/a.png'))
    want(codes.count('car') == 1 and m[4, 6] == m[14, 26] == codes.index('car'), f"codes {codes}, pixels {m[4, 6]}, {m[14, 26]}")

@case('coco_empty_category_name', 'segcourse convert coco', "a category named ''", needle=('name', 'category'))
def _(w): return cli_error('convert', 'coco', coco(cats=[dict(id=1, name='')]), 'd')

@case('coco_gzip_json', 'segcourse convert coco', 'the annotation file is gzip data', needle='instances_train.json')
def _(w):
    import gzip
    r = coco(); f = r/'annotations'/'instances_train.json'; f.write_bytes(gzip.compress(f.read_bytes())); return cli_error('convert', 'coco', r, 'd')

@case('coco_image_symlink_out', 'segcourse convert coco', 'the image file a symlink to ../sentinel/secret.png', needle=('outside', 'secret'))
def _(w):
    r = coco(write_image=False); os.symlink(CTX['cdir']/'sentinel'/'secret.png', r/'train'/'a.png')
    res = cli_error('convert', 'coco', r, 'd')
    want(not any('secret' in str(o) or o.name == 'a.png' for o in Path('d').rglob('*') if 'images' in str(o)), 'copied the outside image')
    return res

@case('coco_crowd_bogus', 'segcourse convert coco', '--crowd bogus', needle='crowd')
def _(w): return cli_error('convert', 'coco', coco(), 'd', '--crowd', 'bogus')

@case('coco_file_name_newline', 'segcourse convert coco', 'a file_name holding a newline', expect='either', needle='name')
def _(w):
    r = coco(images=[dict(id=1, file_name='a\nb.png', height=20, width=30)], write_image=False); png(r/'train'/'a\nb.png', 20, 30)
    cli_ok(either=True, *('convert', 'coco', r, 'd')); want((Path('d')/'labels'/'a\nb.png').exists(), 'no label written')
    from segcourse.convert import read_split
    want(read_split('d', 'train') == ['a\nb'], f"the split file reads back as {read_split('d', 'train')}, not ['a\\nb']")

@case('coco_size_mismatch', 'segcourse convert coco', 'height/width in the JSON differ from the image file', needle=('a.png', 'size'))
def _(w): return cli_error('convert', 'coco', coco(images=[dict(id=1, file_name='a.png', height=40, width=60)]), 'd')

@case('coco_bbox_only', 'segcourse convert coco', 'an annotation with a bbox but no segmentation', expect='either', needle=('segmentation', 'annotation'))
def _(w):
    cli_ok(either=True, *('convert', 'coco', coco(anns=[dict(id=7, image_id=1, category_id=1, iscrowd=0, bbox=[1, 1, 5, 5])]), 'd'))
    want(np.array(Image.open('d/labels/a.png')).any(), 'the annotation painted nothing, without a word')

@case('coco_category_id_str', 'segcourse convert coco', "category ids as strings ('1')", expect='either', needle='category')
def _(w):
    cli_ok(either=True, *('convert', 'coco', coco(cats=[dict(id='1', name='car')], anns=[dict(id=7, image_id=1, category_id='1', iscrowd=0, segmentation=[[1, 1, 8, 1, 8, 8]])]), 'd'))
    want(np.array(Image.open('d/labels/a.png')).any(), 'nothing painted')

@case('cvat_billion_laughs', 'segcourse convert cvat', 'an XML entity expansion bomb', needle='annotations.xml')
def _(w):
    Path('s').mkdir(); ents = '<!ENTITY a0 "lol">' + ''.join(f'<!ENTITY a{i} "{("&a" + str(i-1) + ";") * 10}">' for i in range(1, 10))
    Path('s/annotations.xml').write_text(f'<?xml version="1.0"?><!DOCTYPE x [{ents}]><annotations><meta>&a9;</meta></annotations>')
    return cli_error('convert', 'cvat', 's', 'd')

@case('cvat_external_entity', 'segcourse convert cvat', 'an XML external entity naming ../sentinel/note.txt', needle='annotations.xml')
def _(w):
    Path('s').mkdir(); png('s/a.png', 24, 32)
    Path('s/annotations.xml').write_text(f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{CTX["cdir"]}/sentinel/note.txt">]>'
        '<annotations><image id="0" name="a.png" width="32" height="24"><box label="&e;" xtl="1" ytl="1" xbr="5" ybr="5"/></image></annotations>')
    r = cli_error('convert', 'cvat', 's', 'd')
    want(not (Path('d/codes.txt').exists() and 'sentinel' in Path('d/codes.txt').read_text()), 'entity contents leaked into codes.txt')
    return r

@case('cvat_width_text', 'segcourse convert cvat', 'an <image> with width="abc"', needle='width')
def _(w):
    Path('s').mkdir(); png('s/a.png', 24, 32)
    Path('s/annotations.xml').write_text('<annotations><image id="0" name="a.png" width="abc" height="24"><box label="car" xtl="1" ytl="1" xbr="5" ybr="5"/></image></annotations>')
    return cli_error('convert', 'cvat', 's', 'd')

@case('cvat_no_name', 'segcourse convert cvat', 'an <image> without a name', needle=('name', 'annotations.xml'))
def _(w):
    Path('s').mkdir()
    Path('s/annotations.xml').write_text('<annotations><image id="0" width="32" height="24"><box label="car" xtl="1" ytl="1" xbr="5" ybr="5"/></image></annotations>')
    return cli_error('convert', 'cvat', 's', 'd')

@case('cvat_points_malformed', 'segcourse convert cvat', 'polygon points "1,2;3"', needle=('points', 'annotations.xml'))
def _(w):
    Path('s').mkdir(); png('s/a.png', 24, 32)
    Path('s/annotations.xml').write_text('<annotations><image id="0" name="a.png" width="32" height="24"><polygon label="car" points="1,2;3" z_order="0"/></image></annotations>')
    return cli_error('convert', 'cvat', 's', 'd')

@case('cvat_label_not_in_meta', 'segcourse convert cvat', 'a shape whose label is not in <meta>', needle=('truck', 'label'))
def _(w):
    Path('s').mkdir(); png('s/a.png', 24, 32)
    Path('s/annotations.xml').write_text('<annotations><meta><task><labels><label><name>car</name></label></labels></task></meta>'
        '<image id="0" name="a.png" width="32" height="24"><box label="truck" xtl="1" ytl="1" xbr="5" ybr="5"/></image></annotations>')
    return cli_error('convert', 'cvat', 's', 'd')

@case('cvat_truncated', 'segcourse convert cvat', 'an annotations.xml cut in the middle', needle='annotations.xml')
def _(w):
    Path('s').mkdir(); Path('s/annotations.xml').write_text('<annotations><image id="0" name="a.png" width="32" heig'); return cli_error('convert', 'cvat', 's', 'd')

@case('cvat_ellipse_negative', 'segcourse convert cvat', 'an ellipse with rx=-5', needle=('ellipse', 'r'))
def _(w):
    Path('s').mkdir(); png('s/a.png', 24, 32)
    Path('s/annotations.xml').write_text('<annotations><image id="0" name="a.png" width="32" height="24"><ellipse label="car" cx="10" cy="10" rx="-5" ry="3"/></image></annotations>')
    code,out,err = cli('convert', 'cvat', 's', 'd')
    if 'Traceback' in err: raise CliTraceback(err.strip().splitlines()[-1])
    if code: return ('clear error', err.strip().splitlines()[-1][:300])
    raise Wrong(f"accepted rx=-5: painted {int((np.array(Image.open('d/labels/a.png')) == 1).sum())} px")

@case('cvat_label_missing_attr', 'segcourse convert cvat', 'a <box> without a label attribute', needle=('label', 'annotations.xml'))
def _(w):
    Path('s').mkdir(); png('s/a.png', 24, 32)
    Path('s/annotations.xml').write_text('<annotations><image id="0" name="a.png" width="32" height="24"><box xtl="1" ytl="1" xbr="5" ybr="5"/></image></annotations>')
    return cli_error('convert', 'cvat', 's', 'd')

def labelme(folder='lm', name='a', shapes=(), h=24, w=32, image_path=None, image_data=None, image=True, **extra):
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    if image: png(folder/f'{name}.png', h, w)
    js = [dict(label=l, points=p, shape_type=t, group_id=None, flags={}) for l,t,p in shapes]
    d = dict(version='5.5.0', shapes=js, imagePath=image_path or f'{name}.png', imageHeight=h, imageWidth=w, imageData=image_data) | extra
    (folder/f'{name}.json').write_text(json.dumps(d)); return folder

@case('labelme_circle_one_point', 'segcourse convert labelme', 'a circle with one point', needle=('circle', 'point'))
def _(w): return cli_error('convert', 'labelme', labelme(shapes=[('car', 'circle', [[5, 5]])]), 'd')

@case('labelme_height_mismatch', 'segcourse convert labelme', 'imageHeight/Width differ from the image file', needle=('a.png', 'size', 'a.json'))
def _(w):
    r = labelme(shapes=[('car', 'polygon', [[1, 1], [8, 1], [8, 8]])]); d = json.loads((r/'a.json').read_text())
    d['imageHeight'],d['imageWidth'] = 48, 64; (r/'a.json').write_text(json.dumps(d)); return cli_error('convert', 'labelme', r, 'd')

@case('labelme_imagedata_bad_b64', 'segcourse convert labelme', 'imageData that is not base64', needle='a.json')
def _(w): return cli_error('convert', 'labelme', labelme(shapes=[('car', 'polygon', [[1, 1], [8, 1], [8, 8]])], image=False, image_data='!!!notbase64'), 'd')

@case('labelme_imagedata_not_image', 'segcourse convert labelme', 'imageData = base64 of text', needle='a.json')
def _(w):
    return cli_error('convert', 'labelme', labelme(shapes=[('car', 'polygon', [[1, 1], [8, 1], [8, 8]])], image=False, image_data=base64.b64encode(b'hello').decode()), 'd')

@case('labelme_shapes_dict', 'segcourse convert labelme', "'shapes' a dict", needle='a.json')
def _(w):
    r = labelme(); d = json.loads((r/'a.json').read_text()); d['shapes'] = {'a': 1}; (r/'a.json').write_text(json.dumps(d))
    return cli_error('convert', 'labelme', r, 'd')

@case('labelme_label_int', 'segcourse convert labelme', 'a shape label 123 (a number)', needle=('123', 'label'))
def _(w): return cli_error('convert', 'labelme', labelme(shapes=[(123, 'polygon', [[1, 1], [8, 1], [8, 8]])]), 'd')

@case('labelme_bom', 'segcourse convert labelme', 'a LabelMe JSON with a BOM', expect='either', needle='a.json')
def _(w):
    r = labelme(shapes=[('car', 'polygon', [[1, 1], [8, 1], [8, 8]])]); t = (r/'a.json').read_text(); (r/'a.json').write_text('\ufeff' + t, encoding='utf-8')
    cli_ok(either=True, *('convert', 'labelme', r, 'd')); want(np.array(Image.open('d/labels/a.png')).any(), 'nothing painted')

@case('labelme_imagepath_dir', 'segcourse convert labelme', 'imagePath naming a folder', needle=('sub', 'a.json'))
def _(w):
    r = labelme(shapes=[('car', 'polygon', [[1, 1], [8, 1], [8, 8]])], image=False, image_path='sub'); (r/'sub').mkdir()
    return cli_error('convert', 'labelme', r, 'd')

@case('labelme_classes_missing_label', 'segcourse convert labelme', '--classes without a label that is used', needle=('truck', 'classes'))
def _(w):
    Path('cls.txt').write_text('car\n')
    return cli_error('convert', 'labelme', labelme(shapes=[('truck', 'polygon', [[1, 1], [8, 1], [8, 8]])]), 'd', '--classes', 'cls.txt')

@case('labelme_rectangle_3pts', 'segcourse convert labelme', 'a rectangle with 3 points', needle=('rectangle', 'point'))
def _(w): return cli_error('convert', 'labelme', labelme(shapes=[('car', 'rectangle', [[1, 1], [8, 8], [3, 3]])]), 'd')

@case('labelme_linestrip', 'segcourse convert labelme', "a 'linestrip' shape", expect='either', needle=('linestrip',))
def _(w):
    cli_ok(either=True, *('convert', 'labelme', labelme(shapes=[('car', 'linestrip', [[1, 1], [8, 1], [8, 8]])]), 'd'))
    want(np.array(Image.open('d/labels/a.png')).any(), 'nothing painted')

@case('labelme_classes_utf16', 'segcourse convert labelme', '--classes file in UTF-16', needle='cls.txt')
def _(w):
    Path('cls.txt').write_text('car\n', encoding='utf-16')
    return cli_error('convert', 'labelme', labelme(shapes=[('car', 'polygon', [[1, 1], [8, 1], [8, 8]])]), 'd', '--classes', 'cls.txt')

@case('labelme_classes_dir', 'segcourse convert labelme', '--classes a folder', needle='cls')
def _(w):
    Path('cls').mkdir(); return cli_error('convert', 'labelme', labelme(shapes=[('car', 'polygon', [[1, 1], [8, 1], [8, 8]])]), 'd', '--classes', 'cls')

@case('labelme_dest_symlink', 'segcourse convert labelme', 'DEST a symlink to a folder outside', needle='symlink')
def _(w):
    os.symlink(CTX['cdir']/'sentinel', 'd'); return cli_error('convert', 'labelme', labelme(shapes=[('car', 'polygon', [[1, 1], [8, 1], [8, 8]])]), 'd')

@case('labelme_points_not_list', 'segcourse convert labelme', "points 'abc' (a string)", needle=('points', 'a.json'))
def _(w): return cli_error('convert', 'labelme', labelme(shapes=[('car', 'polygon', 'abc')]), 'd')

@case('voc_convert_mask_size', 'segcourse convert voc', 'a SegmentationClass mask of another size than its JPEG', needle=('2007_000000', 'size'))
def _(w):
    r = make_voc_like('v', n=4, size=(32, 32)); f = r/'SegmentationClass/2007_000000.png'; Image.open(f).resize((16, 16)).save(f)
    return cli_error('convert', 'voc', r, 'd')

@case('voc_convert_no_imagesets', 'segcourse convert voc', 'a VOC folder without ImageSets/', expect='either', needle=('ImageSets', 'split'))
def _(w):
    r = make_voc_like('v', n=4, size=(32, 32)); shutil.rmtree(r/'ImageSets'); cli_ok(either=True, *('convert', 'voc', r, 'd'))
    want(len(list(Path('d/labels').glob('*.png'))) == 4, 'labels')

@case('voc_convert_rgb_mask', 'segcourse convert voc', 'a VOC mask saved as RGB', needle=('2007_000000', 'colour'))
def _(w):
    r = make_voc_like('v', n=4, size=(32, 32)); f = r/'SegmentationClass/2007_000000.png'; Image.open(f).convert('RGB').save(f)
    return cli_error('convert', 'voc', r, 'd')

@case('cityscapes_convert_empty', 'segcourse convert cityscapes', 'an empty folder', needle=('cs', 'leftImg8bit'))
def _(w): Path('cs').mkdir(); return cli_error('convert', 'cityscapes', 'cs', 'd')

def sly(root='sly', objects=(), size=(24, 32), meta=None, image=True):
    root = Path(root)
    for o in ('ds/img', 'ds/ann'): (root/o).mkdir(parents=True, exist_ok=True)
    if image: png(root/'ds/img/a.png', *size)
    (root/'ds/ann/a.png.json').write_text(json.dumps(dict(size=dict(height=size[0], width=size[1]), objects=list(objects))))
    if meta is not None: (root/'meta.json').write_text(meta if isinstance(meta, str) else json.dumps(meta))
    return root

POLY = dict(classTitle='car', geometryType='polygon', points=dict(exterior=[[1, 1], [8, 1], [8, 8]], interior=[]))

@case('sly_meta_garbage', 'segcourse convert supervisely', 'meta.json not JSON', needle='meta.json')
def _(w): return cli_error('convert', 'supervisely', sly(objects=[POLY], meta='{nope'), 'd')

@case('sly_height_zero', 'segcourse convert supervisely', "size.height 0", needle=('a.png.json', 'size'))
def _(w):
    r = sly(objects=[POLY]); f = r/'ds/ann/a.png.json'; d = json.loads(f.read_text()); d['size']['height'] = 0; f.write_text(json.dumps(d))
    return cli_error('convert', 'supervisely', r, 'd')

@case('sly_class_not_in_meta', 'segcourse convert supervisely', 'an object of a class not in meta.json', needle=('car', 'class'))
def _(w): return cli_error('convert', 'supervisely', sly(objects=[POLY], meta=dict(classes=[dict(title='person', shape='polygon')])), 'd')

@case('sly_rectangle_one_point', 'segcourse convert supervisely', 'a rectangle with one point', needle=('rectangle', 'point', 'a.png.json'))
def _(w):
    o = dict(classTitle='car', geometryType='rectangle', points=dict(exterior=[[1, 1]], interior=[]))
    return cli_error('convert', 'supervisely', sly(objects=[o]), 'd')

@case('sly_image_missing', 'segcourse convert supervisely', 'an annotation whose image is missing', needle='a.png')
def _(w): return cli_error('convert', 'supervisely', sly(objects=[POLY], image=False), 'd')

@case('sly_size_string', 'segcourse convert supervisely', "size.width '32' (a string)", needle=('size', 'a.png.json'))
def _(w):
    r = sly(objects=[POLY]); f = r/'ds/ann/a.png.json'; d = json.loads(f.read_text()); d['size']['width'] = '32'; f.write_text(json.dumps(d))
    return cli_error('convert', 'supervisely', r, 'd')

@case('sly_bitmap_origin_negative', 'segcourse convert supervisely', 'a bitmap at origin (-1000000, -1000000)', expect='either', needle=('origin', 'outside'))
def _(w):
    b = io.BytesIO(); Image.fromarray(np.full((4, 4), 255, np.uint8)).save(b, format='PNG')
    o = dict(classTitle='car', geometryType='bitmap', bitmap=dict(origin=[-1000000, -1000000], data=base64.b64encode(zlib.compress(b.getvalue())).decode()))
    cli_ok(either=True, *('convert', 'supervisely', sly(objects=[o]), 'd')); want(not np.array(Image.open('d/labels/a.png')).any(), 'painted pixels')

@case('sly_objects_not_list', 'segcourse convert supervisely', "'objects' a string", needle='a.png.json')
def _(w):
    r = sly(); f = r/'ds/ann/a.png.json'; d = json.loads(f.read_text()); d['objects'] = 'abc'; f.write_text(json.dumps(d))
    return cli_error('convert', 'supervisely', r, 'd')

# ---- P. the CLI: demo (argument checks only)
@case('cli_demo_epochs_text', 'segcourse demo', '--epochs abc')
def _(w): return cli_error('demo', '--epochs', 'abc')

@case('cli_demo_bs_float', 'segcourse demo', '--bs 2.5')
def _(w): return cli_error('demo', '--bs', '2.5')

@case('cli_demo_bogus_flag', 'segcourse demo', 'an unknown option --size 64')
def _(w): return cli_error('demo', '--size', '64')

@case('cli_demo_positional', 'segcourse demo', 'an extra positional argument')
def _(w): return cli_error('demo', 'extra')

@case('cli_no_command', 'segcourse', 'no command at all', needle='usage')
def _(w): return cli_error()

# =============================================================================================== RUNNER
FIX = None; MODEL = None; DLS = None; ONNX_CFG = None

def build_fixtures(base:Path):
    "A tiny model folder, its ONNX export and DataLoaders, made once in the parent (children share them by fork)"
    global FIX, MODEL, DLS, ONNX_CFG
    FIX = base/'fixtures'; FIX.mkdir(parents=True)
    m = SegModel('unet', 'resnet18', 'name', None, 3, 3, CODES, None, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], (32, 32))
    save_model_folder(m, FIX/'model')
    MODEL = load_model_folder(FIX/'model')
    export_onnx(MODEL, FIX/'m.onnx')
    ONNX_CFG = json.loads((FIX/'model'/'config.json').read_text())
    cwd = os.getcwd(); os.chdir(FIX)
    try:
        i,mk = dataset(FIX/'ds')
        DLS = folder_dls(i, mk, CODES, bs=2, valid_pct=0.34, batch_tfms=[])
    finally: os.chdir(cwd)

BOOK = ('work', 'sentinel', 'log.txt', 'result.json', 'protect.json')

def outside_state(cdir:Path):
    "Everything in the case folder except its work folder and our own notes"
    return {str(o.relative_to(cdir)): tree_hash(o) for o in sorted(cdir.rglob('*'))
            if not o.relative_to(cdir).parts[0] in ('work', 'log.txt', 'result.json', 'protect.json') and (o.is_file() or o.is_symlink())}

def child(c, cdir:Path):
    "In the forked child: limits, folder, run, classify; the result goes to result.json"
    os.setpgid(0, 0)
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    log = os.open(cdir/'log.txt', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1); os.dup2(log, 2)
    sys.stdout = io.TextIOWrapper(os.fdopen(1, 'wb', closefd=False), line_buffering=True)
    sys.stderr = io.TextIOWrapper(os.fdopen(2, 'wb', closefd=False), line_buffering=True)
    work = cdir/'work'; os.chdir(work)
    CTX.update(cdir=cdir, work=work, protect={}, needle=c['needle'])
    res = dict(raised=None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            r = c['fn'](work)
        if isinstance(r, tuple) and len(r) == 2 and r[0] in ('clear error', 'unclear error', 'correct', 'silently wrong'):
            res.update(outcome=r[0], detail=str(r[1])[:400])
        elif c['expect'] == 'error': res.update(outcome='silently wrong', detail=f"no error; returned {type(r).__name__}: {repr(r)[:200]}")
        else: res.update(outcome='correct', detail='checked')
    except BaseException as e:
        out,detail = classify_exc(ValueError(str(e)) if isinstance(e, Refused) else e, c['needle'])
        if isinstance(e, (SystemExit, KeyboardInterrupt)): out,detail = 'traceback', f"{type(e).__name__}: {e}"
        tb = traceback.extract_tb(e.__traceback__)
        where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ''
        res.update(outcome=out, detail=detail[:400], where=where)
    (cdir/'result.json').write_text(json.dumps(res))
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(0)

def run_case(c, base:Path):
    cdir = base/c['id']; (cdir/'work').mkdir(parents=True); (cdir/'sentinel').mkdir()
    png(cdir/'sentinel'/'secret.png', 20, 30, 5); (cdir/'sentinel'/'note.txt').write_text('a user file beside the work folder')
    before = outside_state(cdir)
    t0 = time.time()
    pid = os.fork()
    if pid == 0:
        try: child(c, cdir)
        finally: os._exit(3)
    status,hung = None,False
    while True:
        p,st = os.waitpid(pid, os.WNOHANG)
        if p: status = st; break
        if time.time() - t0 > TIMEOUT:
            hung = True
            try: os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError: pass
            os.waitpid(pid, 0); break
        time.sleep(0.05)
    secs = time.time() - t0
    rf = cdir/'result.json'
    res = json.loads(rf.read_text()) if rf.exists() else {}
    if hung: res = dict(outcome='hang', detail=f"killed after {TIMEOUT} s")
    elif not res:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        tail = (cdir/'log.txt').read_text(errors='replace').strip().splitlines()[-1:] if (cdir/'log.txt').exists() else []
        res = dict(outcome='traceback', detail=f"child died (signal {sig}, status {status}): {tail[0][:200] if tail else ''}")
    notes = []
    after = outside_state(cdir)
    if after != before:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        notes.append(('outside write', f"changed outside the work folder: {changed[:5]}"))
    if any(o.name == 'PWNED' for o in cdir.rglob('PWNED')): notes.append(('code execution', 'a payload ran (PWNED written)'))
    pf = cdir/'protect.json'
    if pf.exists():
        lost = [k for k,v in json.loads(pf.read_text()).items() if tree_hash(k) != v]
        if lost: notes.append(('loss', f"user file(s) changed or removed: {lost[:3]}"))
    for cls in ('code execution', 'outside write', 'loss'):
        for k,d in notes:
            if k == cls and res.get('outcome') != cls: res = dict(outcome=k, detail=d + ' | ' + res.get('outcome', '') + ': ' + res.get('detail', ''))
    good = res['outcome'] in GOOD[c['expect']]
    if not good and c['expect'] == 'ok' and res['outcome'] == 'clear error': res['outcome'] = 'refused'
    return dict(id=c['id'], surface=c['surface'], what=c['what'], expect=c['expect'], outcome=res['outcome'], good=good,
                detail=res.get('detail', ''), where=res.get('where', ''), seconds=round(secs, 2))

CLASSES = ('clear error', 'correct', 'silently wrong', 'traceback', 'unclear error', 'refused', 'hang', 'loss', 'outside write', 'code execution')

def summary(rows, seconds=None):
    "Counts per class and the cases whose outcome is not the expected good one"
    counts = {}
    for r in rows: counts[r['outcome']] = counts.get(r['outcome'], 0) + 1
    took = f" in {seconds:.0f} s" if seconds is not None else ''
    print(f"\n{len(rows)} cases{took}; good (the expected outcome): {sum(r['good'] for r in rows)}")
    for k in CLASSES: print(f"  {k:15} {counts.get(k, 0)}")
    bad = [r for r in rows if not r['good']]
    print(f"\n{len(bad)} not good:")
    for r in bad: print(f"  {r['id']} [{r['surface']}] {r['what']} -> {r['outcome']}: {r['detail'][:200]}")

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='audit_round4.jsonl', help='JSONL file of per-case results')
    ap.add_argument('--only', default='', help='comma-separated case ids')
    ap.add_argument('--list', action='store_true', help='list the cases and exit')
    ap.add_argument('--keep', action='store_true', help='keep the temporary folders')
    ap.add_argument('--summary', nargs='+', metavar='JSONL', help='print the counts of result files (joined) and exit')
    a = ap.parse_args()
    if a.summary: return summary([json.loads(l) for f in a.summary for l in open(f) if l.strip()])
    if a.list:
        for c in CASES: print(f"{c['id']:36} {c['expect']:6} {c['surface']:28} {c['what']}")
        print(len(CASES), 'cases'); return
    cases = [c for c in CASES if not a.only or c['id'] in a.only.split(',')]
    base = Path(tempfile.mkdtemp(prefix='audit_round4_'))
    print(f"segcourse {getattr(segcourse, '__version__', '?')} from {Path(segcourse.__file__).parent}; {len(cases)} cases in {base}", flush=True)
    t0 = time.time(); build_fixtures(base)
    print(f"fixtures in {time.time()-t0:.0f} s", flush=True)
    rows = []
    with open(a.out, 'w') as f:
        for k,c in enumerate(cases, 1):
            r = run_case(c, base); rows.append(r)
            f.write(json.dumps(r, ensure_ascii=False) + '\n'); f.flush()
            mark = ' ' if r['good'] else '!'
            print(f"{mark} {k:3}/{len(cases)} {r['id']:36} {r['outcome']:15} {r['seconds']:5.1f}s  {r['detail'][:110]!r}", flush=True)
            if not a.keep: shutil.rmtree(base/c['id'], ignore_errors=True)
    summary(rows, time.time() - t0)
    if not a.keep: shutil.rmtree(base, ignore_errors=True)

if __name__ == '__main__': main()
