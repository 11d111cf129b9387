"""Build the book's static website (./run site):

    python -m kafkabook.site build [--fresh] [--no-strict]   notebooks executed against the broker -> _build/html
                                                            (executed outputs reused from _build/.jupyter_cache
                                                            unless the notebook or what it depends on changed;
                                                            --fresh: empty the cache, rebuild and execute all)
    python -m kafkabook.site vendor                                 only fetch the npm assets the site ships
    python -m kafkabook.site serve [--port 8000]                    look at _build/html on http://127.0.0.1:8000

`build()` runs jupyter-book (every notebook executed at build time against the running broker, warnings
are errors), then checks that the site is self-contained: no built page loads a script, stylesheet or
font from another host. What the pages would otherwise take from CDNs — the ipywidgets HTML manager
(embed.js, only on pages with widgets), MathJax, and a Hangul web font — comes from the npm registry with npm
itself (`npm pack`, pinned versions, integrity checked), is cached under _build/.vendor/ and is copied
into the site's _static/vendor/ by the Sphinx extension book/_ext/offline_assets.py.
"""
import argparse
import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from .errors import KafkaBookError
from .settings import ROOT

BUILD_DIR = ROOT / "_build"
HTML_DIR = BUILD_DIR / "html"
VENDOR_DIR = BUILD_DIR / ".vendor"


class SiteError(KafkaBookError):
    """The site could not be built, or is not self-contained."""


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    integrity: str  # the registry's sha512, checked against the downloaded tarball
    into: str  # folder under _static/vendor/
    files: tuple  # what to copy: paths under the package's folder, or folders

    @property
    def spec(self):
        return f"{self.name}@{self.version}"

    @property
    def tarball(self):
        return self.name.lstrip("@").replace("/", "-") + f"-{self.version}.tgz"


NPM_PACKAGES = (
    # the ipywidgets 8 embedder: embed.js bundles @jupyter-widgets/base, controls and output without
    # require.js (1.9 MB; embed-amd.js + require.js: 3.7 MB), and loads its Font Awesome files from its
    # own folder (webpack's public path is the script's folder)
    NpmPackage("@jupyter-widgets/html-manager", "1.0.15",
               "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
               "jupyter-widgets", ("dist/embed.js", "dist/*.woff2", "dist/*.woff", "dist/embed.js.LICENSE.txt",
                                   "LICENSE")),
    NpmPackage("mathjax", "3.2.2",
               "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
               "mathjax", ("es5/tex-mml-chtml.js", "es5/output/chtml/fonts/woff-v2", "es5/input/tex/extensions",
                           "es5/ui", "es5/a11y", "LICENSE")),
    # Noto Sans KR, split by Google into ~120 unicode-range pieces: a page downloads only the pieces it uses
    NpmPackage("@fontsource/noto-sans-kr", "5.3.0",
               "sha512-/JnpTjaCOXW7xUoqOyCVYSr05VOkDy5Yla9O+WAEiS7u+yYLsmHoqj6v1W0bf91G8G3XA2+NnRS3CX2Tf/FVZg==",
               "noto-sans-kr", ("400.css", "700.css", "files/*-400-normal.woff2", "files/*-700-normal.woff2",
                                "LICENSE")),
)
FONT_CSS = "vendor/noto-sans-kr/noto-sans-kr.css"


def _sri(path):
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _npm_pack(pkg, dest):
    """Download the package's tarball from the npm registry with npm itself; check its integrity."""
    tarball = dest / pkg.tarball
    if tarball.exists() and _sri(tarball) == pkg.integrity:
        return tarball
    npm = shutil.which("npm")
    if not npm:
        raise SiteError("npm이 없습니다. 사이트에 실을 자바스크립트와 글꼴을 npm 레지스트리에서 받으려면 Node.js(npm)를 설치하세요"
                        " (예: apt-get install -y npm).")
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([npm, "pack", pkg.spec, "--json", "--pack-destination", str(dest)],
                          capture_output=True, text=True, cwd=dest)
    if proc.returncode != 0:
        raise SiteError(f"npm pack {pkg.spec} 실패:\n{proc.stderr.strip()[-2000:]}")
    name = json.loads(proc.stdout)[0]["filename"]
    got = dest / name
    if got != tarball:
        got.replace(tarball)
    if _sri(tarball) != pkg.integrity:
        tarball.unlink()
        raise SiteError(f"{pkg.spec}: 받은 파일의 무결성 값이 고정해 둔 값과 다릅니다.")
    return tarball


