"""The data the benchmark scripts share: real CamVid in the camvid11 layout (passed by path, never read by default),
or generated frames in CamVid_TINY's layout. Imported by the scripts next to it (run them as `python benchmarks/X.py`)."""
from pathlib import Path
from segcourse.data import make_camvid_tiny, camvid_tiny_dls, folder_dls, read_codes

# How camvid11's frames are split (see its README.md). 'dev', the project's split for quality figures, validates on
# drive 0006R0 (101 frames) and trains on 0001TP + 0016E5 from both folders (367 frames): no drive on both sides.
# 'segnet' is the val/ folder, all from drive 0016E5 whose other 204 frames are in train: it leaks (and says so).
CAMVID11_SPLITS = dict(dev=dict(valid_groups=['0006R0']), segnet=dict(valid_folder='val'))

def camvid11_dls(root, # Folder with train/ and val/ (each images/ and labels/) and codes.txt
                 void:str|None='last', # The void class; 'last' is codes.txt's last line ('Unlabelled' in camvid11)
                 split:str='dev', # A key of `CAMVID11_SPLITS`: 'dev' (drives apart) or 'segnet' (the val/ folder, leaks)
                 **kwargs # Passed to `folder_dls` (size, bs, batch_tfms, ...)
                ):
    "`folder_dls` over a camvid11-layout folder, both folders merged, split by `split` (the dev split by default)"
    root = Path(root)
    if split not in CAMVID11_SPLITS: raise ValueError(f"split must be one of {list(CAMVID11_SPLITS)}, not {split!r}")
    if void == 'last': void = read_codes(root/'codes.txt')[-1]
    return folder_dls([root/'train/images', root/'val/images'], [root/'train/labels', root/'val/labels'], root/'codes.txt',
                      void=void, **CAMVID11_SPLITS[split], **kwargs)

def bench_dls(data, # A camvid11-layout folder, or None for generated frames
              size, # (height, width)
              name:str, # Folder under bench_out/ for the generated frames
              check:bool=True, # Passed to `folder_dls` for camvid11 (the generated frames are always checked)
              **kwargs # Passed to `folder_dls` / `camvid_tiny_dls`
             ):
    "camvid11 DataLoaders (the dev split) when `data` is a path, else 64 generated CamVid_TINY frames at `size`, 10% for validation"
    if data is None:
        path = make_camvid_tiny(Path('bench_out')/name, n=64, size=size, seed=0)
        return camvid_tiny_dls(path, size=size, valid_pct=0.1, **kwargs)
    return camvid11_dls(data, size=size, check=check, **kwargs)
