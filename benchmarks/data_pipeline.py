"""Where the time of the data pipeline goes, and what `folder_dls(cache=True)` saves: milliseconds per image for each
stage of fastai's DataLoader (decode, item transforms, collate, batch transforms), then images per second of a whole
pass over the training set with files read at every epoch against the decoded cache, both in this process.

    python benchmarks/data_pipeline.py                                    # generated CamVid_TINY-format data
    python benchmarks/data_pipeline.py --data ../shared/data/camvid11 --size 360   # real CamVid JPEGs at 360x480

A GPU steps a ResNet34 U-Net through an image in a few milliseconds; a pipeline slower than that per worker keeps
it waiting. The batch transforms (augmentation, normalisation) run on `dls.device`: on the GPU when there is one."""
import time
from fastcore.script import call_parse
from fastai.vision.all import *
from bench_data import bench_dls


def make_dls(data, size, bs, cache, num_workers):
    return bench_dls(data, size, f'pipeline_data_{size[0]}', bs=bs, num_workers=num_workers, cache=cache,
                     batch_tfms=aug_transforms(max_warp=0.))


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def stage_times(dl, n:int)->dict:
    "Milliseconds per image of each stage of `dl`, run one after the other on `n` training items"
    idxs, t = list(range(min(n, len(dl.dataset)))), {}
    start = time.perf_counter(); raw = [dl.create_item(i) for i in idxs]; t['decode (files -> PIL)'] = time.perf_counter() - start
    start = time.perf_counter(); items = [dl.after_item(o) for o in raw]; t['item tfms (resize, to tensor)'] = time.perf_counter() - start
    bs, batches = dl.bs, []
    start = time.perf_counter()
    for i in range(0, len(items), bs): batches.append(dl.create_batch(dl.before_batch(items[i:i+bs])))
    t['collate'] = time.perf_counter() - start
    sync(dl.device); start = time.perf_counter()
    for b in batches: dl.after_batch(to_device(b, dl.device))
    sync(dl.device); t[f'batch tfms on {dl.device.type} (augment, normalise)'] = time.perf_counter() - start
    return {k: 1000*v/len(idxs) for k,v in t.items()}


def epoch_ips(dl)->float:
    "Images per second of one pass over `dl` (the best of two)"
    best = 0.
    for _ in range(2):
        n, start = 0, time.perf_counter()
        for xb,yb in dl: n += len(xb)
        sync(dl.device); best = max(best, n/(time.perf_counter() - start))
    return best


@call_parse
def main(data:str=None, # camvid11-layout folder (train/ and val/ with images/ and labels/); default: generated data
         size:int=360, # Frame height; width is 4/3 of it
         bs:int=8, # Batch size
         n:int=64, # Items timed stage by stage
         num_workers:int=0, # DataLoader workers for the whole-pass comparison
        ):
    size = (size, size*4//3)
    files = make_dls(data, size, bs, False, num_workers)
    start = time.perf_counter(); cached = make_dls(data, size, bs, True, num_workers); t_fill = time.perf_counter() - start
    print(f"{'generated' if data is None else data}: {len(files.train_ds)} training frames at {size[0]}x{size[1]}, bs {bs}, "
          f"{num_workers} worker(s), device {files.device}")
    print(f"cache: {cached.cache!r}, filled in {t_fill:.1f} s by the checking pass")
    a, b = stage_times(files.train, n), stage_times(cached.train, n)
    print(f"\n{'ms per image':<45}{'files':>8}{'cached':>8}")
    for k in a: print(f"{k:<45}{a[k]:8.2f}{b[k]:8.2f}")
    print(f"{'total':<45}{sum(a.values()):8.2f}{sum(b.values()):8.2f}")
    ips_files, ips_cached = epoch_ips(files.train), epoch_ips(cached.train)
    print(f"\nwhole pass over the training set: files {ips_files:.1f} img/s | cached {ips_cached:.1f} img/s | "
          f"ratio {ips_cached/ips_files:.2f}")
