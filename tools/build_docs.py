"""Build the docs site offline: nbdev's processed notebooks -> Markdown -> mkdocs-material -> `_site/`.

`nbdev-docs` renders `_proc/` (the notebooks with `show_doc` cells added and executed, exported code hidden) with
Quarto, which cannot be installed on the course machines. This script runs the same processing (`nbdev.serve.proc_nbs`)
and renders the result with mkdocs-material instead, with nothing fetched from the internet: no web fonts, the search
index built in, equations turned into MathML at build time. Page names follow Quarto's (`losses.html`), so nbdev's
links to `{doc_host}{doc_baseurl}/losses.html#diceloss` become links inside the site.

    python tools/build_docs.py [--out _site]      # what `make docs` runs

The Markdown and `mkdocs.yml` are written to `_mkdocs/`. Notebooks show their stored outputs: nothing is run but what
nbdev runs for `show_doc` (imports, exported cells, and any cell that mixes an import with other code, see nbdev's FAQ).
This file is also the mkdocs hook (`on_page_content`) that writes the MathML.

Material for MkDocs gets critical fixes until May 2027 (NO_MKDOCS_2_WARNING quiets its banner saying so); Zensical, its
successor by the same team, was at 0.1 when this was written. The Markdown written here is plain enough for either."""
import argparse, base64, html, json, os, re, shutil, subprocess, sys, time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT/'_mkdocs'
COLAB_BADGE = 'https://colab.research.google.com/assets/colab-badge.svg'
_re_num = re.compile(r'^(\d+)[a-z]?_')

def colab_badge(nb_name, repo='segcourse/segcourse', branch='main'):
    "The Markdown of the Colab badge that each tutorial notebook `nb_name` (its path under nbs/, e.g. 'tutorials/01_camvid') carries"
    return f'[![Open In Colab]({COLAB_BADGE})](https://colab.research.google.com/github/{repo}/blob/{branch}/nbs/{nb_name}.ipynb)'

def is_tutorial(nb_path):
    "Tutorials are the notebooks in `nbs/tutorials/`; the library's are numbered in `nbs/` itself"
    return Path(nb_path).parent.name == 'tutorials'

def notebooks(folder):
    "Every notebook under `folder`, skipping hidden and `_` folders (nbdev's `_proc`, checkpoints)"
    folder = Path(folder)
    return [p for p in folder.rglob('*.ipynb') if not any(o.startswith(('.', '_')) for o in p.relative_to(folder).parts)]

def tutorials_without_badge(nbs_path=ROOT/'nbs', repo='segcourse/segcourse', branch='main'):
    "Paths (under `nbs_path`, without .ipynb) of the tutorial notebooks that lack their Colab badge"
    res = []
    for p in sorted(notebooks(nbs_path)):
        if not is_tutorial(p): continue
        name = p.relative_to(nbs_path).with_suffix('').as_posix()
        md = ''.join(''.join(c['source']) for c in json.loads(p.read_text())['cells'] if c['cell_type'] == 'markdown')
        if colab_badge(name, repo, branch) not in md: res.append(name)
    return res

# --- notebook -> Markdown ----------------------------------------------------------------------------------------

_re_ansi = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')
_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_img_types = {'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/svg+xml': 'svg'}

def _src(o): return ''.join(o) if isinstance(o, list) else (o or '')

def _fence(text, lang='text', cls=''):
    "A fenced block that no run of backticks in `text` can close"
    ticks = '`' * max(3, max((len(r) for r in re.findall('`+', text)), default=0) + 1)
    attrs = f'{{ .{lang} .{cls} }}' if cls else lang
    return f'{ticks}{attrs}\n{text.rstrip()}\n{ticks}'

def _directives(src):
    "Split the `#|` directive lines off a code cell"
    d, code = {}, []
    for l in src.splitlines():
        m = _re_dir.match(l)
        if m and not code: d[m.group(1)] = m.group(2).strip('"\'')
        else: code.append(l)
    return d, '\n'.join(code).strip('\n')

def _frontmatter(cells):
    import yaml
    if cells and cells[0]['cell_type'] == 'raw' and _src(cells[0]['source']).lstrip().startswith('---'):
        return yaml.safe_load(_src(cells[0]['source']).strip().strip('-')) or {}, cells[1:]
    return {}, cells

