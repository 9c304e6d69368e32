"`benchmarks/gpu_check.py --smoke`: the GPU check's code, run on CPU on generated frames, gives every figure (so it cannot rot)."
import json, os, subprocess, sys
from pathlib import Path

REPO = Path(__file__).parent.parent


def test_gpu_check_smoke(tmp_path):
    out = tmp_path/'smoke.json'
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(REPO)] + [p for p in [os.environ.get('PYTHONPATH')] if p])}
    p = subprocess.run([sys.executable, str(REPO/'benchmarks'/'gpu_check.py'), '--smoke', '--out', str(out)], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r['smoke'] and r['ok']
    assert r['cuda_cells']['passed'] and all(o['passed'] for o in r['cuda_cells']['notebooks'].values())
    t = r['throughput']
    for k in ('seg_learner_img_s', 'fastai_img_s', 'plain_loop_img_s'): assert t[k] > 0, k
    assert abs(t['ratio_vs_fastai'] - t['seg_learner_img_s']/t['fastai_img_s']) < 1e-9
    f = r['fine_tune']
    assert f['backbone'] == 'tf_efficientnet_lite0' and isinstance(f['pretrained'], bool)
    assert f['pretrained'] or 'FROM SCRATCH' in f['note']  # no weights: said, not hidden
    assert (f['n_train'], f['n_valid']) == (9, 3)  # the dev split of the generated camvid11 layout: drive 0006R0 for validation
    assert len(f['epoch_seconds']) == f['freeze_epochs'] + f['epochs'] and f['s_per_epoch'] > 0
    assert 0 <= f['miou'] <= 1
    assert '==== segcourse GPU check' in p.stdout and 'SMOKE' in p.stdout


def test_finds_the_cuda_notebooks():
    sys.path.insert(0, str(REPO/'benchmarks'))
    from gpu_check import cuda_notebooks
    found = [fn.name for fn in cuda_notebooks(REPO/'nbs')]
    assert '09_learner.ipynb' in found and '01_data.ipynb' not in found
