"""Time A2D2 colour-label -> class-index conversion on one 1920x1208 label holding all 55 table colours.

Three ways, measured in the same run on one pinned core:
  lut:       segcourse.a2d2.a2d2_label_to_index (pack RGB into 24 bits, one lookup in a 16M-entry table)
  search:    segcourse.core.colours_to_index (pack RGB, np.searchsorted in the 55 sorted colours)
  loop:      the common per-colour loop, out[np.all(label == colour, -1)] = i

usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/a2d2_label_conversion.py [--repeats 20]
"""
import os, sys, time, argparse
os.environ.setdefault('OMP_NUM_THREADS', '1')
if hasattr(os, 'sched_setaffinity'): os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
import numpy as np
from segcourse.core import colours_to_index
from segcourse.a2d2 import A2D2Classes, a2d2_label_to_index

def label_with_all_colours(classes, h=1208, w=1920, seed=0):
    "A label of regions (16x16 to 128x128 px blocks) in all the table's colours, every colour present"
    rng = np.random.default_rng(seed)
    idx = np.zeros((h, w), np.uint8)
    for _ in range(3000):
        bh,bw = rng.integers(16, 128, 2); y,x = rng.integers(0, h-bh), rng.integers(0, w-bw)
        idx[y:y+bh, x:x+bw] = rng.integers(0, len(classes.colours))
    idx.ravel()[:len(classes.colours)] = np.arange(len(classes.colours))  # every colour at least once
    return classes.colours[idx], idx

def per_colour_loop(rgb, colours):
    out = np.full(rgb.shape[:2], 255, np.uint8)
    for i,c in enumerate(colours): out[np.all(rgb == c, axis=-1)] = i
    return out

def best_ms(f, repeats):
    f()  # warm-up: builds the lookup table once
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return 1000*min(ts), 1000*float(np.median(ts))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeats', type=int, default=20)
    a = p.parse_args()
    classes = A2D2Classes(groups='original')
    rgb,want = label_with_all_colours(classes)
    assert len(np.unique(want)) == 55
    lut = lambda: a2d2_label_to_index(rgb, classes)[0]
    search = lambda: colours_to_index(rgb, [tuple(c) for c in classes.colours])[0]
    loop = lambda: per_colour_loop(rgb, classes.colours)
    for n,f in (('lut', lut), ('search', search), ('loop', loop)): assert (f() == want).all(), f"{n} gives a wrong answer"
    print(f"label 1920x1208 with all 55 colours; numpy {np.__version__}; one core ({os.cpu_count()} on the machine); best / median of {a.repeats}")
    res = {n: best_ms(f, a.repeats if n != 'loop' else max(3, a.repeats//5)) for n,f in (('lut', lut), ('search', search), ('loop', loop))}
    for n,(b,m) in res.items(): print(f"  {n:7s} {b:8.2f} ms  (median {m:8.2f} ms)")
    print(f"  lut vs loop:   {res['loop'][0]/res['lut'][0]:6.0f}x faster (target >= 50x)")
    print(f"  lut vs search: {res['search'][0]/res['lut'][0]:6.1f}x faster")
    ok = res['loop'][0]/res['lut'][0] >= 50 and res['lut'][1] < 30
    print(f"  target (>= 50x and < 30 ms per label): {'met' if ok else 'NOT met'}")
    sys.exit(0 if ok else 1)