_callouts = dict(note='note', tip='tip', warning='warning', important='danger', caution='warning')
_re_callout = re.compile(r'^:::+\s*\{\.callout-(\w+)([^}]*)\}\s*\n(.*?)^:::+\s*$', re.M | re.S)

def _callout(m):
    "Quarto's `::: {.callout-note}` as a Material admonition"
    title = re.search(r'title="([^"]*)"', m.group(2))
    body = '\n'.join('    '+l if l.strip() else '' for l in m.group(3).strip('\n').splitlines())
    return f'!!! {_callouts.get(m.group(1), "note")}' + (f' "{title.group(1)}"' if title else '') + f'\n\n{body}\n'

_re_fenced = re.compile(r'(^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\2[ \t]*$)', re.M | re.S)
# A Markdown link (left as it is), a notebook named in inline code (`04_architectures`, `nbs/tutorials/01_camvid.ipynb`),
# or a lesson named in prose ("tutorial 01", "lesson 04")
_re_nbref = re.compile(r'(?P<link>!?\[[^\]\n]*\]\([^)\n]*\))'
                       r'|`(?:nbs/)?(?P<tut>tutorials/)?(?P<nb>\d\d[a-z]?_\w+)(?:\.ipynb)?`'
                       r'|(?P<code>`+[^`\n]*`+)'
                       r'|\b(?P<word>[Ll]essons?|[Tt]utorials?)\s+(?P<num>\d\d)\b(?!\.\d)')
_re_lesson_word = re.compile(r'(?i)(lesson|tutorial)s?\W{0,3}(\s+\S+){0,2}\s*$')

