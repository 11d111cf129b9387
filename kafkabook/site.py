"""Build the book's static website (./run site):

    python -m kafkabook.site build [--incremental] [--no-strict]   notebooks executed against the broker -> _build/html
    python -m kafkabook.site vendor                                 only fetch the npm assets the site ships
    python -m kafkabook.site serve [--port 8000]                    look at _build/html on http://127.0.0.1:8000

`build()` runs jupyter-book (every notebook executed at build time against the running broker, warnings
are errors), then checks that the site is self-contained: no built page loads a script, stylesheet or
font from another host. What the pages would otherwise take from CDNs — require.js, the ipywidgets
HTML manager (embed-amd.js), MathJax, and a Hangul web font — comes from the npm registry with npm
itself (`npm pack`, pinned versions, integrity checked), is cached under _build/.vendor/ and is copied
into the site's _static/vendor/ by the Sphinx extension book/_ext/offline_assets.py.
"""
import argparse
import base64
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
    NpmPackage("requirejs", "2.3.8",
               "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
               "requirejs", ("require.js", "README.md")),
    # the ipywidgets 8 embedder; it bundles @jupyter-widgets/base, controls and output, and loads
    # its Font Awesome files from its own folder (webpack's public path is the script's folder)
    NpmPackage("@jupyter-widgets/html-manager", "1.0.15",
               "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
               "jupyter-widgets", ("dist/embed-amd.js", "dist/*.woff2", "dist/*.woff", "dist/embed.js.LICENSE.txt",
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
    want = [p.spec + " " + p.integrity for p in NPM_PACKAGES]
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


# --- build ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildResult:
    html: Path
    seconds: float
    pages: int


def build(root=ROOT, *, fresh=True, strict=True, quiet=False):
    """Execute every notebook against the running broker and build the site into <root>/_build/html.

    fresh:  rebuild every page (and so re-execute every notebook and re-check every warning);
    strict: warnings are errors (-W --keep-going: all of them are reported, then the build fails).
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
    # the themes copy two Jinja macro files into _static; they are templates, not pages
    for macros in html.glob("_static/*webpack-macros.html"):
        macros.unlink()
    remote = remote_assets(html)
    if remote:
        listing = "\n".join(f"  {f}: {k} {u}" for f, k, u in remote[:20])
        raise SiteError(f"다른 호스트에서 읽는 자원이 {len(remote)}개 있습니다 (사이트는 스스로 완결되어야 합니다):\n{listing}")
    return BuildResult(html, time.monotonic() - began, sum(1 for _ in html.rglob("*.html")))


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
    b.add_argument("--incremental", action="store_true", help="바뀐 쪽만 다시 만든다 (기본: 전부)")
    b.add_argument("--no-strict", action="store_true", help="경고를 오류로 다루지 않는다")
    sub.add_parser("vendor", help="사이트에 실을 npm 자원만 받는다")
    s = sub.add_parser("serve", help="_build/html 을 127.0.0.1 에서 보여 준다")
    s.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.command == "build":
        result = build(fresh=not args.incremental, strict=not args.no_strict)
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
