"""`segcourse --help`, `--version` and an unknown command, each in its own process as a user runs them: the answer
comes at once (nothing heavy is imported before a command runs) and no third-party warning comes before it."""
import sys, time, subprocess
from pathlib import Path
import pytest
from segcourse import __version__
from segcourse.cli import COMMANDS

EXE = Path(sys.executable).parent/'segcourse'
# The installed script imports `segcourse.cli`; run it through this Python so the checkout under test is the one imported.
CMD = [sys.executable, '-c', 'import sys; from segcourse.cli import main; sys.exit(main())']

def run(*args):
    start = time.perf_counter()
    r = subprocess.run(CMD + list(args), capture_output=True, text=True, timeout=60)
    return r, time.perf_counter() - start

def test_help_lists_every_command_at_once():
    run('--help')  # a first run warms the file cache, as any second call of a command would
    r,secs = run('--help')
    assert r.returncode == 0 and r.stderr == '', r.stderr
    lines = r.stdout.splitlines()
    for name,(target,help) in COMMANDS.items():
        assert any(l.split()[:1] == [name] and help in l for l in lines), f"{name} is not listed with its help:\n{r.stdout}"
    assert secs < 2, f"segcourse --help took {secs:.2f} s"
    print(f"segcourse --help: {secs:.3f} s")

def test_help_imports_nothing_heavy():
    r = subprocess.run([sys.executable, '-c', 'import sys, segcourse.cli; print(sorted(m for m in ("torch", "fastai", "timm", "numpy") if m in sys.modules))'],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == '[]', r.stdout + r.stderr

def test_version():
    r,_ = run('--version')
    assert (r.returncode, r.stdout, r.stderr) == (0, f"segcourse {__version__}\n", '')

@pytest.mark.parametrize('args', [['train'], ['--frobnicate']])
def test_unknown_command_is_named(args):
    r,_ = run(*args)
    assert r.returncode == 2 and f"unknown command '{args[0]}'" in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_no_command():
    r,_ = run()
    assert r.returncode == 2 and 'commands:' in r.stderr

def test_command_help_has_no_third_party_warning():
    "A command's own --help imports torch and fastai (its options come from its function) but shows none of their warnings"
    r,_ = run('predict', '--help')
    assert r.returncode == 0 and r.stderr == '', r.stderr
    assert 'model inputs [inputs ...]' in ' '.join(r.stdout.split()), r.stdout  # `inputs` required, as `predict` needs them

@pytest.mark.skipif(not EXE.exists(), reason="no `segcourse` command installed in this environment")
def test_installed_command():
    r = subprocess.run([EXE, '--help'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and 'commands:' in r.stdout and r.stderr == ''
