"""The static website: built once by kafkabook.site.build() (every notebook executed against the running broker,
warnings as errors), then checked as files and in a real headless Chromium with the network off:
self-contained (nothing loaded from another host), every internal link resolves, Hangul laid out with the
shipped web font, saved widget state rendered, and Korean search finding words with particles attached."""
import datetime
import functools
import http.server
import io
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

import conftest
from conftest import require_tool
from kafkabook import runtime, settings, site

ROOT = settings.ROOT
HTML = ROOT / "_build" / "html"
EXECUTED = ROOT / "_build" / "jupyter_execute"
ARTIFACTS = ROOT / "artifacts"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import korean_search  # noqa: E402  (book/_ext/korean_search.py: the search language the site was built with)

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


# --------------------------------------------------------------------------- the toc

def toc_entries():
    """[(docname, number or None)] in reading order; numbers as the numbered parts give them (1., 2.2.3., ...)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    out = [(toc["root"], None)]
    chapter = 0

    def walk(items, prefix, numbered):
        for i, item in enumerate(items, 1):
            number = f"{prefix}{i}." if numbered else None
            out.append((item["file"], number))
            walk(item.get("sections", []), number or "", numbered)

    for part in toc["parts"]:
        numbered = part.get("numbered", False)
        for item in part["chapters"]:
            if numbered:
                chapter += 1
                out.append((item["file"], f"{chapter}."))
                walk(item.get("sections", []), f"{chapter}.", True)
            else:
                out.append((item["file"], None))
                walk(item.get("sections", []), "", False)
    return out


def notebooks():
    return [d for d, _ in toc_entries() if (ROOT / (d + ".ipynb")).exists()]


def soup(path):
    return BeautifulSoup(Path(path).read_text(encoding="utf-8"), "html.parser")


def pages():
    return sorted(HTML.rglob("*.html"))


# --------------------------------------------------------------------------- the build, once

@pytest.fixture(scope="module")
def built(broker):
    cluster_was_up = all(runtime.status(settings.CLUSTER).values())
    began = time.time()
    # The chapter tests ahead of this module executed their notebooks against the broker and put the
    # outputs in the execution cache (conftest.keep_for_site); the build takes those, drops any other
    # cached outputs and executes every notebook this session did not (all of them if this module runs
    # alone). Strict: -W --keep-going --all; raises SiteError on failure.
    kept = dict(conftest.KEPT_FOR_SITE)
    dropped = site.forget_outputs(kept)
    try:
        result = site.build(ROOT, fresh=not kept, reread=True)
    finally:
        if not cluster_was_up:  # notebooks 1.2 and 1.4 start the three-node cluster: stop what the build started
            runtime.stop(settings.CLUSTER)
    print(f"\n[site] build: {result.seconds:.0f} s, {result.pages} pages; outputs of {len(kept)} notebooks "
          f"from this test run, {len(notebooks()) - len(kept)} executed by the build ({dropped} older dropped)")
    return {"result": result, "began": conftest.SESSION_BEGAN if kept else began, "kept": kept}


def test_build_strict_and_every_toc_entry_has_a_page(built):
    result = built["result"]
    assert result.html == HTML and (HTML / "index.html").exists()
    missing = [d for d, _ in toc_entries() if not (HTML / (d + ".html")).exists()]
    assert not missing, f"toc entries without a page: {missing}"
    # the root redirects to the front page
    assert "book/index.html" in (HTML / "index.html").read_text(encoding="utf-8")


def test_pages_are_korean_and_numbered_by_the_toc(built):
    for docname, number in toc_entries():
        page = soup(HTML / (docname + ".html"))
        assert page.html.get("lang") == "ko", docname
        h1 = page.find("article").find("h1")
        assert h1 is not None, docname
        got = h1.find("span", class_="section-number")
        if number is None:
            assert got is None, f"{docname} should not be numbered"
        else:
            assert got is not None and got.get_text().strip() == number, (docname, number, h1.get_text())
        assert re.search("[\uac00-\ud7a3]", h1.get_text()) or docname.startswith("notebooks/"), docname


#: outputs the page renders from a richer type than text/plain (whose repr it then does not show)
RICH = {"text/html", "text/markdown", "image/png", "image/svg+xml", WIDGET_VIEW}


def test_notebooks_were_executed_at_build_time_without_errors(built):
    assert notebooks(), "no notebook in the toc"
    for docname in notebooks():
        executed = EXECUTED / (docname + ".ipynb")
        assert executed.exists(), f"{docname} was not executed"
        assert executed.stat().st_mtime >= built["began"], f"{docname}: stale executed copy"
        nb = nbformat.read(executed, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        page = soup(HTML / (docname + ".html"))
        html_cells = page.select("div.cell")
        for cell in code:
            assert cell.execution_count is not None, f"{docname}: a cell did not run: {cell.source[:80]}"
            tags = cell.metadata.get("tags", [])
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if "raises-exception" not in tags:
                assert not errors, f"{docname}: unexpected error {errors[0].ename}: {errors[0].evalue}"
        # every output the kernel produced is on the page: its text (streams, text/plain) appears there
        text = page.find("article").get_text()
        shown = [c for c in code if c.outputs and not {"remove-output", "remove-cell"} & set(c.metadata.get("tags", []))]
        assert len(page.select("div.cell_output")) >= len(shown), docname
        for cell in shown:
            for out in cell.outputs:
                sample = ""
                if out.output_type == "stream":
                    sample = out.text
                elif "text/plain" in out.get("data", {}) and not (RICH & set(out.data)):
                    sample = out.data["text/plain"]
                line = next((ln.strip() for ln in sample.splitlines() if ln.strip()), "")
                line = re.sub(r"\x1b\[[0-9;]*m", "", line)[:60]
                if line:
                    assert line in text, f"{docname}: output not on the page: {line!r}"
        # and no error block outside the cells that raise on purpose
        for div in html_cells:
            if "tag_raises-exception" in div.get("class", []):
                continue
            assert not div.select(".output.traceback, .output.error"), f"{docname}: error output on the page"
            assert "Traceback (most recent call last)" not in div.get_text(), docname


# --------------------------------------------------------------------------- self-contained

CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)['"]?\s*\)|@import\s+(?:url\()?\s*['"]([^'"]+)['"]""")