class NbToMd:
    "Write one processed notebook as a Markdown page, its images beside it in `{stem}_files/`"
    def __init__(self, docs, links, ids, names=None):
        self.docs,self.links,self.ids = docs,links,ids  # links: url (absolute, .ipynb, .html) -> page.md; ids: page.md -> show_doc ids
        self.names = names or {'tutorials': {}, 'library': {}}  # notebook name without .ipynb -> page.md, for lessons and library

    def __call__(self, nb_path, stem, title=None):
        nb = json.loads(Path(nb_path).read_text())
        fm, cells = _frontmatter(nb['cells'])
        if title: fm['title'] = title
        self.stem, self.n_img = stem, 0
        meta = {k: fm[k] for k in ('title', 'description') if fm.get(k)}
        out = []
        if fm.get('title'): out.append(f"# {fm['title']}")
        if fm.get('description'): out.append(f"{self.md(fm['description'])}\n{{: .description }}")
        for c in cells:
            if c['cell_type'] == 'markdown': out.append(self.markdown(c))
            elif c['cell_type'] == 'code': out += self.code(c)
        import yaml
        head = f'---\n{yaml.safe_dump(meta, allow_unicode=True, width=1000)}---\n\n' if meta else ''
        (self.docs/f'{stem}.md').write_text(head + '\n\n'.join(o for o in out if o.strip()) + '\n')
        return fm

    def md(self, text):
        "Markdown as Quarto reads it, rewritten for Python-Markdown: site links, callouts, display math on its own"
        text = re.sub(r'\]\(([^)\s#]*)(#[^)\s]*)?\)', self.link, text)
        text = self.link_notebooks(text)
        text = text.replace(f']({COLAB_BADGE})', '](assets/colab-badge.svg)')
        text = _re_callout.sub(_callout, text)
        return re.sub(r'^(\$\$.+?\$\$)[ \t]*$', r'\n\1\n', text, flags=re.M | re.S)

    def link(self, m):
        "A link to a notebook or to the published site, as a link to its page here"
        url, frag = m.group(1), (m.group(2) or '')[1:]
        if url not in self.links: return m.group(0)
        page, ids = self.links[url], self.ids.get(self.links[url], set())
        # nbdev links `Class.method` to `#class.method`, which exists only where the method has its own show_doc
        if '.' in frag and frag not in ids: frag = frag.split('.')[0] if frag.split('.')[0] in ids else ''
        return f"]({page}{'#'+frag if frag else ''})"

    def link_notebooks(self, text):
        "Notebook names in inline code (`04_architectures`) and lessons in prose (tutorial 01) as links to their pages; code blocks untouched"
        tut, lib = self.names['tutorials'], self.names['library']
        by_num = {k[:2]: v for k, v in tut.items()}
        def _sub(m):
            if m.group('nb'):
                name = m.group('nb')
                lesson = bool(m.group('tut')) or bool(_re_lesson_word.search(m.string[max(0, m.start()-30):m.start()]))
                page = (tut.get(name) if lesson else None) or lib.get(name) or tut.get(name)
                return f'[{m.group(0)}]({page})' if page and page != self.stem+'.md' else m.group(0)
            if m.group('num') and (page := by_num.get(m.group('num'))) and page != self.stem+'.md':
                return f"[{m.group('word')} {m.group('num')}]({page})"
            return m.group(0)
        parts = _re_fenced.split(text)  # [prose, fenced block, fence, prose, ...]
        return ''.join(_re_nbref.sub(_sub, o) if i % 3 == 0 else o for i, o in enumerate(parts) if i % 3 != 2)

    def markdown(self, c):
        text = _src(c['source'])
        for name, data in c.get('attachments', {}).items():
            mime, b64 = next(iter(data.items()))
            text = text.replace(f'attachment:{name}', self.save(base64.b64decode(b64), Path(name).suffix.lstrip('.') or _img_types.get(mime, 'bin')))
        return self.md(text)

    def save(self, data, ext):
        "Write an image next to the page; return its link relative to the page"
        self.n_img += 1
        d = self.docs/f'{self.stem}_files'
        d.mkdir(exist_ok=True)
        (d/f'fig-{self.n_img}.{ext}').write_bytes(data if isinstance(data, bytes) else data.encode())
        return f'{self.stem}_files/fig-{self.n_img}.{ext}'

    def code(self, c):
        d, src = _directives(_src(c['source']))
        if not src.strip() and not d: return []  # nbdev empties exported and hidden cells
        if d.get('include') == 'false': return []
        res = []
        if src.strip() and d.get('echo') != 'false':
            lang = c.get('metadata', {}).get('language', 'python')
            block = _fence(src, lang)
            if 'code-fold' in d: block = f'???{"+" if d["code-fold"] == "show" else ""} abstract "{d.get("code-summary", "Code")}"\n\n' + '\n'.join('    '+l for l in block.splitlines())
            res.append(block)
        if d.get('output') != 'false': res += [self.output(o, is_doc='show_doc(' in src) for o in c.get('outputs', [])]
        return res

    def output(self, o, is_doc=False):
        t = o['output_type']
        if t == 'stream': return _fence(_re_ansi.sub('', _src(o['text'])), 'text', 'nb-output')
        if t == 'error': return _fence(_re_ansi.sub('', '\n'.join(o.get('traceback', []))), 'text', 'nb-output')
        data = o.get('data', {})
        if 'text/markdown' in data:
            text = self.md(_src(data['text/markdown']))
            # nbdev links a symbol to `page.html#name.lower()`, Quarto's id for its heading: give Python-Markdown the same id
            if is_doc: text = re.sub(r'^(#{1,6}) ([^\n{]+?)\s*$', lambda m: f'{m.group(1)} {m.group(2)} {{ #{m.group(2).lower()} }}', text, count=1, flags=re.M)
            return text
        for mime, ext in _img_types.items():
            if mime not in data: continue
            raw = _src(data[mime])
            # a 'retina' figure is stored at twice its size and says the size to show it at: keep that, so it stays sharp
            w = o.get('metadata', {}).get(mime, {}).get('width')
            return f'![output]({self.save(raw if ext == "svg" else base64.b64decode(raw), ext)}){{ .nb-output{f" width={w}" if w else ""} }}'
        if 'text/html' in data: return f'<div class="nb-output nb-html">\n{_src(data["text/html"]).strip()}\n</div>'
        if 'text/plain' in data: return _fence(_re_ansi.sub('', _src(data['text/plain'])), 'text', 'nb-output')
        return ''

# --- the site ----------------------------------------------------------------------------------------------------

