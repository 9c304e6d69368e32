"""The data the benchmark scripts share: real CamVid in the camvid11 layout (passed by path, never read by default),
or generated frames in CamVid_TINY's layout. Imported by the scripts next to it (run them as `python benchmarks/X.py`)."""
from pathlib import Path
from segcourse.data import make_camvid_tiny, camvid_tiny_dls, folder_dls, read_codes

DEV_VALID_DRIVES = ('0006R0',)  # camvid11's dev split: validate on this drive, train on the others (camvid11 README)

def camvid11_dev_files(root)->list:
    "Every camvid11 frame, from train/ and val/ alike, sorted by name"
    root = Path(root)
    return sorted(f for d in ('train', 'val') for f in (root/d/'images').glob('*.jpg'))

def camvid11_dls(root, # Folder with train/ and val/ (each images/ and labels/) and codes.txt
                 void:str|None='last', # The void class; 'last' is codes.txt's last line ('Unlabelled' in camvid11)
                 **kwargs # Passed to `folder_dls` (size, bs, batch_tfms, ...)
                ):
    "`folder_dls` over a camvid11-layout folder on the dev split: drive 0006R0 for validation, never seen in training"
    root = Path(root)
    if void == 'last': void = read_codes(root/'codes.txt')[-1]
    valid = [f.stem for f in camvid11_dev_files(root) if f.name.split('_')[0] in DEV_VALID_DRIVES]
    return folder_dls([root/'train/images', root/'val/images'], [root/'train/labels', root/'val/labels'], root/'codes.txt',
                      void=void, valid_names=valid, **kwargs)

def bench_dls(data, # A camvid11-layout folder, or None for generated frames
              size, # (height, width)
              name:str, # Folder under bench_out/ for the generated frames
              check:bool=True, # Passed to `folder_dls` for camvid11 (the generated frames are always checked)
              **kwargs # Passed to `folder_dls` / `camvid_tiny_dls`
             ):
    "camvid11 DataLoaders when `data` is a path, else 64 generated CamVid_TINY frames at `size`, 10% for validation"
    if data is None:
        path = make_camvid_tiny(Path('bench_out')/name, n=64, size=size, seed=0)
        return camvid_tiny_dls(path, size=size, valid_pct=0.1, **kwargs)
    return camvid11_dls(data, size=size, check=check, **kwargs)
