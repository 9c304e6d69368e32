"""The docs site as `make docs` builds it, served on localhost and opened in headless Chromium as a reader would.

Every page must load without a JavaScript error or a failed request, every internal link, image, script and stylesheet
must resolve (anchors included), nothing may come from the internet, every exported function and class must have its
rendered signature on its module's page, and search must find a symbol. The home page's screenshot is saved to
`_site_check/home.png` for a person to look at. Chromium is driven over its DevTools pipe: no driver to install."""
import ast, base64, json, os, re, select, shutil, socket, struct, subprocess, sys, time, urllib.error, urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit
import pytest
from nbdev.config import get_config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
from build_docs import tutorials_without_badge, colab_badge

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
CHECK = ROOT/'_site_check'
BASE = get_config(ROOT).doc_baseurl.strip('/') or 'site'  # the site's path on its host, where its 404 page looks for it
# Nothing leaves this machine: every host but the local server resolves to nothing.
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars',
                  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1']

def test_tutorials_have_colab_badge():
    missing = tutorials_without_badge(ROOT/'nbs')
    assert not missing, (f"tutorial notebooks without their Colab badge: {', '.join(missing)}. Add a Markdown cell right after "
                         f"the title and summary, e.g. for {missing[0]}:\n{colab_badge(missing[0])}")

def test_notebook_outputs_become_markdown(tmp_path):
    "Stored outputs (the real notebooks have none yet) become text blocks, image files, HTML; nbdev's links become page links"
    from build_docs import NbToMd
    png = ('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAAAAgAB4iG8MwAAAABJRU5ErkJggg==')
    nb = {'cells': [
        {'cell_type': 'raw', 'metadata': {}, 'source': '---\ntitle: Demo\ndescription: A `demo` page\noutput-file: demo.html\n---\n'},
        {'cell_type': 'markdown', 'metadata': {}, 'source': 'See [`Loss.forward`](https://segcourse.github.io/segcourse/losses.html#loss.forward), '
                                                          '[data](01_data.ipynb), $x^2$.\n\n::: {.callout-note}\nA note\n:::'},
        {'cell_type': 'code', 'metadata': {}, 'source': 'print("hi")', 'outputs': [
            {'output_type': 'stream', 'name': 'stdout', 'text': 'hi ```\n'},
            {'output_type': 'display_data', 'data': {'image/png': png, 'text/plain': '<Figure>'}, 'metadata': {}},
            {'output_type': 'execute_result', 'data': {'text/html': '<table><tr><td>1</td></tr></table>', 'text/plain': 'df'}, 'metadata': {}},
            {'output_type': 'error', 'ename': 'E', 'evalue': 'x', 'traceback': ['\x1b[31mTraceback\x1b[0m', 'E: x']}]},
        {'cell_type': 'code', 'metadata': {}, 'source': '#| echo: false\n#| output: asis\nshow_doc(Loss)', 'outputs': [
            {'output_type': 'execute_result', 'data': {'text/markdown': '---\n\n### Loss\n\n```python\ndef Loss(\n):\n```', 'text/plain': ''}, 'metadata': {}}]},
        {'cell_type': 'code', 'metadata': {}, 'source': '#| include: false\nsecret()', 'outputs': []}]}
    (tmp_path/'nb.ipynb').write_text(json.dumps(nb))
    (docs := tmp_path/'docs').mkdir()
    NbToMd(docs, {'https://segcourse.github.io/segcourse/losses.html': 'losses.md', '01_data.ipynb': 'data.md'},
           {'losses.md': {'loss'}})(tmp_path/'nb.ipynb', 'demo')
    md = (docs/'demo.md').read_text()
    assert md.startswith('---\ndescription: A `demo` page\ntitle: Demo\n---\n\n# Demo\n')
    assert '[`Loss.forward`](losses.md#loss)' in md and '[data](data.md)' in md  # an undocumented method: its class
    assert '!!! note\n\n    A note' in md
    assert '```python\nprint("hi")\n```' in md and '````{ .text .nb-output }\nhi ```\n````' in md
    assert '![output](demo_files/fig-1.png){ .nb-output }' in md and (docs/'demo_files'/'fig-1.png').read_bytes()[:4] == b'\x89PNG'
    assert '<div class="nb-output nb-html">\n<table>' in md and 'Traceback\nE: x' in md
    assert '### Loss { #loss }' in md and 'show_doc' not in md and 'secret' not in md