def _wanted(member, patterns):
    rel = member[len("package/"):]
    for pattern in patterns:
        if "*" in pattern:
            if Path(rel).match(pattern) and Path(rel).parent == Path(pattern).parent:
                return rel
        elif rel == pattern or rel.startswith(pattern.rstrip("/") + "/"):
            return rel
    return None


def _extract(pkg, tarball, target):
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            rel = _wanted(member.name, pkg.files)
            if not member.isfile() or rel is None:
                continue
            out = target / rel
            if ".." in Path(rel).parts:
                raise SiteError(f"{pkg.spec}: 이상한 경로 {member.name}")
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src:
                out.write_bytes(src.read())
    # keep the folders flat where the page expects them
    for sub in ("dist", "es5"):
        inner = target / sub
        if inner.is_dir():
            for item in inner.iterdir():
                shutil.move(str(item), target / item.name)
            inner.rmdir()


def _font_css(folder):
    """One stylesheet with the @font-face rules of weights 400 and 700, woff2 only (every current browser)."""
    parts = []
    for weight in ("400", "700"):
        css = (folder / f"{weight}.css").read_text(encoding="utf-8")
        css = re.sub(r",\s*url\([^)]*\.woff\)\s*format\('woff'\)", "", css)
        parts.append(css)
        (folder / f"{weight}.css").unlink()
    (folder / "noto-sans-kr.css").write_text("\n".join(parts), encoding="utf-8")


def vendor(cache=VENDOR_DIR):
    """Fetch (once) and unpack the npm assets; return the folder to add to html_static_path.

    The returned folder holds vendor/<name>/..., so pages reach them as _static/vendor/<name>/...
    """
    cache = Path(cache)
    static = cache / "static"
    stamp = static / "vendor" / "packages.json"
    want = [p.spec + " " + p.integrity + " " + " ".join(p.files) for p in NPM_PACKAGES]
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return static
    shutil.rmtree(static, ignore_errors=True)
    for pkg in NPM_PACKAGES:
        tarball = _npm_pack(pkg, cache / "npm")
        _extract(pkg, tarball, static / "vendor" / pkg.into)
    _font_css(static / "vendor" / "noto-sans-kr")
    stamp.write_text(json.dumps(want, indent=1))
    return static


# --- self-containment check -------------------------------------------------------------------

class _AssetParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.assets = []  # (kind, url)
        self._in_style = False
        self.styles = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.assets.append(("script", a["src"]))
        elif tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").lower().split()
            if {"stylesheet", "preload", "modulepreload", "icon", "manifest"} & set(rel):
                self.assets.append(("link " + " ".join(rel), a["href"]))
        elif tag in ("img", "iframe", "source", "audio", "video", "embed") and a.get("src"):
            self.assets.append((tag, a["src"]))
        elif tag == "style":
            self._in_style = True
        if a.get("style"):
            self.styles.append(a["style"])

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


def is_remote(url):
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") or url.strip().startswith("//")


def remote_assets(html_dir=HTML_DIR):
    """Every script, stylesheet, font or image a built page would load from another host: [(file, kind, url)]."""
    html_dir = Path(html_dir)
    found = []
    for page in sorted(html_dir.rglob("*.html")):
        parser = _AssetParser()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        for kind, url in parser.assets:
            if is_remote(url):
                found.append((str(page.relative_to(html_dir)), kind, url))
        for css in parser.styles:
            for m in CSS_URL.finditer(css):
                url = m.group(1) or m.group(2)
                if is_remote(url):
                    found.append((str(page.relative_to(html_dir)), "inline css", url))
    for sheet in sorted(html_dir.rglob("*.css")):
        for m in CSS_URL.finditer(sheet.read_text(encoding="utf-8", errors="replace")):
            url = m.group(1) or m.group(2)
            if is_remote(url):
                found.append((str(sheet.relative_to(html_dir)), "css", url))
    return found


# --- page weight ------------------------------------------------------------------------------

_FONT_FACE = re.compile(r"@font-face\s*{([^}]*)}", re.S)
_RANGE = re.compile(r"U\+([0-9a-f?]+)(?:-([0-9a-f]+))?", re.I)


