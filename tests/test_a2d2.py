"A preprocessing run killed with SIGKILL resumes where it stopped and gives the cache an uninterrupted run gives"
import os, sys, json, time, signal, subprocess, warnings
from pathlib import Path
import numpy as np
from PIL import Image
import pytest
from segcourse.a2d2_synthetic import make_a2d2
from segcourse.a2d2_data import preprocess_a2d2, read_a2d2_manifest, a2d2_dls, A2D2_CACHE_MANIFEST

SLOW_RUN = """
import sys, time
import segcourse.a2d2_data as a
fast = a._cache_frame
def slow(job):
    time.sleep(0.15)
    return fast(job)
a._cache_frame = slow
a.preprocess_a2d2(sys.argv[1], sys.argv[2], size=(48, 72), n_workers=0, show_progress=False)
"""

def _arrays(cache):
    man = read_a2d2_manifest(cache)
    return {f[k]: np.asarray(Image.open(Path(cache)/f[k])) for f in man['frames'] for k in ('image', 'label')}

@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return make_a2d2(tmp_path_factory.mktemp('a2d2')/'a2d2', scenes=3, frames=10, size=(151, 240))

def test_killed_run_resumes(root, tmp_path):
    dest = tmp_path/'cache'
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
    proc = subprocess.Popen([sys.executable, '-c', SLOW_RUN, str(root), str(dest)], env=env, start_new_session=True)
    log = dest/'.a2d2_cache_progress.jsonl'
    deadline = time.time() + 40
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= 8: break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(log.read_text().splitlines())
    assert 8 <= done < 30
    with pytest.raises(ValueError, match='the cache is incomplete'): read_a2d2_manifest(dest)
    # every file at its final name is whole: a half-written one would only exist under a temporary name
    for f in dest.rglob('*.png'): Image.open(f).load()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        preprocess_a2d2(root, dest, size=(48, 72), n_workers=0, show_progress=False)
        preprocess_a2d2(root, tmp_path/'clean', size=(48, 72), n_workers=0, show_progress=False)
    man = read_a2d2_manifest(dest)
    assert len(man['frames']) == 30 and man['problems'] == []
    assert not list(dest.rglob('.*.tmp')) and not log.exists()
    assert man['frames'] == read_a2d2_manifest(tmp_path/'clean')['frames']
    a,b = _arrays(dest), _arrays(tmp_path/'clean')
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)

def test_killed_parallel_run_resumes(root, tmp_path):
    "With worker processes: kill the whole process group mid-run, then finish"
    dest = tmp_path/'cache'
    code = f"import segcourse.a2d2_data as a; a.preprocess_a2d2({str(root)!r}, {str(dest)!r}, size=(48, 72), n_workers=2, show_progress=False)"
    proc = subprocess.Popen([sys.executable, '-c', code], env={**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}, start_new_session=True)
    log = dest/'.a2d2_cache_progress.jsonl'
    deadline = time.time() + 40
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= 3: break
        time.sleep(0.005)
    if proc.poll() is not None: pytest.skip("the parallel run finished before it could be interrupted")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for f in dest.rglob('*.png'): Image.open(f).load()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        preprocess_a2d2(root, dest, size=(48, 72), n_workers=2, show_progress=False)
    man = read_a2d2_manifest(dest)
    assert len(man['frames']) == 30 and not list(dest.rglob('.*.tmp'))
    dls = a2d2_dls(dest, bs=4, num_workers=0, batch_tfms=[])
    assert len(dls.train_ds) + len(dls.valid_ds) == 30