class Browser:
    "Headless Chromium over its DevTools pipe (it reads commands on fd 3 and answers on fd 4)"
    def __init__(self, user_dir, timeout=60):
        to_chrome, self.w = os.pipe()
        self.r, from_chrome = os.pipe()
        def fds(): a, b = os.dup(to_chrome), os.dup(from_chrome); os.dup2(a, 3); os.dup2(b, 4)
        self.p = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, '--remote-debugging-pipe', f'--user-data-dir={user_dir}', 'about:blank'],
                                  pass_fds=(3, 4), preexec_fn=fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome); os.close(from_chrome)
        self.n, self.buf, self.events, self.timeout = 0, b'', [], timeout
        tid = self.call('Target.createTarget', url='about:blank')['targetId']
        self.sid = self.call('Target.attachToTarget', targetId=tid, flatten=True)['sessionId']
        for d in ('Page', 'Runtime', 'Network'): self.call(f'{d}.enable', page=True)

    def _next(self, deadline):
        while b'\0' not in self.buf:
            if not select.select([self.r], [], [], max(0, deadline - time.time()))[0]:
                raise TimeoutError(f"Chromium did not answer in {self.timeout}s")
            chunk = os.read(self.r, 1 << 20)
            if not chunk: raise RuntimeError(f"Chromium closed its DevTools pipe (exit code {self.p.poll()})")
            self.buf += chunk
        msg, self.buf = self.buf.split(b'\0', 1)
        return json.loads(msg)

    def call(self, method, page=False, **params):
        self.n += 1
        msg = {'id': self.n, 'method': method, 'params': params} | ({'sessionId': self.sid} if page else {})
        os.write(self.w, json.dumps(msg).encode() + b'\0')
        deadline = time.time() + self.timeout
        while (m := self._next(deadline)).get('id') != self.n: self.events.append(m)
        if 'error' in m: raise RuntimeError(f"{method}: {m['error']}")
        return m['result']

    def wait_event(self, method):
        deadline = time.time() + self.timeout
        while not any(e.get('method') == method for e in self.events): self.events.append(self._next(deadline))

    def open(self, url):
        "Load `url`; return the events it caused (requests, errors)"
        self.events = []
        self.call('Page.navigate', page=True, url=url)
        self.wait_event('Page.loadEventFired')
        return self.events

    def js(self, expr):
        r = self.call('Runtime.evaluate', page=True, expression=expr, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r: raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r['result'].get('value')

    def close(self):
        self.p.terminate(); self.p.wait(10)
        os.close(self.w); os.close(self.r)

@pytest.fixture(scope='module')
def chromium(tmp_path_factory):
    if not CHROMIUM: pytest.fail("Chromium is not installed, so the docs site cannot be checked: run `make docs-deps` "
                                 "(as root it runs `apt-get install -y chromium`)")
    b = Browser(tmp_path_factory.mktemp('chromium'))
    yield b
    b.close()

@pytest.fixture(scope='module')
def site(chromium, tmp_path_factory):
    out = tmp_path_factory.mktemp('www')/BASE
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--out', str(out)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"tools/build_docs.py failed:\n{r.stdout[-3000:]}\n{r.stderr[-6000:]}"
    return out

@pytest.fixture(scope='module')
def server(site):
    "The site's URL, served by `python -m http.server` on localhost under its published path"
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, '-m', 'http.server', str(port), '--bind', '127.0.0.1', '--directory', str(site.parent)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f'http://127.0.0.1:{port}/{BASE}/'
    try:
        for _ in range(100):
            try: urllib.request.urlopen(url, timeout=2).close(); break
            except OSError: time.sleep(0.1)
        else: pytest.fail(f"python -m http.server did not answer on {url}")
        yield url
    finally:
        p.terminate(); p.wait(10)

class Refs(HTMLParser):
    "The ids in a page and what it points at: links (`a`), and resources it loads (`src`, stylesheets, icons)"
    def __init__(self, text):
        super().__init__(); self.ids, self.links, self.loads = set(), [], []
        self.feed(text)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if a.get('src'): self.loads.append(a['src'])
        if tag == 'link' and a.get('href'): (self.links if a.get('rel') in ('canonical', 'alternate') else self.loads).append(a['href'])

def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r: return r.status
    except urllib.error.HTTPError as e: return e.code

def test_home_page_screenshot(chromium, server):
    CHECK.mkdir(exist_ok=True)
    shot = CHECK/'home.png'
    shot.unlink(missing_ok=True)
    chromium.call('Emulation.setDeviceMetricsOverride', page=True, width=1280, height=900, deviceScaleFactor=1, mobile=False)
    chromium.open(server + 'index.html')
    shot.write_bytes(base64.b64decode(chromium.call('Page.captureScreenshot', page=True, format='png')['data']))
    assert struct.unpack('>II', shot.read_bytes()[16:24]) == (1280, 900) and shot.stat().st_size > 20_000, f"bad screenshot {shot}"

def test_pages_links_and_images(chromium, site, server):
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))
    assert {'index.html', '404.html'} < set(pages) and len(pages) >= 4, pages
    doms, problems, status = {}, [], {}
    for page in pages:
        if (code := fetch(server + page)) != 200: problems.append(f"{page}: HTTP {code}"); continue
        events = chromium.open(server + page)
        for _ in range(100 if page == '404.html' else 0):  # the 404 page writes the site's page in after it loaded
            if chromium.js("!!document.querySelector('article h1')"): break
            time.sleep(0.1)
        reqs = {e['params']['requestId']: e['params']['request']['url'] for e in events if e.get('method') == 'Network.requestWillBeSent'}
        for e in events:
            m, p = e.get('method'), e.get('params', {})
            if m == 'Runtime.exceptionThrown': problems.append(f"{page}: JavaScript error {p['exceptionDetails'].get('exception', {}).get('description', p['exceptionDetails'].get('text'))}")
            if m == 'Network.loadingFailed': problems.append(f"{page}: loading {reqs.get(p['requestId'])} failed ({p.get('errorText')})")
            if m == 'Network.responseReceived' and p['response']['status'] >= 400: problems.append(f"{page}: {p['response']['url']} is HTTP {p['response']['status']}")
        bad_imgs = chromium.js('[...document.images].filter(i => !i.complete || !i.naturalWidth).map(i => i.src)')
        problems += [f"{page}: image {o} does not load" for o in bad_imgs]
        dom = chromium.js('document.documentElement.outerHTML')
        if '<article' not in dom or '<h1' not in dom: problems.append(f"{page}: Chromium shows no article with a title")
        doms[page] = Refs(dom)
    root = urlsplit(server)
    for page, refs in doms.items():
        for ref, is_load in [(o, False) for o in refs.links] + [(o, True) for o in refs.loads]:
            if ref.startswith(('mailto:', 'javascript:', 'data:', 'blob:')): continue
            target = urlsplit(urljoin(server + page, ref))
            if target.netloc != root.netloc:
                if is_load: problems.append(f"{page}: loads {ref} from the internet, so the site needs a network to render")
                continue
            if not target.path.startswith(root.path): problems.append(f"{page}: {ref} points outside the site"); continue
            path = target.path[len(root.path):] or 'index.html'
            if path not in status: status[path] = fetch(server + path)
            if status[path] != 200: problems.append(f"{page}: {ref} is broken (HTTP {status[path]})"); continue
            if target.fragment and path.endswith('.html'):
                ids = doms[path].ids if path in doms else Refs((site/path).read_text()).ids
                if target.fragment not in ids: problems.append(f"{page}: {ref} points to no element of {path} with id '{target.fragment}'")
    assert not problems, f"{len(set(problems))} problems with the site in Chromium:\n" + '\n'.join(sorted(set(problems)))

