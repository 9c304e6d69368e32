"""Run notebooks with `nbdev-test --save` and keep what a reader of the docs site needs from their outputs.

Kept: figures (PNG, scaled down to be shown at most --max-width pixels wide; a 'retina' figure keeps twice the pixels), tables and values, printed lines. Dropped:
stderr (warnings), progress-bar lines, offline-banner lines, and outputs of `#| hide` cells; paths of this machine
become relative (`tools/output_rules.py`, the rules `tests/test_notebook_outputs.py` checks). Then `nbdev-clean`.
Usage, from the root:

    .venv/bin/python tools/keep_outputs.py nbs/12_report.ipynb nbs/11_recipe.ipynb [--max-width 700] [--no-run] [--flags slow]

`--no-run` scrubs the outputs a notebook already has, without running it.
"""
import argparse, base64, io, json, os, re, subprocess, sys
from pathlib import Path
from PIL import Image
sys.path.insert(0, str(Path(__file__).resolve().parent))
from output_rules import scrub

def _small_png(b64:str, max_width:int, shown:int|None=None)->tuple:
    """The PNG scaled down so that it is *shown* at most `max_width` pixels wide, re-encoded with a palette when that is
    smaller, and the (width, height) to show it at. A 'retina' figure (`shown`, from its metadata, is half its pixel
    width) keeps its twice-as-many pixels, so it stays sharp."""
    im = Image.open(io.BytesIO(base64.b64decode(b64)))
    shown = shown or im.width
    scale = min(1, max_width/shown)
    size = (round(shown*scale), round(im.height*shown/im.width*scale))
    if scale < 1: im = im.resize((round(im.width*scale), round(im.height*scale)), Image.LANCZOS)
    out = []
    for o in (im, palette_image(im)):
        buf = io.BytesIO(); o.save(buf, 'PNG', optimize=True); out.append(buf.getvalue())
    return base64.b64encode(min(out, key=len)).decode(), size

def palette_image(im:Image.Image, n_exact:int=96)->Image.Image:
    """`im` with a palette of 256 colours in which its `n_exact` commonest colours stay exact: the flat areas of a figure
    (class colours of masks and legends, white, text) keep the course's palette; only a photo's many shades are rounded"""
    rgb = im.convert('RGB')
    colours = rgb.getcolors(rgb.width*rgb.height)  # [(count, (r, g, b))]
    if len(colours) <= 256: keep = [c for _,c in colours]
    else:
        keep = [c for _,c in sorted(colours, reverse=True)[:n_exact]]
        rest = rgb.quantize(256 - len(keep)).getpalette()[:3*(256 - len(keep))]
        keep += [tuple(rest[i:i+3]) for i in range(0, len(rest), 3)]
    pal = Image.new('P', (1, 1)); pal.putpalette([v for c in keep for v in c] + [0]*3*(256 - len(keep)))
    return rgb.quantize(palette=pal, dither=Image.Dither.NONE)

def _keep(output:dict, max_width:int):
    "The output as the docs need it, or None to drop it"
    if output['output_type'] == 'error': raise SystemExit("a notebook saved an error output: fix it first")
    output = scrub(output)
    if output is None or output['output_type'] == 'stream': return output
    data = output.get('data', {})
    if 'image/png' in data:
        meta = output.get('metadata', {}).get('image/png', {})
        data['image/png'],(w,h) = _small_png(data['image/png'], max_width, meta.get('width'))
        if meta.get('width'): output['metadata']['image/png'] = {**meta, 'width': w, 'height': h}
    return output

FOLDED = re.compile(r'^#\|\s*code-fold:\s*true\s*$', re.M)  # a solution: folded on the docs site

def collapse_solutions(nb:dict)->int:
    "Collapse in JupyterLab (`jupyter.source_hidden`) every cell the docs site folds; how many were not yet"
    n = 0
    for c in nb['cells']:
        if c['cell_type'] == 'code' and FOLDED.search(''.join(c['source'])) and not c['metadata'].get('jupyter', {}).get('source_hidden'):
            c['metadata'].setdefault('jupyter', {})['source_hidden'] = True; n += 1
    return n

def tidy(nb_path:Path, max_width:int=700):
    "Filter the outputs of every code cell of `nb_path` in place; solutions stay collapsed"
    nb = json.loads(nb_path.read_text())
    collapse_solutions(nb)
    for c in nb['cells']:
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        if re.search(r'^#\|\s*hide\s*$', src, re.M): c['outputs'] = []; continue
        c['outputs'] = [o for o in (_keep(o, max_width) for o in c.get('outputs', [])) if o is not None]
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='+', type=Path)
    p.add_argument('--max-width', type=int, default=700)
    p.add_argument('--no-run', action='store_true', help="only scrub the outputs the notebooks already have")
    p.add_argument('--flags', default='', help="run the cells with these flags too, e.g. 'slow' (their outputs are kept)")
    a = p.parse_args()
    bin_ = Path(sys.executable).parent
    for nb in a.notebooks:
        # execnb runs the cells on a thread of its own; MALLOC_ARENA_MAX=1 serves it from the main heap, as a Jupyter kernel's
        # main thread is, so that `keep_freed_memory()` (09_learner) times the same there
        env = {**os.environ, 'MALLOC_ARENA_MAX': os.environ.get('MALLOC_ARENA_MAX', '1')}
        if not a.no_run: subprocess.run([bin_/'nbdev-test', '--save', '--cell-timeout', '7200', *(['--flags', a.flags] if a.flags else []), str(nb)],
                                        check=True, env=env)
        tidy(nb, a.max_width)
        subprocess.run([bin_/'nbdev-clean', '--fname', str(nb)], check=True)
        print(f"{nb}: {nb.stat().st_size/1024:.0f} KiB with outputs", file=sys.stderr)
