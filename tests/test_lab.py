"""`make lab` as a student meets it: JupyterLab on the course notebooks with the `segcourse` kernel, tutorial 01 opened in
headless Chromium and its first cells run through the page (JupyterLab's own "run cell and select next" command).
Fails on a kernel error in those cells; saves a screenshot to `_lab_check/tutorial10.png` for a person to look at.
Chromium is driven over its DevTools pipe as in `test_docs_site.py` (no browser download, no driver)."""
import base64, json, os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from test_docs_site import Browser, CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT/'_lab_check'
NB = 'tutorials/01_camvid.ipynb'
N_CELLS = 6  # title, introduction, the Colab install cell, the imports, a Markdown cell, the DataLoaders

pytestmark = [pytest.mark.skipif(not CHROMIUM, reason="Debian's chromium is not installed (`make docs-deps` installs it as root)"),
              pytest.mark.skipif(shutil.which('jupyter-lab', path=str(Path(sys.executable).parent)) is None,
                                 reason="JupyterLab is not installed in this venv (`make` installs the `lab` extra)")]

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def serve_lab(tmp:Path, name:str, nb:dict):
    "JupyterLab on `tmp/nbs`, holding notebook `nb` as `name`, with the kernel `segcourse` installed as `make lab` does: yields (url, token)"
    subprocess.run([sys.executable, '-m', 'ipykernel', 'install', '--prefix', str(tmp/'prefix'), '--name', 'segcourse',
                    '--display-name', 'Python (segcourse)'], check=True, capture_output=True)
    nbs = tmp/'nbs'
    nb.setdefault('metadata', {})['kernelspec'] = {'name': 'segcourse', 'display_name': 'Python (segcourse)', 'language': 'python'}
    (nbs/name).parent.mkdir(parents=True, exist_ok=True)
    (nbs/name).write_text(json.dumps(nb))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, 'JUPYTER_PATH': str(tmp/'prefix'/'share'/'jupyter'), 'JUPYTER_CONFIG_DIR': str(tmp/'config'),
           'JUPYTER_RUNTIME_DIR': str(tmp/'runtime'), 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]),
           'OMP_NUM_THREADS': '1'}
    log = open(tmp/'lab.log', 'w')
    p = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}',
                          '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={nbs}',
                          '--LabApp.expose_app_in_browser=True', *(['--allow-root'] if os.geteuid() == 0 else []), '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate'],
                         env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 600  # seconds on a machine where other jobs hold the CPUs; about 3 on an idle laptop
        while time.time() < deadline:
            try: urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=5).close(); break
            except OSError: time.sleep(0.5)
            if p.poll() is not None: break
        else: pytest.fail(f"JupyterLab did not answer on {url}:\n{(tmp/'lab.log').read_text()[-3000:]}")
        if p.poll() is not None: pytest.fail(f"JupyterLab exited ({p.returncode}):\n{(tmp/'lab.log').read_text()[-3000:]}")
        yield url, token
    finally:
        p.terminate()
        try: p.wait(20)
        except subprocess.TimeoutExpired: p.kill(); p.wait()
        log.close()


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "A JupyterLab server on a copy of tutorial 01: (url, token)"
    yield from serve_lab(tmp_path_factory.mktemp('lab'), NB, json.loads((ROOT/'nbs'/NB).read_text()))

def _wait(browser, expr, what, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if v := browser.js(expr): return v
        time.sleep(1)
    CHECK.mkdir(exist_ok=True)  # what the page showed, for a person to look at
    (CHECK/'timeout.png').write_bytes(base64.b64decode(browser.call('Page.captureScreenshot', page=True, format='png')['data']))
    pytest.fail(f"timed out after {timeout}s waiting for {what} (screenshot: {CHECK/'timeout.png'})")

NB_JS = 'window.jupyterapp && jupyterapp.shell.currentWidget'  # the notebook JupyterLab shows

def open_and_run(b, url:str, token:str, name:str, n_cells:int, height:int=1000)->str:
    "Open notebook `name` in JupyterLab at `url`, wait for its kernel, run its first `n_cells` through the page: 'done' or why not"
    b.call('Emulation.setDeviceMetricsOverride', page=True, width=1400, height=height, deviceScaleFactor=1, mobile=False)
    b.open(f'{url}/lab/tree/{name}?token={token}')
    nb = NB_JS
    _wait(b, f"!!({nb} && {nb}.context && {nb}.context.isReady && {nb}.sessionContext.session?.kernel?.status === 'idle')",
          "JupyterLab to open the notebook and start its kernel")
    assert b.js(f"{nb}.sessionContext.session.kernel.name") == 'segcourse'
    b.js(f"""window.ranCells = 'running'; (async () => {{
        const w = {nb}; w.content.activeCellIndex = 0;
        for (let i = 0; i < {n_cells}; i++) await jupyterapp.commands.execute('notebook:run-cell-and-select-next');
        window.ranCells = 'done'; }})().catch(e => {{ window.ranCells = 'failed: ' + e; }}); true""")
    return _wait(b, "window.ranCells !== 'running' && window.ranCells", f"the first {n_cells} cells to run", timeout=900)

def test_tutorial_runs_in_lab(lab, tmp_path):
    url, token = lab
    b = Browser(tmp_path/'chromium', timeout=300)
    try:
        state = open_and_run(b, url, token, NB, N_CELLS)
        nb = NB_JS
        cells = b.js(f"[...Array({N_CELLS}).keys()].map(i => {nb}.content.model.cells.get(i).toJSON())")
        CHECK.mkdir(exist_ok=True)
        (CHECK/'tutorial10.png').write_bytes(base64.b64decode(b.call('Page.captureScreenshot', page=True, format='png')['data']))
        assert state == 'done', state
        errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i,c in enumerate(cells) for o in c.get('outputs', []) if o['output_type'] == 'error']
        assert not errors, "kernel errors in tutorial 10:\n" + '\n'.join(errors)
        code = [c for c in cells if c['cell_type'] == 'code']
        assert len(code) == 3 and all(c['execution_count'] for c in code), [c.get('execution_count') for c in code]
        printed = ''.join(''.join(o.get('text', '')) for o in code[-1]['outputs'] if o['output_type'] == 'stream')
        assert 'for training from drives' in printed and 'for validation from drive' in printed, printed
    finally:
        b.close()