def remote(url):
    url = url.strip()
    return url.startswith("//") or urllib.parse.urlsplit(url).scheme in ("http", "https", "ftp")


def test_no_page_loads_anything_from_another_host(built):
    found = []
    for path in pages():
        page = soup(path)
        rel = path.relative_to(HTML)
        for tag in page.find_all("script", src=True):
            found += [(rel, "script", tag["src"])] if remote(tag["src"]) else []
            cdn = tag.get("data-jupyter-widgets-cdn")
            if cdn and remote(cdn):
                found.append((rel, "widget modules from", cdn))
        for tag in page.find_all("link", href=True):
            kinds = set(tag.get("rel") or [])
            if kinds & {"stylesheet", "preload", "modulepreload", "icon", "manifest", "prefetch"} and remote(tag["href"]):
                found.append((rel, "link " + " ".join(kinds), tag["href"]))
        for tag in page.find_all(["img", "iframe", "source", "video", "audio", "embed"], src=True):
            found += [(rel, tag.name, tag["src"])] if remote(tag["src"]) else []
        css = [t.get_text() for t in page.find_all("style")] + [t["style"] for t in page.find_all(style=True)]
        for block in css:
            found += [(rel, "inline css", u) for m in CSS_URL.finditer(block) for u in m.groups() if u and remote(u)]
        for tag in page.find_all("script", src=False):
            body = tag.get_text()
            if tag.get("type") in (WIDGET_STATE, WIDGET_VIEW):
                continue
            for url in re.findall(r"""["'](https?://[^"']+\.(?:js|css|woff2?|ttf|otf))["']""", body):
                found.append((rel, "inline script names", url))
    for sheet in HTML.rglob("*.css"):
        for m in CSS_URL.finditer(sheet.read_text(encoding="utf-8", errors="replace")):
            for url in m.groups():
                if url and remote(url):
                    found.append((sheet.relative_to(HTML), "css", url))
    assert not found, "remote assets:\n" + "\n".join(f"  {f}: {k} {u}" for f, k, u in found[:30])


