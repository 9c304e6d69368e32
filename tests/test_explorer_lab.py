"""The explorer of a model's mistakes (`segcourse.explorer.explore`) as a student meets it in JupyterLab: a notebook that
explores a tiny randomly initialised model on generated frames (nothing trained: it runs in seconds), run through the
page in headless Chromium; the widget must appear, and pressing its 'better' button must show the next frame.
Saves a screenshot to `_lab_check/explorer.png` for a person to look at. JupyterLab and Chromium as in `test_lab.py`."""
import base64, json, time
import pytest
from test_docs_site import Browser
from test_lab import pytestmark, serve_lab, open_and_run, _wait, NB_JS, CHECK, ROOT  # noqa: F401 (pytestmark: the same skips)

NB = 'explorer.ipynb'
CELLS = [
    "import tempfile, warnings\nwarnings.simplefilter('ignore')\nfrom pathlib import Path\n"
    "from segcourse.generated import make_camvid_tiny\nfrom segcourse.loaders import folder_dls\n"
    "from segcourse.learner import seg_learner\nfrom segcourse.explorer import explore",
    "tiny = make_camvid_tiny(Path(tempfile.mkdtemp())/'tiny', n=8)\n"
    "dls = folder_dls(tiny/'images', tiny/'labels', tiny/'codes.txt', mask_suffix='_P', bs=2, num_workers=0,\n"
    "                 valid_groups=['0006R0'], batch_tfms=[], check=False)\n"
    "learn = seg_learner(dls, arch='naive')  # random weights: wrong nearly everywhere",
    "ex = explore(learn, figsize=(12, 2.6))\nex",
]

@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "A JupyterLab server on a notebook of the explorer: (url, token)"
    cells = [dict(cell_type='code', execution_count=None, metadata={}, outputs=[], source=c) for c in CELLS]
    yield from serve_lab(tmp_path_factory.mktemp('lab'), NB, dict(cells=cells, nbformat=4, nbformat_minor=5, metadata={}))

TITLE = "([...document.querySelectorAll('.widget-html-content')].map(e => e.innerText).find(t => t.includes('from the worst by')) || '')"
IMAGE = "((document.querySelector('img.widget-image') || {}).src || '')"

def test_explorer_in_lab(lab, tmp_path):
    url, token = lab
    b = Browser(tmp_path/'chromium', timeout=300)
    try:
        state = open_and_run(b, url, token, NB, len(CELLS), height=1100)
        assert state == 'done', state
        first = _wait(b, f"{TITLE}.includes('number 1 of') && {IMAGE}.length > 0 && {TITLE}", "the explorer widget to show its first frame")
        src = b.js(IMAGE)
        clicked = b.js("(() => { const k = [...document.querySelectorAll('button')].find(e => e.innerText.trim() == 'better'); if (k) k.click(); return !!k; })()")
        assert clicked, "no 'better' button in the page"
        second = _wait(b, f"{TITLE}.includes('number 2 of') && {IMAGE} != {json.dumps(src)} && {TITLE}", "the next frame after pressing 'better'", timeout=300)
        time.sleep(1)
        CHECK.mkdir(exist_ok=True)
        (CHECK/'explorer.png').write_bytes(base64.b64decode(b.call('Page.captureScreenshot', page=True, format='png')['data']))
        cells = b.js(f"[...Array({len(CELLS)}).keys()].map(i => {NB_JS}.content.model.cells.get(i).toJSON())")
        errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i,c in enumerate(cells) for o in c.get('outputs', []) if o['output_type'] == 'error']
        assert not errors, '\n'.join(errors)
        assert first.split(':')[0] != second.split(':')[0], (first, second)  # another frame's name
    finally:
        b.close()