def _exported(mod_py):
    "Public functions and classes that a module exports in `__all__`"
    tree = ast.parse(Path(mod_py).read_text())
    names = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == '__all__'), [])
    defs = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return [o for o in names if o in defs and not o.startswith('_')]

def test_every_export_has_its_api_rendered(site):
    missing, n = [], 0
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        src = '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code')
        m = re.search(r'^\s*#\|\s*default_exp\s+(\S+)', src, re.M)
        if not m or not (mod := ROOT/'segcourse'/f"{m.group(1).replace('.', '/')}.py").exists(): continue
        page = site/(re.sub(r'^\d+[a-z]?_', '', nb.stem) + '.html')
        html = page.read_text() if page.exists() else ''
        for name in _exported(mod):
            n += 1
            # the heading nbdev links to, then the signature that names the symbol (nbdev 3 writes docments as comments in it)
            if not re.search(rf'<h\d id="{re.escape(name.lower())}">.*?</h\d>\s*<div class="[^"]*highlight[^"]*">'
                             rf'.*?{re.escape(name)}</span>', html, re.S):
                missing.append(f"{name} ({nb.name} -> {page.name})")
    assert n, "found no exported functions or classes"
    assert not missing, ("exported but without a rendered signature in the site (is its export cell hidden, or does show_doc "
                         "fail?):\n" + '\n'.join(missing))