def test_vendored_assets_are_shipped(built):
    vendor = HTML / "_static" / "vendor"
    for rel in ("jupyter-widgets/embed.js", "mathjax/tex-mml-chtml.js",
                "noto-sans-kr/noto-sans-kr.css"):
        assert (vendor / rel).stat().st_size > 1000, rel
    faces = (vendor / "noto-sans-kr" / "noto-sans-kr.css").read_text(encoding="utf-8")
    files = re.findall(r"url\(\./(files/[^)]+\.woff2)\)", faces)
    assert files and all((vendor / "noto-sans-kr" / f).exists() for f in files)
    # the pieces were cut to the characters the site shows (kafkabook.site.slim_hangul_font): together the
    # pieces of each weight still cover every Hangul syllable of every page
    used = {ord(c) for path in pages() for c in path.read_text(encoding="utf-8") if 0xAC00 <= ord(c) <= 0xD7A3}
    assert len(used) > 500, len(used)
    for weight in ("400", "700"):
        covered = set()
        for block in re.findall(r"@font-face\s*{([^}]*)}", faces):
            if f"font-weight: {weight};" in block and "unicode-range" in block:
                for lo, hi in re.findall(r"U\+([0-9a-f]+)(?:-([0-9a-f]+))?", block.split("unicode-range:")[1], re.I):
                    covered.update(range(int(lo, 16), int(hi or lo, 16) + 1))
        missing = used - covered
        assert not missing, f"weight {weight}: {len(missing)} Hangul syllables of the pages without a face"
    # the font is on every page, before our stylesheet that uses it
    for path in pages():
        if soup(path).find("meta", attrs={"http-equiv": re.compile("^refresh$", re.I)}):
            continue  # the root index.html only redirects to book/index.html
        links = [t["href"] for t in soup(path).find_all("link", rel="stylesheet")]
        names = [h.split("?")[0].rsplit("_static/", 1)[-1] for h in links]
        assert "vendor/noto-sans-kr/noto-sans-kr.css" in names and "hangul.css" in names, path
        assert names.index("vendor/noto-sans-kr/noto-sans-kr.css") < names.index("hangul.css")
    # the font files webpack's CSS in embed.js asks for sit next to it
    embed = (vendor / "jupyter-widgets" / "embed.js").read_text(encoding="utf-8", errors="replace")
    for name in set(re.findall(r'"([0-9a-f]{20}\.woff2)"', embed)):
        assert (vendor / "jupyter-widgets" / name).exists(), name


# --------------------------------------------------------------------------- light pages, outputs' origin

def has_widgets(path):
    return WIDGET_STATE in Path(path).read_text(encoding="utf-8")


def test_chapter_pages_weigh_at_most_2_mb(built):
    """A chapter page without widgets, with every file it loads (deduplicated), stays under 2 MB: Font Awesome
    comes from the theme's CSS webfonts cut to the icons used, not from the 1.5 MB fontawesome.js."""
    weights = {}
    for docname, number in toc_entries():
        path = HTML / (docname + ".html")
        if number and not has_widgets(path):
            files = site.page_weight(path, HTML)
            weights[docname] = sum(files.values())
            assert not any(f.name == "fontawesome.js" for f in files), docname
            assert not any(f.name == "searchindex.js" for f in files), docname
    assert weights, "no chapter page without widgets"
    heavy = {d: w for d, w in weights.items() if w > 2_000_000}
    assert not heavy, f"pages over 2 MB: {heavy}"
    assert not (HTML / "_static" / "scripts" / "fontawesome.js").exists()
    # the icons still have their glyphs: the cut webfont maps the magnifying glass of the search button
    from fontTools.ttLib import TTFont
    solid = TTFont(HTML / "_static" / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2")
    assert 0xF002 in solid.getBestCmap() and len(solid.getBestCmap()) < 100
    print(f"\n[site] heaviest chapter page without widgets: {max(weights.values()) / 1e6:.2f} MB")


def test_widget_manager_only_on_pages_with_widgets(built):
    managers = ("kafkabook-widgets.js", "embed.js")
    seen = {True: 0, False: 0}
    for path in pages():
        scripts = [t["src"].split("?")[0].rsplit("/", 1)[-1] for t in soup(path).find_all("script", src=True)]
        loaded = [m for m in managers if m in scripts]
        widgets = has_widgets(path)
        seen[widgets] += 1
        assert loaded == (list(managers) if widgets else []), (path, loaded)
    assert seen[True] and seen[False], seen


def test_footer_says_when_and_against_which_broker(built):
    """Every notebook page says when its outputs were produced and against which broker (asked at build time)."""
    version = site.broker_version()
    assert "4.3" in version, version
    began = datetime.datetime.fromtimestamp(built["began"], datetime.timezone.utc).replace(second=0, microsecond=0)
    for docname in notebooks():
        line = soup(HTML / (docname + ".html")).select_one("footer .kafkabook-outputs")
        assert line is not None, docname
        text = line.get_text()
        assert version in text, (docname, text)
        when = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d) UTC", text)
        assert when, text
        at = datetime.datetime.strptime(when.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=datetime.timezone.utc)
        assert began <= at <= datetime.datetime.now(datetime.timezone.utc), (docname, text)  # a fresh build
    # pages that are not notebooks have no such line
    assert soup(HTML / "book" / "index.html").select_one(".kafkabook-outputs") is None


