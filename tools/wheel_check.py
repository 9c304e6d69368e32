"""Build the wheel, check it holds every file of the package, install it into a fresh venv and run tutorials there.

The fresh venv sees the dependencies (torch, fastai, ...) of the Python that runs this script through a `.pth` line,
so nothing is downloaded, but `segcourse` comes only from the wheel: the tutorials run in a temporary folder outside
the checkout, and the script fails if `segcourse` is imported from anywhere else. The measured runs of
`benchmarks/results/` must be in the wheel (as `segcourse/results/`, what Colab installs) and `read_results` must read
every one of them from there. Usage, from the root (`make wheel-check`):

    .venv/bin/python tools/wheel_check.py [--notebook nbs/tutorials/01_camvid.ipynb ...] [--keep]
"""
import argparse, json, os, re, shutil, subprocess, sys, sysconfig, tempfile, venv, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def build_wheel(out:Path)->Path:
    "The wheel of the checkout, built with the installed setuptools (no download)"
    subprocess.run([sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', str(out), str(ROOT)],
                   check=True, stdout=subprocess.DEVNULL)
    return next(out.glob('segcourse-*.whl'))

RESULTS = ROOT/'benchmarks'/'results'  # shipped as the package `segcourse.results` (pyproject.toml's package-dir)

def missing_from_wheel(whl:Path)->list:
    "Files of `segcourse/` (modules and assets) and measured runs of `benchmarks/results/` that the wheel does not hold"
    names = set(zipfile.ZipFile(whl).namelist())
    files = [p.relative_to(ROOT).as_posix() for p in (ROOT/'segcourse').rglob('*') if p.is_file() and '__pycache__' not in p.parts]
    files += [f'segcourse/results/{p.name}' for p in sorted(RESULTS.glob('*.jsonl'))]
    return sorted(f for f in files if f not in names)

def results_script(venv_dir:Path)->str:
    "A script that reads every file of measured runs with `read_results` and fails unless each came from the wheel"
    names = [p.name for p in sorted(RESULTS.glob('*.jsonl'))]
    return ("from segcourse.report import read_results, results_path\n"
            f"for name in {names!r}:\n"
            f"    fn = results_path(name)\n"
            f"    assert str(fn).startswith({str(venv_dir)!r}), f'{{name}} read from {{fn}}, not the wheel'\n"
            f"    assert read_results(name), f'{{name}}: no runs'\n"
            f"print('read_results reads', len({names!r}), 'files of measured runs from the wheel')\n")

def notebook_script(nb:Path)->str:
    "The code cells of `nb` as a script, without `#| slow`, `#| cuda`, `#| eval: false` cells and without directives"
    out = []
    for c in json.loads(nb.read_text())['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or re.search(r'^#\|\s*(slow|cuda|eval:\s*false)\s*$', src, re.M): continue
        out.append('\n'.join(l for l in src.splitlines() if not l.startswith('#|')))
    return '\n\n'.join(out) + '\n'

def fresh_venv(d:Path)->Path:
    "A venv whose only `segcourse` will be the wheel's, seeing this Python's other packages"
    venv.create(d, with_pip=False)
    py = d/'bin'/'python'
    site = subprocess.run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], capture_output=True, text=True, check=True).stdout.strip()
    (Path(site)/'deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')  # a plain path: its editable segcourse hook is not run
    return py

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--notebook', type=Path, nargs='+', default=[ROOT/'nbs'/'tutorials/01_camvid.ipynb', ROOT/'nbs'/'tutorials/09_losses_explained.ipynb'],
                   help="tutorials to run with the installed wheel (09 reads its table with `read_results`)")
    p.add_argument('--keep', action='store_true', help="keep the temporary folder")
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='segcourse-wheel-'))
    try:
        whl = build_wheel(tmp/'dist')
        if missing := missing_from_wheel(whl): sys.exit(f"{whl.name} lacks {len(missing)} package file(s): {', '.join(missing)}")
        print(f"{whl.name}: every file of segcourse/ and of benchmarks/results/ is in it", flush=True)
        py = fresh_venv(tmp/'venv')
        no_checkout = {k: v for k,v in os.environ.items() if k != 'PYTHONPATH'}  # pip would take a checkout on it for an installed segcourse
        subprocess.run([sys.executable, '-m', 'pip', '--python', str(py), 'install', '-q', '--no-deps', str(whl)], check=True, env=no_checkout)
        (run := tmp/'run').mkdir()
        env = {'PATH': '/usr/bin:/bin', 'HOME': str(Path.home()), 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
        (run/'results.py').write_text(results_script(tmp/'venv'))
        if subprocess.run([py, 'results.py'], cwd=run, env=env).returncode: sys.exit(f"the measured runs could not be read from {whl.name}")
        for nb in a.notebook:
            (run/'tutorial.py').write_text("import segcourse, sys\n"
                f"assert segcourse.__file__.startswith({str(tmp/'venv')!r}), f'segcourse imported from {{segcourse.__file__}}, not the wheel'\n"
                + notebook_script(nb))
            r = subprocess.run([py, 'tutorial.py'], cwd=run, env=env)
            if r.returncode: sys.exit(f"{nb.name} failed with the installed wheel (exit status {r.returncode})")
            print(f"{nb.name} ran with segcourse from {whl.name} only, in {run}")
    finally:
        if not a.keep: shutil.rmtree(tmp, ignore_errors=True)