def test_search_finds_a_symbol(chromium, site, server):
    index = json.loads((site/'search'/'search_index.json').read_text())
    assert {p.name for p in site.glob('*.html')} - {'404.html', '404-site.html'} <= {d['location'].split('#')[0] for d in index['docs']}, \
        "pages missing from the search index"
    chromium.open(server + 'index.html?q=SegDiceLoss')  # Material runs the query in `?q=` in its search worker
    for _ in range(100):
        hits = chromium.js('[...document.querySelectorAll(".md-search-result__link")].map(a => a.getAttribute("href"))')
        if hits: break
        time.sleep(0.1)
    assert any(urlsplit(h).path.endswith('/losses.html') for h in hits), f"searching SegDiceLoss in Chromium did not list losses.html: {hits}"

# --- nothing cut off, at a laptop's width -------------------------------------------------------------------------

WIDTH = 1280  # px: a laptop's window
MAX_SCROLLING = 1/20  # at most this share of the code, output and table blocks may scroll sideways
# What can scroll sideways: code and output blocks (`pre > code`), HTML outputs (tables), Markdown tables, display math.
# For each page: those blocks, the ones that scroll, figures and tables wider than the column, and each figure's size.
LAYOUT_JS = """(() => {
  const art = document.querySelector('.md-content__inner'), cs = getComputedStyle(art), r = art.getBoundingClientRect();
  const left = r.left + parseFloat(cs.paddingLeft), right = r.right - parseFloat(cs.paddingRight);
  const boxes = [...art.querySelectorAll('pre > code, .nb-html, .md-typeset__scrollwrap, math[display="block"]')]
    .filter(e => e.getClientRects().length && !e.closest('.nb-html *, details:not([open])'));
  const scrolls = boxes.filter(e => e.scrollWidth > e.clientWidth + 1);
  const what = e => (e.textContent.trim().split('\\n')[0] || e.tagName).slice(0, 60);
  const wide = [...art.querySelectorAll('img, table, .nb-html, pre')].filter(e => e.getClientRects().length)
    .filter(e => { const b = e.getBoundingClientRect(); return b.left < left - 1 || b.right > right + 1; })
    .filter(e => !e.closest('.nb-html, .md-typeset__scrollwrap') || e.matches('.nb-html, .md-typeset__scrollwrap'));
  const figs = [...art.querySelectorAll('img.nb-output')].map(i => [Math.round(i.getBoundingClientRect().width),
    Math.round(i.getBoundingClientRect().height), i.naturalWidth, i.naturalHeight]);
  return {blocks: boxes.length, scrolls: scrolls.map(what), wide: wide.map(e => e.tagName + ' ' + what(e)), figs,
          column: Math.round(right - left), page_scrolls: document.documentElement.scrollWidth > innerWidth};
})()"""