@pytest.fixture
def small_book(tmp_path):
    """A one-notebook book beside the real one (same config and extensions, a copy of the kafkabook package):
    its notebook prints a fresh number each time it is executed."""
    root = tmp_path / "book"
    root.mkdir()
    for name in ("_config.yml", "requirements.txt", "docker-compose.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "book" / "_ext", root / "book" / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "book" / "_static", root / "book" / "_static")
    shutil.copytree(ROOT / "kafkabook", root / "kafkabook", ignore=shutil.ignore_patterns("__pycache__"))
    if (ROOT / "_build" / ".vendor").exists():  # what npm fetched for the real site (else: fetched again)
        shutil.copytree(ROOT / "_build" / ".vendor", root / "_build" / ".vendor")
    (root / "book" / "index.md").write_text("# 시험용 책\n\n캐시를 시험한다.\n", encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 실행 시험\n\n실행할 때마다 다른 수를 찍는다."),
                nbformat.v4.new_code_cell('import time\nprint("run", time.time_ns())')]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "probe.ipynb")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/index\nchapters:\n  - file: notebooks/probe\n",
                                   encoding="utf-8")
    return root


def test_execution_cache_reexecutes_only_what_changed(broker, small_book):
    page = small_book / "_build" / "html" / "notebooks" / "probe.html"

    def run(fresh=False):
        site.build(small_book, fresh=fresh, strict=False, quiet=True)
        return re.search(r"run (\d+)", soup(page).find("article").get_text()).group(1)

    first = run(fresh=True)
    assert run() == first, "a rebuild with nothing changed executed the notebook again"
    with open(small_book / "kafkabook" / "waiting.py", "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    second = run()
    assert second != first, "a changed kafkabook module did not re-execute the notebook"
    assert run() == second
    java = small_book / "notebooks" / "java"
    java.mkdir()
    (java / "Hello.java").write_text("class Hello {}\n", encoding="utf-8")
    third = run()
    assert third != second, "a changed Java source did not re-execute the notebook"
    assert run(fresh=True) != third, "--fresh did not execute the notebook anew"


def test_a_build_takes_the_outputs_a_test_run_kept(broker, small_book):
    """keep_outputs (what conftest does for every notebook it executes) puts a run's outputs where the
    build finds them: the page shows them without executing; forget_outputs makes the build execute."""
    page = small_book / "_build" / "html" / "notebooks" / "probe.html"
    probe = small_book / "notebooks" / "probe.ipynb"
    nb = nbformat.read(probe, as_version=4)
    nb.cells[1].execution_count = 1
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}  # as nbclient adds
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="run 4242\n")]
    # the broker as the small book's own kafkabook names it (its .kafka holds no broker log)
    broker = subprocess.run([sys.executable, "-c", "from kafkabook import site; print(site.broker_version())"],
                            cwd=small_book, env={**os.environ, "PYTHONPATH": str(small_book)},
                            capture_output=True, text=True, check=True).stdout.strip()
    site.keep_outputs(probe, nb, 0.5, broker, root=small_book)

    def shown():
        site.build(small_book, fresh=False, strict=False, quiet=True, reread=True)
        return re.search(r"run (\d+)", soup(page).find("article").get_text()).group(1)

    assert shown() == "4242", "the build executed the notebook instead of taking the kept outputs"
    assert site.forget_outputs([], root=small_book) == 1
    assert shown() != "4242", "forgotten outputs were shown again"


# --------------------------------------------------------------------------- links

@functools.lru_cache(maxsize=None)
def ids_of(path):
    page = soup(path)
    return {t["id"] for t in page.find_all(id=True)} | {t["name"] for t in page.find_all("a", attrs={"name": True})}


