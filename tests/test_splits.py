"""camvid11's splits, on the real data: only where SEGCOURSE_CAMVID11 points to the camvid11 folder (the project never
needs it). The SegNet folders put drive 0016E5 on both sides and `folder_dls` warns; the dev split keeps drives apart."""
import os, sys, warnings
from collections import Counter
from pathlib import Path
import pytest
from segcourse.data import folder_dls, camvid_group, SplitLeakWarning

ROOT = os.environ.get('SEGCOURSE_CAMVID11')
pytestmark = pytest.mark.skipif(not ROOT, reason='set SEGCOURSE_CAMVID11 to the camvid11 folder to check its splits')
sys.path.insert(0, str(Path(__file__).parent.parent/'benchmarks'))


def _dls(**kw):
    root = Path(ROOT)
    return folder_dls([root/'train'/'images', root/'val'/'images'], [root/'train'/'labels', root/'val'/'labels'],
                      root/'codes.txt', void='Unlabelled', check=False, bs=4, num_workers=0, **kw)


def _drives(dls): return [dict(Counter(camvid_group(o) for o in ds.items)) for ds in (dls.train_ds, dls.valid_ds)]


def test_segnet_folders_leak(capsys):
    "camvid11's own val/ folder shares drive 0016E5 with train/: one warning, naming it with its counts"
    with pytest.warns(SplitLeakWarning, match=r'share 1 recording\(s\): 0016E5 \(204 train / 101 valid\)'):
        dls = _dls(valid_folder='val')
    assert _drives(dls) == [{'0001TP': 62, '0006R0': 101, '0016E5': 204}, {'0016E5': 101}]
    err = capsys.readouterr().err
    assert err.count('SPLIT LEAK') == 1 and "valid_groups=" in err


def test_dev_split_keeps_drives_apart():
    "The dev split: 0006R0 (101 frames) for validation, 0001TP + 0016E5 of both folders (367 frames) for training, no warning"
    with warnings.catch_warnings():
        warnings.simplefilter('error', SplitLeakWarning)
        dls = _dls(valid_groups=['0006R0'])
    assert _drives(dls) == [{'0001TP': 62, '0016E5': 305}, {'0006R0': 101}]
    assert (len(dls.train_ds), len(dls.valid_ds)) == (367, 101)


def test_benchmarks_use_the_dev_split():
    from bench_data import camvid11_dls
    with warnings.catch_warnings():
        warnings.simplefilter('error', SplitLeakWarning)
        dls = camvid11_dls(ROOT, check=False, bs=4, num_workers=0)
    assert _drives(dls) == [{'0001TP': 62, '0016E5': 305}, {'0006R0': 101}]
    assert dls.codes[dls.ignore_index] == 'Unlabelled'


def test_camvid_dls_reads_camvid11(monkeypatch):
    "`camvid_dls` through SEGCOURSE_CAMVID: the dev split by default, SegNet's folders (with the leak warning) on request"
    from segcourse.data import camvid_dls
    monkeypatch.setenv('SEGCOURSE_CAMVID', ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter('error', SplitLeakWarning)
        dls = camvid_dls(check=False, bs=4, num_workers=0)
    assert _drives(dls) == [{'0001TP': 62, '0016E5': 305}, {'0006R0': 101}]
    assert dls.codes[dls.ignore_index] == 'Unlabelled' and len(dls.test_items) == 0
    with pytest.warns(SplitLeakWarning, match='0016E5'):
        assert _drives(camvid_dls(split='segnet', check=False, bs=4, num_workers=0))[1] == {'0016E5': 101}