def measure_layout(browser, url, pages, width=WIDTH):
    "Open each page at `width` px in `browser`; {page: what `LAYOUT_JS` finds}"
    browser.call('Emulation.setDeviceMetricsOverride', page=True, width=width, height=900, deviceScaleFactor=1, mobile=False)
    res = {}
    for page in pages:
        browser.open(url + page)
        res[page] = browser.js(LAYOUT_JS)
    return res

def layout_summary(res):
    "One line for the blocks that scroll sideways and one for the figures' displayed and stored sizes"
    n = sum(o['blocks'] for o in res.values()); k = sum(len(o['scrolls']) for o in res.values())
    figs = sorted((f for o in res.values() for f in o['figs']), key=lambda f: f[0])
    med = figs[len(figs)//2] if figs else [0, 0, 0, 0]
    dense = sum(1 for f in figs if f[0] and f[2] >= 1.9*f[0])
    return (f"{k}/{n} blocks scroll sideways ({k/max(n, 1):.1%}) on {len(res)} pages at {WIDTH} px; "
            f"{sum(len(o['wide']) for o in res.values())} figures/tables wider than the column\n"
            f"{len(figs)} figures: displayed width min {figs[0][0] if figs else 0} / median {med[0]} / max {figs[-1][0] if figs else 0} px "
            f"(column {max((o['column'] for o in res.values()), default=0)} px); {dense} stored at 2x their displayed size or more")

def test_nothing_cut_off(chromium, site, server):
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html') if p.name not in ('404.html', '404-site.html'))
    res = measure_layout(chromium, server, pages)
    print('\n' + layout_summary(res))
    n = sum(o['blocks'] for o in res.values()); scrolls = [f"{p}: {s}" for p, o in res.items() for s in o['scrolls']]
    assert n > 100, f"only {n} code/output blocks found: is the selector still right?"
    assert len(scrolls) <= MAX_SCROLLING * n, (f"{len(scrolls)} of {n} blocks scroll sideways at {WIDTH} px (at most 1 in "
                                               f"{1/MAX_SCROLLING:.0f} may):\n" + '\n'.join(scrolls))
    wide = [f"{p}: {w}" for p, o in res.items() for w in o['wide']]
    assert not wide, "wider than the column:\n" + '\n'.join(wide)
    assert not [p for p, o in res.items() if o['page_scrolls']], "pages that scroll sideways"

def test_figures_zoom(chromium, site, server):
    "A click on a figure shows it at its stored size over the page; a second click closes it"
    page = next(p.name for p in sorted(site.glob('tutorial-*.html')) if 'nb-output' in p.read_text() and '<img' in p.read_text())
    chromium.open(server + page)
    assert chromium.js("document.querySelector('img.nb-output').click(), !!document.querySelector('.sc-zoom img')")
    assert chromium.js("document.querySelector('.sc-zoom').click(), !document.querySelector('.sc-zoom')")

# --- the course first ------------------------------------------------------------------------------------------

def test_course_first(chromium, site, server):
    "The sidebar opens with the lessons, numbered in teaching order; home's 'Next' is lesson 00; each label names one page"
    chromium.open(server + 'index.html')
    labels = chromium.js("[...document.querySelectorAll('.md-nav--primary > .md-nav__list > .md-nav__item')].map(li => "
                         "li.querySelector('label, a').textContent.trim())")
    assert labels[:3] == ['Home', 'Set up', 'Course'] and 'Library' in labels, labels
    lessons = chromium.js("[...document.querySelectorAll('.md-nav--primary > .md-nav__list > .md-nav__item')][2]"
                          ".querySelectorAll('nav a.md-nav__link').length ? [...[...document.querySelectorAll("
                          "'.md-nav--primary > .md-nav__list > .md-nav__item')][2].querySelectorAll('nav a.md-nav__link')]"
                          ".map(a => a.textContent.trim()) : []")
    n_tut = len(list((ROOT/'nbs'/'tutorials').glob('[0-9][0-9]_*.ipynb')))
    assert [o[:2] for o in lessons] == [f'{i:02d}' for i in range(n_tut)], lessons
    nxt = chromium.js("document.querySelector('.md-footer__link--next')?.getAttribute('href')")
    assert nxt and nxt.startswith('tutorial-'), nxt
    all_labels = chromium.js("[...document.querySelectorAll('.md-nav--primary a.md-nav__link')].map(a => a.textContent.trim())")
    words = [re.sub(r'^\d\d ', '', o).lower() for o in all_labels]
    assert len(set(words)) == len(words), sorted(o for o in words if words.count(o) > 1)
    assert 'models' not in words

def test_notebook_names_are_links(site):
    "A notebook named in prose or a table (`04_architectures`, tutorial 01) is a link to its page"
    nbs = {p.stem for p in (ROOT/'nbs').rglob('[0-9][0-9]*_*.ipynb')}
    unlinked = []
    for page in sorted(site.glob('*.html')):
        text = re.sub(r'<pre.*?</pre>', '', page.read_text(), flags=re.S)  # code blocks name files, not pages
        for m in re.finditer(r'(<a [^>]*>)?<code>(?:tutorials/)?(\d\d[a-z]?_[a-z0-9_]+)</code>', text):
            stem = re.sub(r'^\d+[a-z]?_', '', m.group(2))
            if m.group(1) or m.group(2) not in nbs or page.stem in (stem, f'tutorial-{stem}'): continue  # a page names itself
            unlinked.append(f"{page.name}: {m.group(2)}")
    assert not unlinked, "notebook names that are not links:\n" + '\n'.join(unlinked)

# --- the 404 page, at the root and under the prefix -------------------------------------------------------------

def serve_like_pages(directory, not_found):
    "Serve `directory` on localhost as GitHub Pages does: a missing path gets the file `not_found` with status 404"
    import http.server, threading, functools
    class Handler(http.server.SimpleHTTPRequestHandler):
        def send_error(self, code, message=None, explain=None):
            if code != 404: return super().send_error(code, message, explain)
            body = Path(not_found).read_bytes()
            self.send_response(404); self.send_header('Content-Type', 'text/html'); self.send_header('Content-Length', str(len(body)))
            self.end_headers(); self.wfile.write(body)
        def log_message(self, *args): pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler, directory=str(directory)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv

@pytest.mark.parametrize('at_root', [True, False])
def test_404_page(chromium, site, at_root):
    srv = serve_like_pages(site if at_root else site.parent, site/'404.html')
    home = f"http://127.0.0.1:{srv.server_address[1]}/" + ('' if at_root else f'{BASE}/')
    try:
        events = chromium.open(home + 'no/such/deep/page.html')
        for _ in range(100):  # the 404 page writes the site's page in after it loaded: wait for it
            if chromium.js("!!document.querySelector('a.md-logo, a.md-header__button')"): break
            time.sleep(0.1)
        failed = [e['params']['response']['url'] for e in events if e.get('method') == 'Network.responseReceived'
                  and e['params']['response']['status'] >= 400 and not e['params']['response']['url'].endswith('page.html')]
        failed += [e['params'].get('errorText') for e in events if e.get('method') == 'Network.loadingFailed']
        assert not failed, f"the 404 page at {home} loads broken files: {failed}"
        assert chromium.js("[...document.styleSheets].some(s => s.href && s.href.includes('assets/stylesheets/main'))")
        logo = chromium.js("document.querySelector('a.md-logo, a.md-header__button').href")
        assert logo.rstrip('/') + '/' in (home, home + 'index.html') or logo in (home, home + 'index.html'), (logo, home)
        assert fetch(logo) == 200
    finally: srv.shutdown()
