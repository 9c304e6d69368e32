"The house rules of issue 15, checked on the source: notebooks in dependency order, one registry list, no shadowed names"
import json, re, ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'

def _code(nb:Path)->str:
    return '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code')

def _library():
    "{module: notebook} for every library notebook (those with `#| default_exp`)"
    res = {}
    for nb in sorted(NBS.glob('*.ipynb')):
        if m := re.search(r'^#\|\s*default_exp\s+(\S+)', _code(nb), re.M): res[m.group(1).removesuffix('.__init__')] = nb  # a package's
    return res

def test_no_notebook_uses_a_later_one():
    lib = _library()
    assert {'core', 'data', 'archs', 'learner', 'inference', 'all'} <= set(lib)
    late = []
    for nb in sorted(NBS.glob('*.ipynb')):
        if nb.name == 'index.ipynb': continue
        for mod in set(re.findall(r'(?:from|import) segcourse\.([\w.]+)', _code(nb))):
            if mod in lib and lib[mod].name > nb.name: late.append(f"{nb.name} imports segcourse.{mod} ({lib[mod].name})")
    assert not late, '\n'.join(late)

def test_tutorials_live_apart():
    tut = sorted(p.name for p in (NBS/'tutorials').glob('*.ipynb'))
    assert tut and all(re.match(r'\d\d_', o) for o in tut)
    assert not [o for o in tut if '#| default_exp' in (NBS/'tutorials'/o).read_text()], "a tutorial exports a module"
    assert not [p.name for p in NBS.glob('*.ipynb') if p.name not in ('index.ipynb', 'install.ipynb') and p.name not in {nb.name for nb in _library().values()}], \
        "a notebook in nbs/ exports nothing: tutorials go in nbs/tutorials/ (index and install are the site's pages)"

def test_the_course_list_is_written_once():
    "The architectures of the course are `COURSE_ARCHS`; no other file spells the whole list out"
    pat = re.compile(r"'naive',\s*'fcn32s',\s*'fcn16s',\s*'fcn8s'")
    where = [str(p.relative_to(ROOT)) for d in ('nbs', 'segcourse', 'tests', 'benchmarks') for p in (ROOT/d).rglob('*')
             if p.suffix in ('.py', '.ipynb') and '_proc' not in p.parts and pat.search(p.read_text())]
    assert sorted(where) == ['nbs/07_archs.ipynb', 'segcourse/archs/core.py'], where

def test_registering_a_taken_name_fails():
    from segcourse.archs import register_arch, ARCHS
    import pytest
    with pytest.raises(ValueError, match="'unet' is already registered"): register_arch('unet')(lambda e, n, s, **kw: None)
    assert ARCHS['unet']['create'].__name__ == 'unet'
