"""Seconds per training step on the CPU with glibc's default `malloc` against `keep_freed_memory()` (09_learner): the
course's U-Net over Lite0, bfloat16 autocast, batches of 8, at 360x480 and 480x640 (`cpu_bf16_steps.step_seconds`:
the median of 4 steps after a warm-up), with the minor page faults and kernel seconds per step. Each variant runs in a
fresh process, one after the other, since the setting cannot be taken back; `speedup` is default / kept.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/cpu_malloc_steps.py > benchmarks/results/cpu_malloc_steps.jsonl

One JSON line per (size, variant), then one per size with the speedup. Run it alone on the machine: it is a timing."""
import sys, json, resource, subprocess
from pathlib import Path

SIZES = [(360, 480), (480, 640)]

def child(keep:bool):
    "One variant in this process: a JSON line per size"
    sys.path.insert(0, str(Path(__file__).parent))
    from cpu_bf16_steps import step_seconds
    from segcourse.learner import keep_freed_memory
    took = keep_freed_memory() if keep else False
    for h,w in SIZES:
        u0 = resource.getrusage(resource.RUSAGE_SELF)
        r = step_seconds('tf_efficientnet_lite0', h, w, True)
        u1 = resource.getrusage(resource.RUSAGE_SELF)
        n = 5  # the warm-up step and the 4 timed ones
        print(json.dumps(dict(r, keep_freed_memory=took, faults_step=(u1.ru_minflt - u0.ru_minflt)//n,
                              sys_s_step=round((u1.ru_stime - u0.ru_stime)/n, 2))), flush=True)

if __name__ == '__main__':
    if len(sys.argv) > 1: child(sys.argv[1] == 'keep'); sys.exit()
    rows = {}
    for variant in ('default', 'keep'):
        out = subprocess.run([sys.executable, __file__, variant], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            print(line, flush=True)
            r = json.loads(line); rows[r['size'], variant] = r
    for h,w in SIZES:
        s = f'{h}x{w}'
        print(json.dumps(dict(size=s, speedup=round(rows[s, 'default']['s_step']/rows[s, 'keep']['s_step'], 2))))
