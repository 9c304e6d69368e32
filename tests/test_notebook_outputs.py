"""Every committed notebook's outputs are what a student should see: no progress-bar text, no stderr or warnings, no
paths of the machine that ran it, no offline banner. `tools/keep_outputs.py` scrubs the same things (one list of
patterns, `tools/output_rules.py`), so re-running a notebook through it makes this test pass."""
import json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
from output_rules import output_problems

NOTEBOOKS = sorted((ROOT/'nbs').rglob('*.ipynb'))

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_clean(nb):
    cells = json.loads(nb.read_text())['cells']
    problems = [f"cell {i}: {p}" for i,c in enumerate(cells) if c['cell_type'] == 'code'
                for o in c.get('outputs', []) for p in output_problems(o)]
    assert not problems, (f"{nb.relative_to(ROOT)} has outputs a student should not see (re-run it with "
                          f"`.venv/bin/python tools/keep_outputs.py {nb.relative_to(ROOT)}`):\n" + '\n'.join(problems))

@pytest.mark.parametrize('output, why', [
    ({'output_type': 'stream', 'name': 'stderr', 'text': 'UserWarning: x\n'}, 'stderr'),
    ({'output_type': 'stream', 'name': 'stdout', 'text': ' |████----| 40.00% [2/5 00:01<00:02]\r'}, 'progress bar'),
    ({'output_type': 'stream', 'name': 'stdout', 'text': 'saved to /work/main/x.png\n'}, 'machine path'),
    ({'output_type': 'execute_result', 'data': {'text/plain': "Path('/root/.fastai/data/x')"}}, 'machine path'),
    ({'output_type': 'stream', 'name': 'stdout', 'text': 'OFFLINE: could not get CamVid\n'}, 'offline banner'),
    ({'output_type': 'stream', 'name': 'stdout', 'text': '!!!!!!!!!!!!\n'}, 'offline banner'),
    ({'output_type': 'stream', 'name': 'stdout', 'text': 'x.py:3: FutureWarning: deprecated\n  warnings.warn(\n'}, 'warning'),
    ({'output_type': 'error', 'ename': 'ValueError', 'evalue': 'x', 'traceback': []}, 'error'),
    ({'output_type': 'display_data', 'data': {'text/html': '<progress value="3" max="9"></progress>'}}, 'progress bar'),
])
def test_rules_catch(output, why):
    assert any(why in p for p in output_problems(output))

def test_rules_keep_what_a_student_needs():
    ok = [{'output_type': 'stream', 'name': 'stdout', 'text': 'epoch 1: miou 0.412 in data/camvid_tiny/labels\n'},
          {'output_type': 'display_data', 'data': {'image/png': 'iVBOR', 'text/plain': '<Figure size 640x480 with 2 Axes>'}},
          {'output_type': 'execute_result', 'data': {'text/plain': "Path('camvid_tiny/images')"}}]
    assert [output_problems(o) for o in ok] == [[], [], []]

@pytest.mark.parametrize('nb', sorted((ROOT/'nbs'/'tutorials').glob('*.ipynb')), ids=lambda p: p.name)
def test_solutions_collapsed(nb):
    "A solution the docs site folds (`#| code-fold: true`) is collapsed in JupyterLab too: `nbdev-clean` keeps `jupyter`"
    from keep_outputs import FOLDED
    open_ = [i for i,c in enumerate(json.loads(nb.read_text())['cells']) if c['cell_type'] == 'code'
             and FOLDED.search(''.join(c['source'])) and not c['metadata'].get('jupyter', {}).get('source_hidden')]
    assert not open_, f"{nb.relative_to(ROOT)}: solution cells {open_} are not collapsed (`tools/keep_outputs.py --no-run` collapses them)"

def test_clean_keeps_collapsed_solutions_and_figure_sizes(tmp_path):
    "`nbdev-clean` (run by `tools/keep_outputs.py`) must keep what the course needs of cell and output metadata"
    import subprocess
    cell = {'cell_type': 'code', 'execution_count': None, 'id': 'a1', 'source': ['#| code-fold: true\n', 'x = 1'],
            'metadata': {'jupyter': {'source_hidden': True}, 'tags': ['x']},
            'outputs': [{'output_type': 'display_data', 'data': {'text/plain': ['<Figure>']}, 'metadata': {'image/png': {'width': 350, 'height': 100}}}]}
    nb = {'cells': [cell], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    fn = ROOT/'nbs'/'tutorials'/f'_clean_check_{tmp_path.name}.ipynb'  # under nbs/ so the project's nbdev config applies
    try:
        fn.write_text(json.dumps(nb))
        subprocess.run([Path(sys.executable).parent/'nbdev-clean', '--fname', str(fn)], check=True, cwd=ROOT)
        c = json.loads(fn.read_text())['cells'][0]
    finally: fn.unlink(missing_ok=True)
    assert c['metadata'] == {'jupyter': {'source_hidden': True}}
    assert c['outputs'][0]['metadata'] == {'image/png': {'width': 350, 'height': 100}}

def test_stored_figures_keep_class_colours():
    "The palette PNG `keep_outputs` stores keeps a figure's flat colours (legend patches, masks) exact beside a photo's shades"
    import numpy as np
    from PIL import Image
    from keep_outputs import palette_image
    y,x = np.mgrid[0:400, 0:600]
    a = np.stack([x*255//600, y*255//400, (x + y)*255//1000], -1).astype(np.uint8)  # thousands of shades, like a photo
    a[10:30, 10:30] = (31, 119, 180); a[40:60, 10:30] = (255, 127, 14)               # two legend patches
    plain = np.array(Image.fromarray(a).quantize(256).convert('RGB'))
    assert not (plain[10:30, 10:30] == (31, 119, 180)).all()  # what a plain 256-colour cut does to a class colour
    kept = np.array(palette_image(Image.fromarray(a)).convert('RGB'))
    assert (kept[10:30, 10:30] == (31, 119, 180)).all() and (kept[40:60, 10:30] == (255, 127, 14)).all()
    assert np.abs(kept.astype(int) - a).max() < 40  # the shades stay close