def _local(page, url, html_dir):
    """The file under html_dir that `url` (as written in `page`) names, or None (remote, data:, missing)."""
    url = url.strip()
    if not url or is_remote(url) or url.startswith(("data:", "#", "mailto:", "javascript:")):
        return None
    path = urlsplit(url).path
    if not path:
        return None
    target = (Path(html_dir) / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
    target = Path(os.path.normpath(target))
    return target if target.is_file() else None


def _range_set(text):
    return {c for lo, hi in _ranges(text) for c in range(lo, hi + 1)}


def _ranges(text):
    out = []
    for lo, hi in _RANGE.findall(text):
        if "?" in lo:
            out.append((int(lo.replace("?", "0"), 16), int(lo.replace("?", "f"), 16)))
        else:
            out.append((int(lo, 16), int(hi or lo, 16)))
    return out


def _css_weight(sheet, chars, html_dir, files):
    """Add to `files` what a browser fetches for this stylesheet: imports, images, and the fonts of the
    @font-face rules whose unicode-range meets a character of the page (all faces without a range)."""
    css = sheet.read_text(encoding="utf-8", errors="replace")
    for block in _FONT_FACE.findall(css):
        if "unicode-range" in block and not chars & _range_set(block.split("unicode-range:", 1)[1]):
            continue
        # a browser takes the first source it can use: woff2 here
        m = CSS_URL.search(block)
        f = m and _local(sheet, m.group(1) or m.group(2), html_dir)
        if f:
            files.add(f)
    rest = _FONT_FACE.sub("", css)
    for m in CSS_URL.finditer(rest):
        f = _local(sheet, m.group(1) or m.group(2), html_dir)
        if f and f not in files:
            files.add(f)
            if f.suffix == ".css":
                _css_weight(f, chars, html_dir, files)


def page_weight(page, html_dir=HTML_DIR):
    """{file: bytes} of a built page and everything it loads (deduplicated): scripts, stylesheets (and what
    they import), images, and the web-font pieces whose unicode-range covers a character of the page.
    (A static count: what scripts load at run time — MathJax's fonts, widget icons — is not in it.)"""
    page, html_dir = Path(page), Path(html_dir)
    text = page.read_text(encoding="utf-8", errors="replace")
    parser = _AssetParser()
    parser.feed(text)
    chars = {ord(c) for c in text if ord(c) > 0x7f} | set(range(0x20, 0x7f))
    files = {page}
    for kind, url in parser.assets:
        if kind.startswith("link") and not ({"stylesheet", "preload", "modulepreload"} & set(kind.split()[1:])):
            continue
        f = _local(page, url, html_dir)
        if f and f not in files:
            files.add(f)
            if f.suffix == ".css":
                _css_weight(f, chars, html_dir, files)
    return {f: f.stat().st_size for f in files}


# --- lighter pages ----------------------------------------------------------------------------
#
# Run by book/_ext/offline_assets.py once every page is written (Sphinx copies the theme's static files
# again on every build, so this runs on every build; the subset fonts are cached under _build/.vendor).

FA_JS = re.compile(r'\s*<script\b[^>]*\bsrc="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>\s*</script>'
                   r'|\s*<link\b[^>]*\bhref="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>')
SEARCH_JS = re.compile(r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"'
                       r'></script>')
FA_ICON = re.compile(r"\bfa-[a-z0-9-]+\b")
FA_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:(?::)?before,?)+)\{content:"[^"]*"\}')


def _fa_codepoints(css, names):
    """The code points the theme's CSS gives the Font Awesome icons `names` (.fa-x:before{content:"\\f002"})."""
    points = set()
    for selectors, code in re.findall(r"([^{}]+)\{content:\"\\([0-9a-f]+)\"\}", css):
        for sel in selectors.split(","):
            m = re.fullmatch(r"\s*\.(fa-[a-z0-9-]+):(?::)?before\s*", sel)
            if m and m.group(1) in names:
                points.add(int(code, 16))
    return points


def _subset(src, dest, codepoints, flavor):
    """Write the glyphs of `codepoints` from font `src` to `dest` (fontTools; woff2 needs brotli)."""
    from fontTools import subset
    options = subset.Options()
    options.flavor = flavor
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(str(src), options)
    sub = subset.Subsetter(options)
    sub.populate(unicodes=sorted(codepoints))
    sub.subset(font)
    dest.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(dest), options)