_css = """
.md-typeset .description { font-style: italic; font-size: 1.15em; opacity: .75; margin-top: -.5em; }
.md-typeset .nb-output, .md-typeset .nb-output pre > code { background: none; }
.md-typeset .nb-output { border-left: 2px solid lightsalmon; padding-left: .6rem; margin-left: .8rem; }
.md-typeset .nb-html { overflow-x: auto; max-width: 100%; }
.md-typeset .nb-html table { font-size: .7rem; }
.md-typeset .nb-html td, .md-typeset .nb-html th { padding: .3em .5em; }
.md-typeset img.nb-output { display: block; border-left: none; padding-left: 0; margin-left: 0; max-width: 100%; height: auto; cursor: zoom-in; }
.md-typeset img { max-width: 100%; height: auto; }
.md-typeset math[display="block"] { display: block; margin: 1em 0; overflow-x: auto; }
/* Nothing cut off: code and printed output wrap at the column instead of scrolling sideways */
.md-typeset pre > code { white-space: pre-wrap; overflow-wrap: anywhere; }
.md-typeset .nb-output pre > code { font-size: .75rem; }
/* Click a figure to see it at its full size */
.sc-zoom { position: fixed; inset: 0; z-index: 10; background: rgba(0, 0, 0, .85); display: flex; align-items: center;
           justify-content: center; cursor: zoom-out; }
.sc-zoom img { max-width: 96vw; max-height: 96vh; background: white; }
"""

# Click to zoom: a figure opens at its full (stored) size over the page; a click or Escape closes it.
_zoom_js = """document.addEventListener('click', e => {
  const img = e.target.closest('.md-typeset img.nb-output');
  const open = document.querySelector('.sc-zoom');
  if (open) { open.remove(); return; }
  if (!img) return;
  const box = document.createElement('div'); box.className = 'sc-zoom';
  box.innerHTML = `<img src="${img.currentSrc || img.src}" alt="${img.alt}">`;
  document.body.appendChild(box);
});
document.addEventListener('keydown', e => { if (e.key === 'Escape') document.querySelector('.sc-zoom')?.remove(); });
"""

# The 404 page is served for a missing page at any depth, at the site's root or under its prefix (e.g. /segcourse/).
# Its own HTML loads nothing: a script reads the site's page (`404-site.html`, links under the prefix), points its links at
# the root it is served from, and writes it in. (Relative links with a `<base>` written in by a script fail: Chromium's
# preload scanner fetches the stylesheets against the missing page's folder before the script has run.)
_404_loader = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Page not found</title><link rel="icon" href="data:,">
<script>(() => {{ const p = '{prefix}', root = p !== '/' && location.pathname.startsWith(p) ? p : '/';
  fetch(root + '404-site.html').then(r => r.text()).then(t => {{
    document.open(); document.write(p === root ? t : t.split('"' + p).join('"' + root)); document.close(); }}); }})();</script>
