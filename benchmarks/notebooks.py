"""Execution time of every notebook in the toc, one fresh kernel each, against the running broker.

    ./run bench notebooks          # or: .venv/bin/python benchmarks/notebooks.py [--runs 2] [name-filter ...]

Prints a table (seconds per run, code cells); asserts nothing. Notebooks run in toc order, like the site build.
The cluster that 1.2 and 1.4 start is stopped again unless it was running before.
"""
import argparse
import statistics
import time

import nbformat
import yaml
from nbclient import NotebookClient

from kafkabook import runtime, settings

ROOT = settings.ROOT


def toc_notebooks():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    found = []

    def walk(items):
        for item in items:
            path = ROOT / (item["file"] + ".ipynb")
            if path.exists():
                found.append(path)
            walk(item.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return found


def execute(path):
    nb = nbformat.read(path, as_version=4)
    began = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - began, sum(c.cell_type == "code" for c in nb.cells)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1, help="executions of each notebook in a row")
    ap.add_argument("only", nargs="*", help="run only notebooks whose path contains one of these")
    args = ap.parse_args()
    cluster_was_up = all(runtime.status(settings.CLUSTER).values())
    rows = []
    try:
        for path in toc_notebooks():
            rel = path.relative_to(ROOT / "notebooks").as_posix()
            if args.only and not any(o in rel for o in args.only):
                continue
            times = []
            for _ in range(args.runs):
                seconds, cells = execute(path)
                times.append(seconds)
            rows.append((rel, cells, times))
            print(f"{rel:42} {cells:3} cells  " + "  ".join(f"{t:6.1f} s" for t in times), flush=True)
    finally:
        if not cluster_was_up:
            runtime.stop(settings.CLUSTER)
    total = sum(sum(t) for _, _, t in rows)
    print()
    print("| notebook | code cells | " + " | ".join(f"run {i + 1} (s)" for i in range(args.runs)) + " |")
    print("|---|---:|" + "---:|" * args.runs)
    for rel, cells, times in rows:
        print(f"| {rel} | {cells} | " + " | ".join(f"{t:.1f}" for t in times) + " |")
    print(f"| **total** | | {total:.1f} (all runs) |")
    print(f"median per notebook: {statistics.median(t for _, _, ts in rows for t in ts):.1f} s")


if __name__ == "__main__":
    main()
