"""The site's figures: page weight of every page in the toc (the page and every file it loads, deduplicated,
as kafkabook.site.page_weight counts it), and the time of a rebuild with nothing changed.

    ./run bench site [--rebuild] [--html _build/html]   # or: .venv/bin/python benchmarks/site.py ...

Reads an already built site (./run site); with --rebuild it first times `./run site` (execution cache,
incremental) twice: the first may execute what changed since the last build, the second has nothing to do.
Asserts nothing. gzip: what a server that compresses (GitHub Pages does) would send.
"""
import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

import yaml

from kafkabook import settings, site

ROOT = settings.ROOT
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def toc_docs():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    found = [toc["root"]]

    def walk(items):
        for item in items:
            found.append(item["file"])
            walk(item.get("sections", []))
    for part in toc.get("parts", []):
        walk(part["chapters"])
    return found


def gzipped(path, cache={}):
    if path not in cache:
        cache[path] = len(gzip.compress(path.read_bytes(), 6))
    return cache[path]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="time two no-change rebuilds first (needs the broker)")
    parser.add_argument("--html", type=Path, default=site.HTML_DIR)
    args = parser.parse_args(argv)
    if args.rebuild:
        for label in ("rebuild (executes what changed)", "rebuild, nothing changed"):
            began = time.monotonic()
            site.build(fresh=False, quiet=True)
            print(f"{label:40} {time.monotonic() - began:6.1f} s")
    html = args.html
    if not (html / "index.html").exists():
        print(f"{html} 에 사이트가 없다: 먼저 ./run site", file=sys.stderr)
        return 1
    rows = []
    for doc in toc_docs():
        page = html / (doc + ".html")
        if not page.exists():
            continue
        files = site.page_weight(page, html)
        widgets = WIDGET_STATE in page.read_text(encoding="utf-8")
        fonts = sum(n for f, n in files.items() if f.suffix in (".woff2", ".woff", ".ttf"))
        rows.append((doc, sum(files.values()), sum(gzipped(f) for f in files), fonts, len(files), widgets))
    print(f"{'page':52} {'MB':>6} {'gzip MB':>8} {'fonts kB':>9} {'files':>6}  widgets")
    for doc, total, gz, fonts, n, widgets in rows:
        print(f"{doc:52} {total / 1e6:6.2f} {gz / 1e6:8.2f} {fonts / 1e3:9.0f} {n:6}  {'yes' if widgets else ''}")
    plain = [r[1] for r in rows if not r[5]]
    with_w = [r[1] for r in rows if r[5]]
    if plain:
        print(f"pages without widgets: {len(plain)}, median {statistics.median(plain) / 1e6:.2f} MB, "
              f"max {max(plain) / 1e6:.2f} MB")
    if with_w:
        print(f"pages with widgets:    {len(with_w)}, median {statistics.median(with_w) / 1e6:.2f} MB, "
              f"max {max(with_w) / 1e6:.2f} MB (the ipywidgets manager embed.js alone: "
              f"{(html / '_static/vendor/jupyter-widgets/embed.js').stat().st_size / 1e6:.2f} MB)")
    size = sum(f.stat().st_size for f in html.rglob("*") if f.is_file())
    print(f"whole site: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
