"""Execution time of every notebook in the toc, one fresh kernel each, against the running broker.

    ./run bench notebooks          # or: .venv/bin/python benchmarks/notebooks.py [--runs 2] [name-filter ...]

Prints a table (seconds per run, code cells) and, per notebook, how the time splits into
- wait: time inside the book's wait functions (waiting.wait_until, JavaProgram.wait_for_line,
  progress.wait_with_progress, groups.wait_settled, runtime.start ..., see kafkabook/waitclock.py),
- cli: time inside kafka_sh (one JVM per Kafka CLI tool),
- execute: the rest (the reader's code, clients, kernel start).
The kernel writes its waits to a file named by KAFKABOOK_WAIT_LOG (set here for each notebook).
Then total, median and max per notebook, the notebooks over 60 s, and where the slowest ones wait.
Asserts nothing. Notebooks run in toc order, like the site build. The cluster that some notebooks start
is stopped again unless it was running before.
"""
import argparse
import collections
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

from kafkabook import runtime, settings, waitclock

ROOT = settings.ROOT
SLOW = 60.0     # the target: no notebook over 60 s


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
    """Run the notebook in a fresh kernel; (seconds, code cells, waits, cells) where waits are
    waitclock rows (kind, function, what, seconds, ended) and cells [(index, began, ended, first line)]."""
    nb = nbformat.read(path, as_version=4)
    cells = []

    def started(cell, cell_index, **_):
        cells.append([cell_index, time.time(), None, cell.source.strip().split("\n")[0][:60]])

    def finished(cell, cell_index, **_):
        cells[-1][2] = time.time()

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "waits.tsv"
        os.environ[waitclock.ENV] = str(log)
        try:
            began = time.perf_counter()
            NotebookClient(nb, timeout=600, kernel_name="python3", on_cell_execute=started,
                           on_cell_executed=finished,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            seconds = time.perf_counter() - began
        finally:
            os.environ.pop(waitclock.ENV, None)
        waits = waitclock.read(log)
    return seconds, sum(c.cell_type == "code" for c in nb.cells), waits, cells


def slow_cells(cells, waits, n=3):
    """The `n` longest cells: (index, seconds, seconds waiting inside it, first line)."""
    out = []
    for index, began, ended, first in cells:
        if ended is None:
            continue
        inside = sum(w[3] for w in waits if w[0] == "wait" and w[4] is not None and began <= w[4] <= ended)
        out.append((index, ended - began, inside, first))
    return sorted(out, key=lambda c: -c[1])[:n]


def split(seconds, waits):
    wait = sum(w[3] for w in waits if w[0] == "wait")
    cli = sum(w[3] for w in waits if w[0] == "cli")
    return wait, cli, seconds - wait - cli


def top_waits(waits, n=4):
    by = collections.Counter()
    calls = collections.Counter()
    for kind, name, what, s, *_ in waits:
        by[(kind, name, what)] += s
        calls[(kind, name, what)] += 1
    return [(key, s, calls[key]) for key, s in by.most_common(n)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1, help="executions of each notebook in a row")
    ap.add_argument("--slowest", type=int, default=6, help="show where this many slowest notebooks wait")
    ap.add_argument("only", nargs="*", help="run only notebooks whose path contains one of these")
    args = ap.parse_args()
    cluster_was_up = all(runtime.status(settings.CLUSTER).values())
    print(f"load average {os.getloadavg()[0]:.1f} at the start (other work on the machine slows every figure)")
    rows = []     # (rel, cells, [(seconds, wait, cli, execute)], waits of the last run)
    try:
        for path in toc_notebooks():
            rel = path.relative_to(ROOT / "notebooks").as_posix()
            if args.only and not any(o in rel for o in args.only):
                continue
            runs, waits, cell_times = [], [], []
            for _ in range(args.runs):
                seconds, cells, waits, cell_times = execute(path)
                runs.append((seconds, *split(seconds, waits)))
            rows.append((rel, cells, runs, waits, cell_times))
            print(f"{rel:42} {cells:3} cells  " + "  ".join(
                f"{t:6.1f} s (wait {w:5.1f}, cli {c:5.1f})" for t, w, c, _ in runs), flush=True)
    finally:
        if not cluster_was_up:
            runtime.stop(settings.CLUSTER)
    if not rows:
        return
    print()
    print("| notebook | code cells | run | total (s) | wait (s) | CLI (s) | execute (s) | wait share |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for rel, cells, runs, *_ in rows:
        for i, (t, w, c, e) in enumerate(runs):
            flag = " **>60 s**" if t > SLOW else ""
            print(f"| {rel}{flag} | {cells} | {i + 1} | {t:.1f} | {w:.1f} | {c:.1f} | {e:.1f} | {w / t:.0%} |")
    all_runs = [r for _, _, runs, *_ in rows for r in runs]
    totals = [r[0] for r in all_runs]
    sums = [sum(r[i] for r in all_runs) for i in range(4)]
    print(f"| **total** | | | {sums[0]:.1f} | {sums[1]:.1f} | {sums[2]:.1f} | {sums[3]:.1f} | {sums[1] / sums[0]:.0%} |")
    print()
    print(f"notebooks: {len(rows)}, runs: {len(all_runs)}; total {sums[0]:.1f} s ({sums[0] / 60:.1f} min), "
          f"median {statistics.median(totals):.1f} s, max {max(totals):.1f} s "
          f"({max(rows, key=lambda r: max(x[0] for x in r[2]))[0]})")
    print(f"time waiting on conditions {sums[1]:.1f} s, in CLI tools {sums[2]:.1f} s, executing {sums[3]:.1f} s")
    slow = [rel for rel, _, runs, *_ in rows if any(r[0] > SLOW for r in runs)]
    print(f"over {SLOW:.0f} s: {', '.join(slow) if slow else 'none'}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print()
    print(f"where the {args.slowest} slowest notebooks wait (last run; function, what it waited for, seconds, "
          "calls; then the longest cells)")
    for rel, _, runs, waits, cell_times in sorted(rows, key=lambda r: -r[2][-1][0])[:args.slowest]:
        print(f"  {rel} ({runs[-1][0]:.1f} s)")
        for (kind, name, what), s, n in top_waits(waits):
            print(f"    {kind:4} {s:6.1f} s  {n:3}x  {name}  {what}")
        for index, s, inside, first in slow_cells(cell_times, waits):
            print(f"    cell {index:2} {s:6.1f} s (waiting {inside:5.1f} s)  {first}")


if __name__ == "__main__":
    main()
