"""Shared fixtures: the running broker, the cluster profile, executed notebooks (testbook), headless Chromium."""
import contextlib
import copy
import os
import shutil
import time
from pathlib import Path

import pytest
from testbook import testbook

from kafkabook import jvm, runtime, settings
from kafkabook.connection import check_broker

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
#: how many times each chapter notebook is executed in a row (idempotence); KAFKABOOK_RUNS=1 for quick local runs
RUNS = int(os.environ.get("KAFKABOOK_RUNS", "2"))
#: CI=true: a tool a test needs (Chromium, node) must be there; its absence fails the run instead of skipping
CI = os.environ.get("CI") == "true"


def require_tool(found, message):
    """Return `found` (a tool's path); if it is missing, fail under CI=true, else skip with `message`.

    `./run test` installs the tools first (./run tools), so a skip means the tests ran some other way.
    """
    if found:
        return found
    if CI:
        pytest.fail(f"{message}. CI=true: a missing tool fails the run (./run tools installs it)", pytrace=False)
    pytest.skip(f"{message} (./run tools installs it)")


def find_chromium():
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


@pytest.fixture(scope="session")
def chromium():
    """The headless Chromium the browser tests drive (test_site, test_lab)."""
    return require_tool(find_chromium(), "headless Chromium is not installed (apt-get install -y chromium)")


@pytest.fixture(scope="session")
def broker():
    """The single broker `./run test` started (or the one KAFKA_BOOTSTRAP_SERVERS names)."""
    return check_broker(settings.BOOTSTRAP)


@pytest.fixture(scope="session")
def cluster():
    """The three-node cluster profile, started for the tests that need it and stopped after."""
    was_running = all(runtime.status(settings.CLUSTER).values())
    bootstrap = runtime.start(settings.CLUSTER)
    yield bootstrap
    if not was_running:
        runtime.stop(settings.CLUSTER)


@contextlib.contextmanager
def executed(relpath, runs=RUNS, timeout=900):
    """Execute notebooks/<relpath> `runs` times in a row, each in a fresh kernel; yield the last run's testbook.

    Every run must finish without an error (cells tagged raises-exception excepted),
    so a notebook that only works once fails here.
    """
    path = NOTEBOOKS / relpath
    # run in the notebook's folder, as JupyterLab and jupyter-book do
    kw = dict(execute=True, timeout=timeout, resources={"metadata": {"path": str(path.parent)}})
    for _ in range(runs - 1):
        began = time.monotonic()
        with testbook(str(path), **kw) as tb:
            NOTEBOOK_TIMES.setdefault(relpath, []).append(time.monotonic() - began)
            assert_nothing_left(tb, relpath)
    began = time.monotonic()
    with testbook(str(path), **kw) as tb:
        took = time.monotonic() - began
        NOTEBOOK_TIMES.setdefault(relpath, []).append(took)
        assert_nothing_left(tb, relpath)
        tb.set_widgets_metadata()               # nbclient's execute() does this; testbook's does not
        outputs = copy.deepcopy(tb.nb)          # before the tests inject anything into the kernel
        yield tb
    keep_for_site(path, outputs, took)


#: {notebook path: when} the notebooks this session executed and put in the site's execution cache
KEPT_FOR_SITE = {}
SESSION_BEGAN = time.time()


def keep_for_site(path, nb, seconds):
    """Give this run's outputs to the site build (kafkabook.site.keep_outputs): tests/test_site.py builds
    the site from them instead of executing every notebook a third time."""
    from kafkabook import site
    try:
        if "broker" not in _SITE_BROKER:
            _SITE_BROKER["broker"] = site.broker_version()
        site.keep_outputs(path, nb, seconds, _SITE_BROKER["broker"])
    except Exception as e:  # noqa: BLE001 — the site build then executes this notebook itself
        print(f"\n[site] outputs of {path.name} not kept for the site: {e!r}")
        return
    KEPT_FOR_SITE[str(path)] = time.time()


_SITE_BROKER = {}


# ---------------------------------------------------------------- where the time goes