</head><body><noscript><h1>Page not found</h1><p><a href="/">The course's home page</a></p></noscript></body></html>
"""

# A local copy of the Colab badge, so a tutorial page shows it offline; the link still opens Colab.
_badge_svg = """<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img" aria-label="Open In Colab">
<rect width="117" height="20" rx="3" fill="#555"/><rect x="38" width="79" height="20" rx="3" fill="#f9ab00"/>
<rect x="38" width="4" height="20" fill="#f9ab00"/>
<g fill="#fff" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11">
<text x="6" y="14">Open</text><text x="44" y="14">In Colab</text></g></svg>
"""

_media = {'.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp', '.mp4', '.webm', '.pdf', '.csv'}  # not models or data nbdev copied

def _page_stem(nb_path, fm):
    "The page's name: `output-file` from nbdev's frontmatter, else the name without its number; `tutorial-` before a tutorial's"
    # nbdev gives nbs/tutorials/02_a2d2.ipynb `output-file: a2d2.html`, the name of the library's page from nbs/02_a2d2.ipynb
    stem = Path(fm['output-file']).stem if fm.get('output-file') else _re_num.sub('', Path(nb_path).stem)
    return stem if not is_tutorial(nb_path) or stem.startswith('tutorial-') else f'tutorial-{stem}'

def doc_ids(nb_path):
    "The ids of the `show_doc` headings in a processed notebook: each documented symbol's name, lower case"
    res = set()
    for c in json.loads(Path(nb_path).read_text())['cells']:
        for o in c.get('outputs', []):
            md = _src(o.get('data', {}).get('text/markdown', ''))
            if 'show_doc(' in _src(c['source']) and (m := re.search(r'^#{1,6} ([^\n{]+?)\s*$', md, re.M)): res.add(m.group(1).lower())
    return res

START = 'install'  # the set-up page, right after the home page

def _page_order(p):
    p = Path(p)
    return (p.stem != 'index', p.stem != START, not is_tutorial(p), not _re_num.match(p.name), p.name)

# Sidebar labels for library pages whose notebook title would repeat a lesson's or not say what the page holds
# (the page's title too): "Architectures", "Comparing ..." and "A2D2" are lessons' titles.
LABELS = {'archs': 'Architecture registry', 'compare': 'Comparison runs', 'a2d2': 'A2D2 classes'}

def nav_label(nb_path, stem, title):
    "A lesson's label is its number and title ('04 Architectures'); a library page's its title, or its entry in `LABELS`"
    if is_tutorial(nb_path): t = re.sub(r'^Tutorial:\s*', '', title); return Path(nb_path).name[:2] + ' ' + t[:1].upper() + t[1:]
    return LABELS.get(stem, title)

def write_pages(proc, cfg):
    "Markdown for every processed notebook in `proc`, plus the files around them; returns [(notebook, page, title)]"
    docs = BUILD/'docs'
    if docs.exists(): shutil.rmtree(docs)
    docs.mkdir(parents=True)
    nbs = sorted(notebooks(proc), key=_page_order)
    fms = {p: _frontmatter(json.loads(p.read_text())['cells'])[0] for p in nbs}
    stems = {p: _page_stem(p, fms[p]) for p in nbs}
    site = f"{cfg.doc_host}{cfg.doc_baseurl}".rstrip('/')
    links, nb_pages = {}, {'tutorials': {}, 'library': {}}
    for p, s in stems.items(): nb_pages['tutorials' if is_tutorial(p) else 'library'][p.stem] = f'{s}.md'
    for p, s in sorted(stems.items(), key=lambda o: not is_tutorial(o[0])):  # library last: a bare name means the library's
        names = [f'tutorials/{p.name}', p.name] if is_tutorial(p) else [p.name, f'../{p.name}']
        links.update({f'{site}/{s}.html': f'{s}.md', f'{s}.html': f'{s}.md', **{o: f'{s}.md' for o in names}})
    if 'index' in stems.values(): links[f'{site}/'] = 'index.md'
    ids = {f'{stems[p]}.md': doc_ids(p) for p in nbs}
    conv = NbToMd(docs, links, ids, nb_pages)
    pages = []
    for p in nbs:
        title = LABELS.get(stems[p]) if not is_tutorial(p) else None
        conv(p, stems[p], title)
        pages.append((p, stems[p], title or str(fms[p].get('title', stems[p]))))
    for f in Path(proc).rglob('*'):  # images and other files the notebooks link to, as nbdev copied them
        rel = f.relative_to(proc)
        if f.is_file() and f.suffix.lower() in _media and not rel.parts[0].startswith(('.', '_')):
            (docs/rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, docs/rel)
    (docs/'assets').mkdir(exist_ok=True)
    (docs/'assets'/'colab-badge.svg').write_text(_badge_svg)
    (docs/'assets'/'segcourse.css').write_text(_css)
    (docs/'assets'/'zoom.js').write_text(_zoom_js)
    return pages

def mkdocs_config(pages, cfg):
    "mkdocs.yml: the course first in the sidebar (home, set-up, the lessons 00-10), then the library 00-99, search, no web fonts"
    entry = lambda p, s, t: {nav_label(p, s, t): f'{s}.md'}
    lib = [entry(*o) for o in pages if _re_num.match(o[0].name) and not is_tutorial(o[0])]  # 00_core .. 99_all
    tut = [entry(*o) for o in pages if is_tutorial(o[0])]
    other = [entry(*o) for o in pages if not _re_num.match(o[0].name) and o[1] not in ('index', START)]
    nav = [{'Home': 'index.md'}] if any(o[1] == 'index' for o in pages) else []
    nav += [entry(*o) for o in pages if o[1] == START]
    nav += [{k: v} for k, v in (('Course', tut), ('Library', lib), ('More', other)) if v]
    return {
        'site_name': cfg.title, 'site_description': cfg.get('description', ''),
        'site_url': f"{cfg.doc_host}{cfg.doc_baseurl}/", 'docs_dir': 'docs', 'use_directory_urls': False,
        'theme': {'name': 'material', 'font': False, 'icon': {'repo': 'fontawesome/brands/github'},
                  'palette': {'primary': 'indigo', 'accent': 'deep orange'},
                  'features': ['navigation.sections', 'navigation.top', 'navigation.footer', 'toc.follow',
                               'search.suggest', 'search.highlight', 'content.code.copy']},
        'extra': {'social': [{'icon': 'fontawesome/brands/github', 'link': cfg.git_url, 'name': 'Source on GitHub'}]},
        'extra_css': ['assets/segcourse.css'], 'extra_javascript': ['assets/zoom.js'],
        'plugins': ['search'],  # not Material's `offline` plugin: its file:// search loads a shim from a CDN
        'hooks': [str(Path(__file__).resolve())],
        'nav': nav,
        'markdown_extensions': [
            'attr_list', 'md_in_html', 'admonition', 'tables', 'footnotes', 'def_list', 'pymdownx.details',
            {'toc': {'permalink': True}}, {'pymdownx.highlight': {'anchor_linenums': False}},
            'pymdownx.superfences', 'pymdownx.inlinehilite', {'pymdownx.arithmatex': {'generic': True}}],
        'validation': {'omitted_files': 'warn', 'absolute_links': 'info', 'unrecognized_links': 'warn', 'anchors': 'warn'},
    }

def build(out=ROOT/'_site', n_workers=2):
    "Process the notebooks, write the Markdown and mkdocs.yml, build the site into `out`; returns the pages"
    os.chdir(ROOT)  # nbdev reads pyproject.toml from the working directory
    from nbdev.config import get_config
    from nbdev.serve import proc_nbs
    import yaml
    cfg = get_config()
    t0 = time.time()
    proc = proc_nbs(n_workers=n_workers)
    print(f"processed the notebooks into {proc.relative_to(ROOT)}/ in {time.time()-t0:.0f}s", file=sys.stderr)
    pages = write_pages(proc, cfg)
    (BUILD/'mkdocs.yml').write_text(yaml.safe_dump(mkdocs_config(pages, cfg), sort_keys=False, allow_unicode=True))
    t0 = time.time()
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--clean',
                        '-f', str(BUILD/'mkdocs.yml'), '-d', str(Path(out).resolve())], env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'})
    if r.returncode: sys.exit(f"mkdocs could not build the site from {BUILD/'docs'} (see its messages above); "
                              "a broken link or anchor names the page it is on")
    fix_404(Path(out)/'404.html', urlsplit(cfg.doc_baseurl or '/').path)
    print(f"built {len(pages)} pages into {out} in {time.time()-t0:.0f}s", file=sys.stderr)
    if missing := tutorials_without_badge(cfg.nbs_path, f'{cfg.user}/{cfg.repo}', cfg.branch):
        print(f"WARNING: tutorials without their Colab badge: {', '.join(missing)} "
              f"(add a Markdown cell after the title, e.g. {colab_badge(missing[0], f'{cfg.user}/{cfg.repo}', cfg.branch)})", file=sys.stderr)
    return pages

def fix_404(fn, prefix):
    "Make the 404 page work at the site's root and under `prefix`: the page itself in `404-site.html`, loaded by a script"
    prefix = '/' + prefix.strip('/') + '/' if prefix.strip('/') else '/'
    fn = Path(fn)
    (fn.parent/'404-site.html').write_text(fn.read_text())
    fn.write_text(_404_loader.format(prefix=prefix))

# --- mkdocs hooks ------------------------------------------------------------------------------------------------

def on_page_context(context, page, config, nav):
    "The home page's 'Next' is lesson 00, the way into the course (the set-up page is beside it in the sidebar)"
    if page.file.src_uri == 'index.md':
        first = next((p for p in nav.pages if p.file.src_uri.startswith('tutorial-')), None)
        if first: page.next_page = first
    return context

_re_math = re.compile(r'<(span|div) class="arithmatex">\\[(\[](.*?)\\[)\]]</\1>', re.S)

def on_page_content(html_text, page, config, files):
    "Equations as MathML, which browsers draw themselves: no MathJax to fetch"
    from latex2mathml.converter import convert
    def _mathml(m):
        tex = html.unescape(m.group(2))
        try: return convert(tex, display='block' if m.group(1) == 'div' else 'inline')
        except Exception as e: raise ValueError(f"{page.file.src_path}: latex2mathml cannot read the equation {tex!r} ({e}): write it with simpler LaTeX") from e
    return _re_math.sub(_mathml, html_text)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT/'_site'), help='where to write the site')
    ap.add_argument('--n-workers', type=int, default=min(2, os.cpu_count() or 1), help='processes for nbdev')
    a = ap.parse_args()
    build(a.out, a.n_workers)