def test_every_internal_link_and_anchor_resolves(built):
    broken, checked = [], 0
    for path in pages():
        page = soup(path)
        for tag, attr in (("a", "href"), ("link", "href"), ("script", "src"), ("img", "src"), ("iframe", "src")):
            for t in page.find_all(tag, attrs={attr: True}):
                url = t[attr].strip()
                parts = urllib.parse.urlsplit(url)
                if parts.scheme or url.startswith("//") or not url:
                    continue
                checked += 1
                target = path if not parts.path else (path.parent / urllib.parse.unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file() or HTML.resolve() not in target.resolve().parents:
                    broken.append((path.relative_to(HTML), url, "no such file"))
                    continue
                fragment = urllib.parse.unquote(parts.fragment)
                if fragment and target.suffix == ".html" and fragment not in ids_of(target):
                    broken.append((path.relative_to(HTML), url, "no such anchor"))
    assert checked > 500
    assert not broken, "broken links:\n" + "\n".join(f"  {p}: {u} ({why})" for p, u, why in broken[:30])


def test_glossary_terms_are_linkable(built):
    page = soup(HTML / "book" / "glossary.html")
    terms = {"".join(dt.find_all(string=True, recursive=False)).strip(): dt.get("id")
             for dt in page.select("dl.glossary dt")}
    needed = ["토픽", "파티션", "오프셋", "레코드", "컨슈머 그룹", "랙", "ISR", "리더", "KRaft", "컨트롤러", "브로커",
              "복제 팩터", "세그먼트", "프로듀서", "컨슈머", "커밋", "topic", "partition", "offset", "consumer group"]
    for term in needed:
        assert terms.get(term), f"glossary has no anchored term {term!r}"
    assert len(set(terms.values())) == len(terms), "glossary anchors are not unique"


def test_pages_workflow_builds_with_the_readme_command():
    """.github/workflows/pages.yml (for readers who fork) does what ./run site does, with the compose broker."""
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8"))
    steps = flow["jobs"]["build"]["steps"]
    runs = [s.get("run", "") for s in steps]
    uses = {s["uses"].split("@")[0]: s.get("with", {}) for s in steps if "uses" in s}
    assert "docker compose up -d --wait" in runs
    # the published site: every notebook executed anew against the broker (no execution cache)
    assert runs.index("docker compose up -d --wait") < runs.index("./run site --fresh")
    assert "./run site" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python -m kafkabook.site build" in (ROOT / "run").read_text(encoding="utf-8").replace('"$PY"', "python")
    assert str(uses["actions/setup-python"]["python-version"]) == "3.11"
    assert str(uses["actions/setup-java"]["java-version"]) == "17"
    assert uses["actions/upload-pages-artifact"]["path"] == "_build/html"
    assert "actions/deploy-pages" in {s["uses"].split("@")[0] for s in flow["jobs"]["deploy"]["steps"]}


# --------------------------------------------------------------------------- Korean search, in Python

def search_index():
    text = (HTML / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1: text.rindex(")")])


def search(index, query):
    """Sphinx's term search (searchtools.js performTermsSearch): every term must hit the page's words or titles."""
    hits = None
    for term in korean_search.query_terms(query):
        docs = set()
        for table in (index["terms"], index["titleterms"]):
            found = table.get(term, [])
            docs |= set([found] if isinstance(found, int) else found)
        hits = docs if hits is None else hits & docs
    return {index["docnames"][i] for i in (hits or set())}


def pages_saying(pattern):
    out = set()
    for docname, _ in toc_entries():
        article = soup(HTML / (docname + ".html")).find("article")
        if re.search(pattern, article.get_text()):
            out.add(docname)
    return out


def test_korean_search_finds_words_with_particles(built):
    index = search_index()
    for stem, particles in (("토픽", "은|을|이|의|과|에"), ("파티션", "은|을|이|의|마다|에")):
        saying = pages_saying(f"{stem}(?:{particles})")
        assert saying, f"no page says {stem} with a particle"
        for query in (stem, stem + "은", stem + "을"):
            found = search(index, query)
            assert saying <= found, (query, saying - found)
    # the index holds bigrams, not whole words with particles: Sphinx's stock splitter would have needed 토픽은
    assert "토픽" in index["terms"] and "토픽은" not in index["terms"]
    # a word on no page finds nothing, and two words must both be there
    assert search(index, "얼룩말") == set()
    assert search(index, "토픽 얼룩말") == set()