def _cached_subset(src, codepoints, flavor, cache):
    key = hashlib.sha256(src.read_bytes() + repr(sorted(codepoints)).encode()).hexdigest()[:20]
    out = Path(cache) / f"{key}{src.suffix}"
    if not out.exists():
        tmp = out.with_suffix(".part")
        _subset(src, tmp, codepoints, flavor)
        tmp.replace(out)
    return out


def _page_texts(html_dir):
    return {p: p.read_text(encoding="utf-8", errors="replace") for p in Path(html_dir).rglob("*.html")}


def _theme_webfonts():
    import pydata_sphinx_theme
    return Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / "vendor" \
        / "fontawesome" / "webfonts"


def slim_fontawesome(html_dir, texts, cache):
    """Icons from the theme's CSS webfonts (already in pydata-sphinx-theme.css) instead of fontawesome.js,
    the 1.5 MB script that redraws them as SVG; the webfonts cut down to the icons the site shows."""
    html_dir = Path(html_dir)
    static = html_dir / "_static"
    names = set()
    for path, text in texts.items():
        slim = FA_JS.sub("", text)
        if slim != text:
            path.write_text(slim, encoding="utf-8")
            texts[path] = slim
        names |= {m for cls in re.findall(r'class="([^"]*)"', slim) for m in FA_ICON.findall(cls)}
    for js in static.glob("scripts/*.js"):  # icons the theme's scripts add at run time (fa-xmark ...)
        if js.name != "fontawesome.js":
            names |= set(FA_ICON.findall(js.read_text(encoding="utf-8", errors="replace")))
    for f in static.glob("scripts/fontawesome.js*"):
        f.unlink()
    css = (static / "styles" / "pydata-sphinx-theme.css")
    pristine = _theme_webfonts().parent.parent.parent / "styles" / "pydata-sphinx-theme.css"
    if not css.exists() or not pristine.exists():
        return names
    text = pristine.read_text(encoding="utf-8")
    points = _fa_codepoints(text, names)
    # and the theme's stylesheet keeps the .fa-x:before rules of those icons only (1,900 rules, 86 kB)
    css.write_text(FA_RULE.sub(lambda m: m.group(0) if set(FA_ICON.findall(m.group(1))) & names else "", text),
                   encoding="utf-8")
    # from the theme's own files every time: the copies in html_dir may be last build's subsets
    for font in _theme_webfonts().glob("*"):
        out = static / "vendor" / "fontawesome" / "webfonts" / font.name
        if font.suffix in (".woff2", ".ttf") and out.exists():
            flavor = "woff2" if font.suffix == ".woff2" else None
            shutil.copyfile(_cached_subset(font, points, flavor, cache), out)
    return names


def slim_search(texts):
    """Sphinx's search index and scripts only on search.html: the theme's search box is a form that
    opens search.html (search-as-you-type is off), so no other page uses them."""
    for path, text in texts.items():
        if path.name == "search.html":
            continue
        slim = SEARCH_JS.sub("", text)
        if slim != text:
            path.write_text(slim, encoding="utf-8")
            texts[path] = slim


def slim_hangul_font(html_dir, texts, vendor_dir):
    """Cut each Noto Sans KR piece down to the characters the site shows, narrow its unicode-range to them
    and drop the pieces the site never uses: a page then downloads only pieces it really draws from."""
    folder = Path(html_dir) / "_static" / "vendor" / "noto-sans-kr"
    sheet = folder / "noto-sans-kr.css"
    # from the pristine npm files every time: the copies in html_dir may be last build's subsets
    pristine = Path(vendor_dir) / "static" / "vendor" / "noto-sans-kr"
    cache = Path(vendor_dir) / "subset" / "noto-sans-kr"
    if not sheet.exists() or not (pristine / "noto-sans-kr.css").exists():
        return
    used = {ord(c) for text in texts.values() for c in text if ord(c) > 0x7f} | set(range(0x20, 0x7f))
    css = (pristine / "noto-sans-kr.css").read_text(encoding="utf-8")
    kept = []
    for block in _FONT_FACE.findall(css):
        if "unicode-range" not in block:
            kept.append(block)
            continue
        head, ranges = block.split("unicode-range:", 1)
        mine = sorted(used & _range_set(ranges))
        m = re.search(r"url\(\.?/?(files/[^)]+\.woff2)\)", head)
        if not mine or not m:
            continue
        shutil.copyfile(_cached_subset(pristine / m.group(1), mine, "woff2", cache), folder / m.group(1))
        spans = []
        for c in mine:
            if spans and spans[-1][1] == c - 1:
                spans[-1][1] = c
            else:
                spans.append([c, c])
        rng = ",".join(f"U+{lo:x}" if lo == hi else f"U+{lo:x}-{hi:x}" for lo, hi in spans)
        kept.append(f"{head}unicode-range: {rng};\n")
    sheet.write_text("".join(f"@font-face {{{b}}}\n" for b in kept), encoding="utf-8")
    names = set(re.findall(r"files/[^)]+\.woff2", sheet.read_text(encoding="utf-8")))
    for piece in folder.glob("files/*"):
        if f"files/{piece.name}" not in names:
            piece.unlink()


