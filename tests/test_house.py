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

# Explicit imports between segcourse's own modules (issue 32): a star import of `fastai.vision.all` may stay (fastai's own
# modules do the same); `all.py` is the one star module of segcourse, for notebooks.
STAR_MODULES = ('all.py', '__init__.py', '_modidx.py')

def _modules(pkg:Path)->dict:
    "{dotted name inside `pkg`: path} of every module of `pkg`, subpackages included, but the star modules"
    return {p.relative_to(pkg).with_suffix('').as_posix().replace('/', '.'): p
            for p in sorted(pkg.rglob('*.py')) if p.name not in STAR_MODULES and '__pycache__' not in p.parts}

def _star_imports(pkg:Path)->list:
    "`from .x import *` / `from segcourse.x import *` in `pkg`'s modules, as 'module:line: import'"
    res = []
    for mod,p in _modules(pkg).items():
        for n in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(n, ast.ImportFrom) and any(a.name == '*' for a in n.names) and \
               (n.level or (n.module or '').split('.')[0] == 'segcourse'):
                res.append(f"{mod}:{n.lineno}: from {'.' * n.level}{n.module or ''} import *")
    return res

def _defined(p:Path)->set:
    "Names a module defines at its top level (functions, classes, assigned names)"
    res = set()
    for n in ast.parse(p.read_text(), str(p)).body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): res.add(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                res |= {o.id for o in ast.walk(t) if isinstance(o, ast.Name)}
    return res

def _names_through_stars(pkg:Path)->list:
    "Names defined in one module of `pkg` that ruff (F405) sees another use through a star import, as 'module:line: name (from x)'"
    import subprocess, sys, fastai.vision.all as fva
    mods = _modules(pkg)
    r = subprocess.run([sys.executable, '-m', 'ruff', 'check', '--isolated', '--select', 'F405', '--output-format', 'json',
                        *map(str, mods.values())], capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1) and r.stdout.startswith('['), r.stderr  # 1: ruff found something
    where, res = {}, []  # where: name -> the modules that define it
    for mod,p in mods.items():
        for name in _defined(p): where.setdefault(name, set()).add(mod)
    of = {str(p): mod for mod,p in mods.items()}
    for o in json.loads(r.stdout):
        name, mod = re.match(r'`(\w+)`', o['message']).group(1), of[str(Path(o['filename']))]
        others = where.get(name, set()) - {mod}
        # a name fastai also exports (e.g. `show_batch`, which core extends) comes through fastai's star import
        if others and not hasattr(fva, name): res.append(f"{mod}:{o['location']['row']}: {name} (from {', '.join(sorted(others))})")
    return res

def test_no_star_import_between_segcourse_modules():
    assert not _star_imports(ROOT/'segcourse'), '\n'.join(_star_imports(ROOT/'segcourse'))

def test_no_segcourse_name_reaches_a_module_through_a_star_import():
    assert len(_modules(ROOT/'segcourse')) > 20
    found = _names_through_stars(ROOT/'segcourse')
    assert not found, "import these by name:\n" + '\n'.join(found)

def _explicit_imports(pkg:Path)->list:
    "(path, line, module, names) of each one-line `from .x import a, b` in `pkg`'s top-level modules, of names `x.py` defines"
    res = []
    for p in _modules(pkg).values():
        lines = p.read_text().splitlines()
        for n in ast.parse(p.read_text(), str(p)).body:
            names = {a.name for a in getattr(n, 'names', []) if a.asname is None}
            if isinstance(n, ast.ImportFrom) and n.level == 1 and p.parent == pkg and n.lineno == n.end_lineno and \
               len(names) == len(n.names) and (pkg/f'{n.module}.py').exists() and names <= _defined(pkg/f'{n.module}.py'):
                res.append((p, lines[n.lineno-1], n.module, names))
    return res

def test_the_import_checks_catch_a_star_import(tmp_path):
    "Both checks fail on a copy of the package where two modules star-import (`from .x import *`, `from segcourse.y import *`)"
    import shutil, fastai.vision.all as fva
    pkg = Path(shutil.copytree(ROOT/'segcourse', tmp_path/'segcourse', ignore=shutil.ignore_patterns('__pycache__', 'assets')))
    assert not _star_imports(pkg) and not _names_through_stars(pkg)
    cands = [o for o in _explicit_imports(pkg) if o[3] - set(dir(fva))]  # imports of names that only segcourse defines
    (p1, l1, m1, n1), (p2, l2, m2, n2) = cands[0], next(o for o in cands if o[0] != cands[0][0])
    p1.write_text(p1.read_text().replace(l1 + '\n', f'from .{m1} import *\n', 1))
    p2.write_text(p2.read_text().replace(l2 + '\n', f'from segcourse.{m2} import *\n', 1))
    stars = {re.sub(r':\d+:', ':', o) for o in _star_imports(pkg)}
    assert stars == {f'{p1.stem}: from .{m1} import *', f'{p2.stem}: from segcourse.{m2} import *'}, stars
    found = [re.match(r'(\S+):\d+: (\w+) \(from (.*)\)$', o).groups() for o in _names_through_stars(pkg)]
    for p,m,ns in ((p1, m1, n1), (p2, m2, n2)):
        for name in ns - set(dir(fva)):
            assert any(f == p.stem and n == name and m in frm.split(', ') for f,n,frm in found), (p.stem, name, found)
    assert {f for f,_,_ in found} == {p1.stem, p2.stem}, found