def test_search_splitter_is_the_same_in_python_and_the_browser(built):
    node = require_tool(shutil.which("node"), "node is not installed (needed to run the site's language_data.js)")
    queries = ["토픽은", "파티션을 늘리면", "브로커에서는 KafkaProducer를", "consumers and the offsets",
               "2장에서", "컨슈머 그룹의 랙", "키는", "acks=all 설정", "  세그먼트들을  ", "kafka-topics.sh로 토픽을"]
    script = r"""
const fs = require('fs'), vm = require('vm'); const ctx = {}; vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[1], 'utf8') + `
var kafkabookParse = function (query) {  // what searchtools.js Search._parseQuery does with each query
  var stemmer = new Stemmer(); var terms = [];
  splitQuery(query.trim()).forEach(function (t) {
    var lower = t.toLowerCase();
    if (stopwords.indexOf(lower) !== -1 || t.match(/^[0-9]+$/)) return;
    var w = stemmer.stemWord(lower); if (terms.indexOf(w) === -1) terms.push(w);
  });
  return terms;
};`, ctx);
console.log(JSON.stringify(JSON.parse(fs.readFileSync(0, 'utf8')).map(ctx.kafkabookParse)));
"""
    done = subprocess.run([node, "-e", script, str(HTML / "_static" / "language_data.js")],
                          input=json.dumps(queries), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [korean_search.query_terms(q) for q in queries]


# --------------------------------------------------------------------------- in a real browser

# what Chromium itself contacts (component updater, sign-in, translation), whatever the page: not page loads
CHROME_OWN_HOSTS = {"clients2.google.com", "update.googleapis.com", "redirector.gvt1.com", "accounts.google.com",
                    "translate.googleapis.com", "optimizationguide-pa.googleapis.com"}

PROBE = """<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    errors.push(t && t !== window ? 'failed to load ' + (t.src || t.href) : e.message + ' @ ' + e.filename);
  }, true);
  var consoleError = console.error;
  console.error = function () { errors.push('console.error: ' + Array.from(arguments).join(' ')); consoleError.apply(console, arguments); };
  // Sphinx's search adds an empty .search-summary when it starts, lists the hits one by one (a timer
  // each), and writes the summary when the last one is listed: finished = the summary has text
  function searchFinished() {
    var summary = document.querySelector('#search-results .search-summary');
    return !!(summary && summary.textContent.trim());
  }
  function report() {
    var views = Array.from(document.querySelectorAll('script[type="%(view)s"]'));
    var rendered = views.filter(function (s) {
      var box = s.previousElementSibling;
      return box && box.classList.contains('widget-subarea') && box.querySelector('.jupyter-widgets');
    });
    var nav = performance.getEntriesByType('navigation')[0];
    var resources = performance.getEntriesByType('resource');
    var h1 = document.querySelector('article h1');
    var out = {
      lang: document.documentElement.lang,
      h1: h1 ? h1.textContent : null,
      hangulFont: h1 ? document.fonts.check('16px "Noto Sans KR"', h1.textContent) : null,
      bodyFont: getComputedStyle(document.querySelector('article') || document.body).fontFamily,
      facesLoaded: Array.from(document.fonts).filter(function (f) { return f.status === 'loaded'; })
                     .map(function (f) { return f.family.replace(/"/g, '') + ' ' + f.weight; }),
      resources: resources.map(function (r) { return r.name; }),
      failed: resources.filter(function (r) { return r.responseStatus >= 400 && !/favicon[.]ico$/.test(r.name); })
                       .map(function (r) { return r.responseStatus + ' ' + r.name; }),
      bytes: (nav ? nav.encodedBodySize : 0) + resources.reduce(function (n, r) { return n + r.encodedBodySize; }, 0),
      widgetViews: views.length,
      widgetsRendered: rendered.length,
      widgetText: Array.from(document.querySelectorAll('.widget-subarea')).map(function (e) { return e.innerText; }).join(' | '),
      searchResults: Array.from(document.querySelectorAll('#search-results ul.search li a')).map(function (a) { return a.getAttribute('href'); }),
      searchSummary: (document.querySelector('#search-results .search-summary') || {}).textContent || null,
      searchFinished: searchFinished(),
      errors: errors
    };
    if (/[?&]show=widget/.test(location.search)) {
      // for the screenshot: put the first widget's cell at the top of the article (headless Chromium
      // paints nothing when it screenshots a scrolled page)
      var first = document.querySelector('.widget-subarea .jupyter-widgets');
      var cell = first && first.closest('.cell');
      var article = document.querySelector('article');
      if (cell && article) article.insertBefore(cell, article.firstChild);
    }
    var pre = document.createElement('pre');
    pre.id = 'kafkabook-probe'; pre.hidden = true; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  window.addEventListener('load', function () {
    document.fonts.ready.then(function () {
      var tries = 0;
      (function wait() {
        var views = document.querySelectorAll('script[type="%(view)s"]').length;
        var subs = document.querySelectorAll('.widget-subarea .jupyter-widgets').length;
        var searching = location.pathname.endsWith('search.html') && !searchFinished();
        if ((subs < views || searching) && tries++ < 300) return setTimeout(wait, 50);
        setTimeout(report, 200);
      })();
    });
  });
})();
</script>""" % {"view": WIDGET_VIEW}


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves _build/html; HTML gets the probe script first thing in <head>."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(HTML), **kwargs)

    def log_message(self, *args):
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        if not path.endswith(".html") or not os.path.isfile(path):
            return super().send_head()
        body = Path(path).read_bytes().replace(b"<head>", b"<head>" + PROBE.encode(), 1)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


class _Catcher(socketserver.BaseRequestHandler):
    """The browser's only proxy: records every request meant for another host, answers 403, forwards nothing."""
    seen = []

    def handle(self):
        data = self.request.recv(8192)
        self.seen.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
        self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="module")