def slim(html_dir, vendor_dir=VENDOR_DIR):
    """Everything above, on the built site in html_dir (subset fonts cached under vendor_dir/subset)."""
    texts = _page_texts(html_dir)
    texts.pop(Path(html_dir) / "_static" / "webpack-macros.html", None)
    for macros in Path(html_dir).glob("_static/*webpack-macros.html"):
        texts.pop(macros, None)
    slim_fontawesome(html_dir, texts, Path(vendor_dir) / "subset" / "fontawesome")
    slim_search(texts)
    slim_hangul_font(html_dir, texts, vendor_dir)


# --- execution cache and where the outputs came from -------------------------------------------
#
# The site executes notebooks through jupyter-cache (_config.yml: execute_notebooks: cache), which keys
# a notebook on its code cells only. What a notebook prints also depends on the kafkabook package, the
# chapter's Java sources, the pinned Python packages, docker-compose.yml and the broker it runs against:
# book/_ext/execution_cache.py keeps, beside the cache, each notebook's hash of those, and before a build
# drops the cache entries (and re-reads the pages) of the notebooks whose hash changed. The package is
# hashed as a whole: a notebook imports several modules and they import each other, so a per-module map
# would be guesswork; a package change re-executes every notebook. So does a Java change (kafkabook.jvm
# runs a program from any chapter's java/ folder); the notebook argument keeps per-notebook keys possible.

DEPS_FILE = "kafkabook-deps.json"
JAVA_SOURCES = {".java", ".properties", ".xml", ".json", ".yml", ".yaml"}  # not what javac or a run writes


def _hash_files(digest, files, root):
    for f in sorted(files):
        if f.is_file() and "__pycache__" not in f.parts:
            digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")


def dependency_hash(notebook, broker, root=ROOT):
    """What the outputs of `notebook` depend on besides its code: the kafkabook package (but site.py), the
    chapters' java/ sources, requirements.txt, docker-compose.yml and the broker's version (a short hex digest)."""
    root = Path(root)
    digest = hashlib.sha256(broker.encode() + b"\0")
    # site.py builds the site; no notebook imports it (a change to it must not re-execute the book)
    _hash_files(digest, [f for f in (root / "kafkabook").rglob("*") if f.name != "site.py"], root)
    _hash_files(digest, [root / "requirements.txt", root / "docker-compose.yml"], root)
    # every chapter's java/ sources: kafkabook.jvm runs a book program from any chapter's folder
    _hash_files(digest, [f for f in (root / "notebooks").rglob("*")
                         if "java" in f.relative_to(root).parts and f.suffix in JAVA_SOURCES], root)
    return digest.hexdigest()[:24]


def stale_notebooks(cache_path, notebooks, broker, root=ROOT):
    """Drop from the jupyter-cache at cache_path the entries of `notebooks` (paths) whose dependency hash
    changed since they were executed; remember the current hashes. Returns the notebooks dropped."""
    from jupyter_cache import get_cache
    cache_path = Path(cache_path)
    deps_file = cache_path / DEPS_FILE
    old = json.loads(deps_file.read_text()) if deps_file.exists() else {}
    new = {str(Path(nb).resolve()): dependency_hash(nb, broker, root) for nb in notebooks}
    dropped = []
    if cache_path.exists():
        cache = get_cache(str(cache_path))
        for record in cache.list_cache_records():
            uri = str(Path(record.uri).resolve())
            if uri in new and old.get(uri) != new[uri]:
                cache.remove_cache(record.pk)
                dropped.append(Path(uri))
    cache_path.mkdir(parents=True, exist_ok=True)
    deps_file.write_text(json.dumps({**old, **new}, indent=1))
    return dropped


