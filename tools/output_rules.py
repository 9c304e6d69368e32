"""What a committed notebook output must not hold, and how `tools/keep_outputs.py` scrubs it.

One list of rules for both: `tests/test_notebook_outputs.py` fails on what `output_problems` finds, and `scrub` removes
the same things (stderr, progress bars, offline banners) or rewrites them (machine paths become relative)."""
import re, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# fastprogress's text bar (`|████---| 40.00% [2/5 00:01<00:02]`), carriage returns, and its HTML <progress> element
BAR = re.compile(r'█|\r(?!\n)|\|-{4,}|\d+\.\d+% \[\d+/\d+|<progress[\s>]|progress::|table\.fastprogress')
# An absolute path of the machine that ran the notebook (not the end of a URL: no word character, '.', ':' or '/' before it)
MACHINE_PATH = re.compile(r'(?<![\w.:/~-])/(?:work|root|tmp|home|Users|var/folders)/')
# A Python warning printed on stdout (e.g. a subprocess's stderr), and the source line Python prints under it
WARNING = re.compile(r'\b[A-Z]\w*Warning: |^\s*warnings\.warn\(', re.M)
# `segcourse.core.loud_warning`'s banner
BANNER = re.compile(r'OFFLINE|!!!!')

def _text(o:dict)->str:
    if o['output_type'] == 'stream': t = o.get('text', '')
    else: t = [v for k,v in o.get('data', {}).items() if k.startswith('text/') or k.endswith('json')]
    return ''.join(''.join(x) if isinstance(x, list) else str(x) for x in (t if isinstance(t, list) else [t]))

def output_problems(o:dict)->list:
    "What is wrong with one notebook output, as short phrases (empty when it is fine)"
    if o['output_type'] == 'error': return [f"an error output ({o.get('ename')}: {o.get('evalue')})"]
    if o['output_type'] == 'stream' and o.get('name') == 'stderr': return [f"stderr output: {_text(o)[:120]!r}"]
    text, out = _text(o), []
    for name, rx in (('progress bar', BAR), ('machine path', MACHINE_PATH), ('offline banner', BANNER), ('warning', WARNING)):
        if m := rx.search(text): out.append(f"{name} text: {text[max(0, m.start()-40):m.end()+60]!r}")
    return out

def _relative(s:str)->str:
    "Paths of this machine written as a reader's: the venv as `.venv`, the checkout as `.`, home as `~`, the temp folder as `$TMPDIR`"
    for p, r in ((Path(sys.prefix), '.venv'), (ROOT, '.'), (Path.home(), '~'), (Path(tempfile.gettempdir()), '$TMPDIR')):
        s = re.sub(re.escape(str(p)) + r'(?=/|\b)', r, s)
    return s

def scrub(o:dict):
    "The output without stderr, progress-bar, banner and warning lines, machine paths made relative; None when nothing is left"
    if o['output_type'] == 'stream':
        if o.get('name') == 'stderr': return None
        text = _relative(_text(o))
        lines = [l for l in text.splitlines(keepends=True) if not any(rx.search(l) for rx in (BAR, BANNER, WARNING))]
        return {**o, 'text': lines} if ''.join(lines).strip() else None
    if o['output_type'] == 'error': return o
    data = {}
    for k, v in o.get('data', {}).items():
        if k.startswith('text/'):
            v = _relative(''.join(v) if isinstance(v, list) else v)
            if k == 'text/html' and (BAR.search(v) or not v.strip()): continue
        data[k] = v
    if list(data) == ['text/plain'] and data['text/plain'].startswith('<IPython.core.display.HTML object>'): return None  # its HTML was a bar
    if not data: return None
    return {**o, 'data': data}