def browser(built, chromium):
    """open(page) -> (probe dict, dom): the page from a 127.0.0.1 server in headless Chromium, network off."""
    server = _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SiteHandler))
    _Catcher.seen = []
    proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Catcher)
    proxy.daemon_threads = True
    _serve(proxy)
    ARTIFACTS.mkdir(exist_ok=True)
    profiles = tempfile.mkdtemp(prefix="kafkabook-chromium-")

    def run(url, *action):
        profile = tempfile.mkdtemp(dir=profiles)  # a fresh --user-data-dir per run
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
                 "--disable-domain-reliability", "--no-pings", "--disable-breakpad", "--password-store=basic",
                 "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
                 f"--user-data-dir={profile}", "--window-size=1280,1400", "--lang=ko-KR",
                 # network off: every request for another host goes to the catcher, which refuses it;
                 # names do not resolve either (127.0.0.1 is reached directly, never through a proxy)
                 f"--proxy-server=http://127.0.0.1:{proxy.server_address[1]}",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                 "--virtual-time-budget=20000", *action, url]
        done = subprocess.run([chromium, *flags], capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def open_page(path, name):
        """Probe the page; save artifacts/<name>.json (what the probe saw) and artifacts/<name>.png."""
        url = f"http://127.0.0.1:{server.server_address[1]}/{path}"
        dom = run(url, "--dump-dom")
        m = re.search(r'<pre id="kafkabook-probe"[^>]*>(.*?)</pre>', dom, re.S)
        assert m, f"the probe did not report on {path}"
        probe = json.loads(BeautifulSoup(m.group(1), "html.parser").get_text())
        shot = ARTIFACTS / f"{name}.png"
        shot.unlink(missing_ok=True)
        run(url, f"--screenshot={shot}")
        assert shot.exists() and shot.stat().st_size > 20_000, f"no screenshot of {path}"
        probe["screenshot"] = str(shot.relative_to(ROOT))
        (ARTIFACTS / f"{name}.json").write_text(json.dumps(probe, ensure_ascii=False, indent=1), encoding="utf-8")
        return probe, dom

    yield open_page
    server.shutdown()
    proxy.shutdown()
    shutil.rmtree(profiles, ignore_errors=True)
    foreign = [r for r in _Catcher.seen if not any(h in r for h in CHROME_OWN_HOSTS)]
    assert not foreign, f"the pages tried to reach other hosts: {foreign}"


def assert_offline_page(probe, path):
    assert probe["errors"] == [], (path, probe["errors"])
    assert probe["failed"] == [], (path, probe["failed"])
    elsewhere = [r for r in probe["resources"] if not r.startswith("http://127.0.0.1:")]
    assert not elsewhere, (path, elsewhere)
    assert _Catcher.seen == [] or all(any(h in r for h in CHROME_OWN_HOSTS) for r in _Catcher.seen), _Catcher.seen


def assert_hangul_laid_out(probe, path):
    assert probe["lang"] == "ko", path
    assert re.search("[\uac00-\ud7a3]", probe["h1"] or ""), (path, probe["h1"])
    assert probe["bodyFont"].startswith('"Noto Sans KR"'), probe["bodyFont"]
    assert probe["hangulFont"] is True, f"{path}: the Hangul of the title is not covered by a loaded Noto Sans KR face"
    # Hangul is drawn with the pieces of the web font the page loaded (not a Korean system font, if any)
    pieces = [r for r in probe["resources"] if re.search(r"noto-sans-kr-\d+-[47]00-normal\.woff2$", r)]
    assert pieces, f"{path}: no Hangul piece of Noto Sans KR was loaded"


def test_chapter_page_in_chromium(built, browser):
    first_section = next(d for d, n in toc_entries() if n and n.count(".") == 2 and d in notebooks())
    path = first_section + ".html"
    probe, dom = browser(path, "site-chapter")
    assert_offline_page(probe, path)
    assert_hangul_laid_out(probe, path)
    assert "section-number" in dom and "cell_output" in dom
    bench = {"build_seconds_with_execution": round(built["result"].seconds, 1), "pages": built["result"].pages,
             "chapter_page": path, "chapter_page_bytes_with_assets": probe["bytes"],
             "chapter_page_files": len(probe["resources"]) + 1,
             "site_bytes": sum(f.stat().st_size for f in HTML.rglob("*") if f.is_file())}
    (ARTIFACTS / "site-benchmark.json").write_text(json.dumps(bench, indent=1), encoding="utf-8")
    # what the browser really fetched for this page (no widgets on it) stays under 2 MB
    assert probe["bytes"] <= 2_000_000, probe["bytes"]
    assert not [r for r in probe["resources"] if "fontawesome.js" in r or "searchindex.js" in r], probe["resources"]
    print(f"\n[site] {path}: {probe['bytes'] / 1024:.0f} KiB with its assets ({bench['chapter_page_files']} files), "
          f"screenshot {probe['screenshot']}")


def test_widget_page_in_chromium(browser):
    with_widgets = [d for d in notebooks() if WIDGET_STATE in (HTML / (d + ".html")).read_text(encoding="utf-8")]
    assert with_widgets, "no notebook in the toc displays an ipywidgets widget"
    path = with_widgets[0] + ".html"
    probe, dom = browser(path + "?show=widget", "site-widget")
    assert_offline_page(probe, path)
    assert_hangul_laid_out(probe, path)
    assert probe["widgetViews"] > 0
    assert probe["widgetsRendered"] == probe["widgetViews"], probe
    page = BeautifulSoup(dom, "html.parser")
    assert page.select(".jupyter-widgets") and page.select("[class*='widget-']")
    # the widgets' own text comes from the saved state, not from a text/plain placeholder
    state = json.loads(soup(HTML / path).find("script", type=WIDGET_STATE).get_text())
    for model in state["state"].values():
        s = model["state"]
        if model["model_name"] in ("HTMLModel", "LabelModel") and s.get("value"):
            text = BeautifulSoup(s["value"], "html.parser").get_text().strip()
            assert text in probe["widgetText"] or text in page.get_text(), text
    # and no output shows the widget's text/plain repr (what a page without the manager would fall back to)
    outputs = " ".join(o.get_text() for o in page.select("article .cell_output"))
    assert not re.search(r"\b[A-Z][A-Za-z]*\((?:children|value|description)=", outputs), outputs[:300]


def test_search_in_chromium(browser):
    for query, stem, name in (("토픽", "토픽", "site-search-topic"), ("파티션을", "파티션", "site-search-partition")):
        path = "search.html?q=" + urllib.parse.quote(query)
        probe, _ = browser(path, name)
        assert_offline_page(probe, path)
        assert probe["searchFinished"], f"{query}: the search did not finish within 15 s (page time): {probe}"
        found = {h.split("#")[0].split("?")[0].removesuffix(".html") for h in probe["searchResults"]}
        saying = pages_saying(f"{stem}(?:은|을)")
        assert saying and saying <= found, (query, saying - found, probe["searchSummary"])