def keep_outputs(notebook, executed, seconds, broker, root=ROOT):
    """Store `executed` (the notebook at path `notebook` as another run executed it against the broker,
    outputs and widget state included) in the site's execution cache, keyed as a build keys it, with
    today's dependency hash: the next build without --fresh takes these outputs instead of executing
    the notebook again. The test run calls this for every notebook it executes (tests/conftest.py)."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    import nbformat
    root = Path(root)
    cache_path = root / "_build" / ".jupyter_cache"
    cache_path.mkdir(parents=True, exist_ok=True)
    uri = str(Path(notebook).resolve())
    # jupyter-cache matches on the code cells' source and metadata: nbclient adds each cell's execution
    # timestamps to its metadata, so the outputs go into the notebook as it is on disk
    nb = nbformat.read(uri, as_version=4)
    mine = [c for c in nb.cells if c.cell_type == "code"]
    ran = [c for c in executed.cells if c.cell_type == "code"]
    if [c.source for c in mine] != [c.source for c in ran]:
        raise SiteError(f"{notebook}: 실행한 노트북의 코드 셀이 디스크의 노트북과 다르다")
    for cell, done in zip(mine, ran):
        cell.outputs, cell.execution_count = done.outputs, done.execution_count
    for key in ("widgets", "language_info"):
        if key in executed.metadata:
            nb.metadata[key] = executed.metadata[key]
    get_cache(str(cache_path)).cache_notebook_bundle(
        CacheBundleIn(nb, uri, data={"execution_seconds": seconds}),
        check_validity=False, overwrite=True)
    deps_file = cache_path / DEPS_FILE
    deps = json.loads(deps_file.read_text()) if deps_file.exists() else {}
    deps[uri] = dependency_hash(notebook, broker, root)
    deps_file.write_text(json.dumps(deps, indent=1))


def forget_outputs(keep, root=ROOT):
    """Drop from the site's execution cache every notebook's outputs but those of the paths in `keep`;
    returns how many were dropped (the next build executes those notebooks)."""
    from jupyter_cache import get_cache
    cache_path = Path(root) / "_build" / ".jupyter_cache"
    if not cache_path.exists():
        return 0
    keep = {str(Path(p).resolve()) for p in keep}
    cache = get_cache(str(cache_path))
    dropped = 0
    for record in cache.list_cache_records():
        if str(Path(record.uri).resolve()) not in keep:
            cache.remove_cache(record.pk)
            dropped += 1
    return dropped


def broker_version(bootstrap=None):
    """The broker's own account of its version: the release from its log ("Kafka version: 4.3.1", when the
    broker runs here) and the finalized metadata.version it reports (DescribeFeatures)."""
    from kafka.admin import KafkaAdminClient
    from . import runtime, settings
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap or settings.BOOTSTRAP, request_timeout_ms=10000)
    except Exception as e:  # noqa: BLE001 — any failure to reach it means the same thing here
        raise SiteError(f"브로커({bootstrap or settings.BOOTSTRAP})에 연결하지 못해 버전을 물을 수 없다: {e}") from e
    try:
        features = admin.describe_features()
    finally:
        admin.close()
    level = (features.get("metadata.version", {}).get("finalized") or (None, None))[1]
    release, mv_name = None, None
    node = runtime.node(settings.SINGLE[0])
    log = getattr(node, "log_file", None)
    text = ""
    if log and Path(log).exists():
        text = Path(log).read_text(encoding="utf-8", errors="replace")
    elif shutil.which("docker") and settings.COMPOSE_FILE.exists():  # the compose broker logs to docker
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            text = subprocess.run(["docker", "compose", "-f", str(settings.COMPOSE_FILE), "logs", settings.SINGLE[0]],
                                  capture_output=True, text=True, timeout=30).stdout
    if text:
        found = re.findall(r"Kafka version: (\S+)", text)
        release = found[-1] if found else None
        names = re.findall(r"metadata\.version to (\S+)|metadataVersion=([0-9.]+-IV\d+)", text)
        mv_name = next((a or b for a, b in reversed(names)), None)
    mv = f"metadata.version {mv_name or level}" if level is not None else "metadata.version ?"
    return f"Apache Kafka {release or settings.KAFKA_VERSION} ({mv})"


# --- build ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildResult:
    html: Path
    seconds: float
    pages: int


def build(root=ROOT, *, fresh=True, strict=True, quiet=False, reread=False):
    """Execute every notebook against the running broker and build the site into <root>/_build/html.

    fresh:  empty the execution cache and rebuild every page: every notebook is executed against the broker
            and every warning re-checked (CI and the published site); otherwise Sphinx rebuilds the changed
            pages and jupyter-cache re-executes only what changed (book/_ext/execution_cache.py);
    strict: warnings are errors (-W --keep-going: all of them are reported, then the build fails).
    reread: re-read every page even if the cache is kept (outputs put in the cache by another run).
    Raises SiteError if jupyter-book fails or a page would load anything from another host.
    """
    root = Path(root).resolve()
    began = time.monotonic()
    vendor(root / "_build" / ".vendor")
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(root),
           "--builder", "html"]
    if strict:
        cmd += ["-W", "--keep-going"]
    if fresh:
        shutil.rmtree(root / "_build" / ".jupyter_cache", ignore_errors=True)
    if fresh or reread:
        cmd += ["--all"]
    if quiet:
        cmd += ["--quiet"]
    env = dict(os.environ)
    # the extensions in book/_ext and the notebooks' kernels import kafkabook from this repository
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    proc = subprocess.run(cmd, cwd=root, env=env)
    if proc.returncode != 0:
        raise SiteError(f"jupyter-book 빌드 실패 (종료 코드 {proc.returncode}). 위의 경고·오류를 보세요.")
    html = root / "_build" / "html"
    _fill_executed_copies(root)
    # the themes copy two Jinja macro files into _static; they are templates, not pages
    for macros in html.glob("_static/*webpack-macros.html"):
        macros.unlink()
    remote = remote_assets(html)
    if remote:
        listing = "\n".join(f"  {f}: {k} {u}" for f, k, u in remote[:20])
        raise SiteError(f"다른 호스트에서 읽는 자원이 {len(remote)}개 있습니다 (사이트는 스스로 완결되어야 합니다):\n{listing}")
    return BuildResult(html, time.monotonic() - began, sum(1 for _ in html.rglob("*.html")))


def _fill_executed_copies(root):
    """myst-nb writes into _build/jupyter_execute the notebook it read; when the outputs came from
    the execution cache they were merged into a copy (jupyter-cache's merge_match_into_notebook), so
    that file has none. Write the merged notebook there, as an executed notebook would be."""
    import nbformat
    from jupyter_cache import get_cache
    cache_path, executed = root / "_build" / ".jupyter_cache", root / "_build" / "jupyter_execute"
    if not cache_path.exists() or not executed.exists():
        return
    cache = get_cache(str(cache_path))
    for copy in executed.rglob("*.ipynb"):
        source = root / copy.relative_to(executed)
        if not source.exists():
            continue
        try:
            _, merged = cache.merge_match_into_notebook(nbformat.read(source, as_version=4))
        except KeyError:                        # not in the cache: executed by this build, outputs in place
            continue
        nbformat.write(merged, copy)


def serve(html_dir=HTML_DIR, port=8000):
    import functools
    import http.server
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html_dir))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"http://127.0.0.1:{port}/ 에서 보세요 (끝낼 때: Ctrl+C)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kafkabook.site", description="카프카 교과서 정적 사이트")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="노트북을 브로커에 대고 실행해 _build/html 을 만든다")
    b.add_argument("--fresh", action="store_true",
                   help="실행 캐시를 비우고 모든 노트북을 브로커에 대고 다시 실행한다 (기본: 바뀐 것만)")
    b.add_argument("--no-strict", action="store_true", help="경고를 오류로 다루지 않는다")
    sub.add_parser("vendor", help="사이트에 실을 npm 자원만 받는다")
    s = sub.add_parser("serve", help="_build/html 을 127.0.0.1 에서 보여 준다")
    s.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.command == "build":
        result = build(fresh=args.fresh, strict=not args.no_strict)
        size = sum(f.stat().st_size for f in result.html.rglob("*") if f.is_file())
        print(f"사이트 완성: {result.html}/index.html — {result.pages}쪽, {size / 1e6:.1f} MB, {result.seconds:.0f}초")
    elif args.command == "vendor":
        print(vendor())
    elif args.command == "serve":
        serve(port=args.port)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KafkaBookError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
