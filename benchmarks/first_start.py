"""First start on a new machine: `./run study` in a fresh clone with empty pip and Maven caches, timed
step by step until JupyterLab prints its URL; then the same command again in the same clone, where
everything is already there. Prints, per step, the seconds it took and the longest time the terminal
stayed silent (a reader must never stare at a silent terminal for more than a few seconds).

    ./run bench first-start [--keep]

Needs the package registries (PyPI, Maven Central) and free ports 9092 (the broker) and 8899 (JupyterLab).
The clone is of the last commit; it lives in a temporary folder, removed afterwards unless --keep.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = 8899
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\r")

#: (marker in a line of ./run study's output, the step that begins there)
STEPS = [
    ("가상환경 만들기", "가상환경"),
    ("파이썬 패키지 설치", "파이썬 패키지 (pip)"),
    ("카프카 4.3.1 jar를", "카프카·스트림즈·커넥트 jar (Maven)"),
    ("스프링 부트·스프링 카프카 jar를", "스프링 jar (Maven)"),
    ("CDS 아카이브를 만듭니다", "CDS 아카이브"),
    ("==> 브로커 시작", "브로커 시작"),
    ("JupyterLab을 엽니다", "JupyterLab 시작"),
]


def size_mb(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6 if Path(path).exists() else 0.0


def study(book, env, timeout):
    """Run ./run study until JupyterLab prints its URL; return [(seconds since start, line)] and the total."""
    cmd = ["./run", "study", "--no-browser", f"--port={PORT}", "--ServerApp.open_browser=False"]
    proc = subprocess.Popen(cmd, cwd=book, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    began, lines = time.monotonic(), []
    try:
        for raw in proc.stdout:
            for part in ANSI.sub("\n", raw).splitlines():
                if part.strip():
                    lines.append((time.monotonic() - began, part.strip()))
                    print(f"  {lines[-1][0]:6.1f}s | {part.strip()[:110]}", flush=True)
            if re.search(rf"http://(127\.0\.0\.1|localhost):{PORT}/lab", raw):
                break
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"{timeout}초 안에 JupyterLab 주소가 나오지 않았다")
        else:
            raise RuntimeError(f"./run study가 JupyterLab 주소를 찍기 전에 끝났다 (종료 코드 {proc.wait()})")
        return lines, time.monotonic() - began
    finally:
        with_signal(proc, signal.SIGTERM)
        subprocess.run(["./run", "broker", "stop"], cwd=book, env=env, capture_output=True)


def with_signal(proc, sig):
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def steps(lines, total):
    """[(step, seconds, longest silence in it)] from the markers in the output."""
    marks = [(0.0, "./run 시작")]
    for t, line in lines:
        for marker, name in STEPS:
            if marker in line and all(n != name for _, n in marks):
                marks.append((t, name))
    out = []
    for (start, name), (end, _) in zip(marks, marks[1:] + [(total, "")]):
        times = [start] + [t for t, _ in lines if start <= t <= end] + [end]
        out.append((name, end - start, max(b - a for a, b in zip(times, times[1:]))))
    return out


def table(title, rows, total):
    print(f"\n{title}: JupyterLab 주소까지 {total:.1f}초")
    print(f"  {'단계':36} {'초':>7} {'가장 긴 침묵(초)':>16}")
    for name, secs, quiet in rows:
        print(f"  {name:36} {secs:7.1f} {quiet:16.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="임시 폴더(클론, 빈 캐시)를 지우지 않는다")
    parser.add_argument("--timeout", type=int, default=1800)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="kafkabook-first-start-"))
    book = tmp / "book"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(book)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "KAFKA_BOOTSTRAP"))}
    env.update(PIP_CACHE_DIR=str(tmp / "pip-cache"),                  # empty: every package downloaded
               MAVEN_OPTS=f"{os.environ.get('MAVEN_OPTS', '')} -Dmaven.repo.local={tmp / 'm2'}".strip(),
               PYTHONUNBUFFERED="1")
    env.pop("PYTHONPATH", None)
    try:
        print(f"처음 시작: {book} (빈 pip 캐시 {tmp / 'pip-cache'}, 빈 Maven 저장소 {tmp / 'm2'})", flush=True)
        first, first_total = study(book, env, args.timeout)
        print("\n두 번째 시작: 같은 클론에서 다시", flush=True)
        second, second_total = study(book, env, args.timeout)
        table("처음 시작 (빈 캐시)", steps(first, first_total), first_total)
        table("두 번째 시작 (이미 받은 것은 건너뜀)", steps(second, second_total), second_total)
        print(f"\n받은 양: pip 캐시 {size_mb(tmp / 'pip-cache'):.0f} MB, Maven 저장소 {size_mb(tmp / 'm2'):.0f} MB, "
              f".venv {size_mb(book / '.venv'):.0f} MB, .kafka {size_mb(book / '.kafka'):.0f} MB")
    finally:
        if args.keep:
            print(f"남겨 둔 폴더: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