#: {notebook relpath: [seconds per execution]} (kernel start + every cell, per run)
NOTEBOOK_TIMES = {}
#: {test nodeid: seconds} setup + call + teardown (a module's notebook runs land in its first test's setup)
TEST_TIMES = {}
TIMES_FILE = settings.STATE_DIR / "test-times.txt"


def pytest_runtest_logreport(report):
    TEST_TIMES[report.nodeid] = TEST_TIMES.get(report.nodeid, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """Print where the time went (modules, slowest tests, notebooks) and write it all to .kafka/test-times.txt."""
    if not TEST_TIMES:
        return
    modules = {}
    for nodeid, secs in TEST_TIMES.items():
        module = nodeid.split("::", 1)[0]
        modules[module] = modules.get(module, 0.0) + secs
    mods = [f"{'module':48} {'seconds':>8}"]
    mods += [f"{m:48} {s:8.1f}" for m, s in sorted(modules.items(), key=lambda kv: -kv[1])]
    nbs = [f"{'notebook (seconds per execution)':48} {'total':>8}  runs"]
    nbs += [f"{nb:48} {sum(t):8.1f}  {' '.join(f'{x:.1f}' for x in t)}"
            for nb, t in sorted(NOTEBOOK_TIMES.items(), key=lambda kv: -sum(kv[1]))]
    tests = [f"{'test (setup + call + teardown)':100} {'seconds':>8}"]
    tests += [f"{t:100} {s:8.1f}" for t, s in sorted(TEST_TIMES.items(), key=lambda kv: -kv[1])]
    try:
        TIMES_FILE.parent.mkdir(parents=True, exist_ok=True)
        TIMES_FILE.write_text("\n".join([*mods, "", *nbs, "", *tests]) + "\n")
    except OSError:
        pass
    tr = terminalreporter
    tr.section("where the time went")
    total = sum(TEST_TIMES.values())
    tr.write_line(f"tests {total:.0f} s in all; notebooks {sum(map(sum, NOTEBOOK_TIMES.values())):.0f} s "
                  f"of it ({sum(map(len, NOTEBOOK_TIMES.values()))} executions). Everything: {TIMES_FILE}")
    for line in mods:
        tr.write_line(line)
    if NOTEBOOK_TIMES:
        tr.write_line("")
        for line in nbs[:21]:
            tr.write_line(line)
    tr.write_line("")
    tr.write_line(f"{'slowest tests':100} {'seconds':>8}")
    for t, secs in sorted(TEST_TIMES.items(), key=lambda kv: -kv[1])[:15]:
        tr.write_line(f"{t[:100]:100} {secs:8.1f}")


#: kafka-python 3.0 names its I/O threads kafka-io-<client id> and the producer's sender kafka-python-producer-….
#: Not counted: check_broker's probe (client id kafkabook-check). When a node is still starting, kafka-python
#: 3.0.12's KafkaAdminClient constructor can fail after it started its I/O thread, leaving no object to close.
KAFKA_THREADS = ("[t.name for t in __import__('threading').enumerate() if t.name.startswith('kafka')"
                 " and t.name != 'kafka-io-kafkabook-check']")


def assert_nothing_left(tb, relpath):
    """A notebook closes every client it opened and stops every JVM program it started: once it has run,
    its kernel has no Kafka client thread and no book program (kafkabook.jvm) is alive.

    (Checked while the kernel is still alive: its exit would end the threads and hide the leak.)
    """
    deadline = time.monotonic() + 10          # a closing client may take a moment to join its thread
    while (left := tb.value(KAFKA_THREADS)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"{relpath} left Kafka clients open (threads {left})"
    programs = jvm.running()
    assert not programs, f"{relpath} left JVM programs running: {programs}"


def notebook_fixture(relpath, *needs):
    """A module-scoped fixture that yields `executed(relpath)`, after the broker and the fixtures in `needs`.

        nb_topics = notebook_fixture("ch02/02_1_topics.ipynb")
        nb_pipeline = notebook_fixture("ch01/02_pipeline.ipynb", "cluster")
    """
    @pytest.fixture(scope="module")
    def executed_notebook(request):
        for name in ("broker", *needs):
            request.getfixturevalue(name)
        with executed(relpath) as tb:
            yield tb
    return executed_notebook
