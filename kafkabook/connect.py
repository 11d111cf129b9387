"""A real Kafka Connect worker (connect-runtime 4.3.1 from .kafka/libs) and a tiny client for its REST API.

    from kafkabook import connect
    connect.reset()                                  # internal topics, groups, files of earlier runs
    props = connect.worker_properties()              # .kafka/connect/worker.properties
    with connect.Worker(props) as worker:            # ConnectDistributed, REST on 127.0.0.1:8083
        connect.rest("GET", "/connector-plugins")

The worker runs as a JVM program (kafkabook.jvm), so jvm.running() sees it and tests can
check that none is left. It is ready when GET /health answers 200 (KIP-1017: the herder
has read its internal topics and finished its first tick, i.e. joined the group) and
GET /connectors answers 200 (not 409 "rebalance expected"). REST errors come back as
ConnectRestError: a Korean explanation plus the worker's own error body.
"""
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import jvm, settings
from .errors import KafkaBookError
from .jvm import _Progress
from .waitclock import clocked

CONNECT_DIR = settings.STATE_DIR / "connect"
PLUGIN_PATH = CONNECT_DIR / "plugins"          # plugin.path: one folder per plugin
FILES = CONNECT_DIR / "files"                  # the files connectors read and write
PORT = 8083
URL = f"http://127.0.0.1:{PORT}"
GROUP = "connect-cluster"
INTERNAL_TOPICS = ("connect-configs", "connect-offsets", "connect-status")
LOG4J = Path(__file__).parent / "kafka" / "log4j2-connect.properties"
STRING = "org.apache.kafka.connect.storage.StringConverter"
JSON = "org.apache.kafka.connect.json.JsonConverter"


class ConnectRestError(KafkaBookError):
    """The worker answered a REST call with an error (status and its own message kept)."""

    def __init__(self, message, status=None, body=None):
        super().__init__(message)
        self.status, self.body = status, body


# ------------------------------------------------------------------ REST

_MEANING = {
    400: "요청이 잘못되었다. 워커가 커넥터 설정을 검사하고 거절했다",
    404: "그런 커넥터(또는 경로)가 워커에 없다",
    409: "워커 그룹이 리밸런스 중이거나 곧 리밸런스해야 해서 지금은 답할 수 없다. 잠시 뒤 다시 부른다",
    500: "워커 안에서 요청을 처리하다 오류가 났다",
}


def rest(method, path, body=None, url=URL, timeout=30, rebalance_wait=30):
    """Call the worker's REST API; return the decoded JSON answer (None for an empty one).

    An error status raises ConnectRestError whose message says in Korean what the status
    means, followed by the worker's own error message, unchanged. 409 (the worker group is
    about to rebalance, nothing was done) is asked again for up to `rebalance_wait` seconds.
    """
    deadline = time.monotonic() + rebalance_wait
    while True:
        try:
            return _rest_once(method, path, body, url, timeout)
        except ConnectRestError as e:
            if e.status != 409 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _rest_once(method, path, body, url, timeout):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raw = e.read().decode("utf-8", errors="replace")
        try:
            said = json.loads(raw).get("message", raw)
        except (ValueError, AttributeError):
            said = raw
        meaning = _MEANING.get(e.code, "워커가 오류로 답했다")
        raise ConnectRestError(f"{method} {path} → HTTP {e.code}: {meaning}.\n"
                               f"워커의 답: {said}", e.code, raw) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
        raise ConnectRestError(f"{method} {path}: 커넥트 워커({url})가 답하지 않는다 ({e}). "
                               "워커가 떠 있는지(connect.Worker(...).start()) 확인한다.") from None
    return json.loads(raw) if raw.strip() else None


def _status_code(path, url=URL, timeout=15):
    """The HTTP status of GET path (None if nothing answers), and the body."""
    try:
        with urllib.request.urlopen(url + path, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None, ""


def status(name, url=URL):
    """{'connector': state, 'tasks': [state, ...]} of a connector, from GET /connectors/<name>/status."""
    s = rest("GET", f"/connectors/{name}/status", url=url)
    return {"connector": s["connector"]["state"], "tasks": [t["state"] for t in s["tasks"]]}


@clocked("wait", ("name", 0))
def wait_for_state(name, state="RUNNING", tasks=1, timeout=60, url=URL):
    """Wait until the connector and its `tasks` tasks all report `state`; return the status.

    404 (not created yet) and 409 (rebalance) count as "not yet"; a FAILED task raises with its trace.
    """
    progress, start = _Progress(False), time.monotonic()
    last = None
    while True:
        try:
            last = status(name, url)
        except ConnectRestError as e:
            if e.status not in (404, 409):
                raise
            last = {"connector": f"HTTP {e.status}", "tasks": []}
        if last["connector"] == state and len(last["tasks"]) == tasks and \
                all(t == state for t in last["tasks"]):
            progress.update(f"{name}: {last} ({time.monotonic() - start:.1f}초)")
            return last
        if "FAILED" in last["tasks"] or last["connector"] == "FAILED":
            s = rest("GET", f"/connectors/{name}/status", url=url)
            trace = next((t.get("trace") for t in [s["connector"], *s["tasks"]] if t.get("trace")), "")
            raise ConnectRestError(f"{name}이(가) FAILED 상태다. 워커가 남긴 오류:\n{trace[:1500]}")
        waited = time.monotonic() - start
        if waited > timeout:
            raise ConnectRestError(f"{timeout}초 안에 {name}이(가) {state}가 되지 않았다: {last}")
        progress.update(f"기다리는 중: {name}이(가) {state} ... 지금 {last} ({waited:.0f}초)")
        time.sleep(0.3)


@clocked("wait", ("name", 0))
def wait_for_task_failure(name, timeout=60, url=URL):
    """Wait until a task of `name` is FAILED; return the error trace the status API reports for it."""
    progress, start = _Progress(False), time.monotonic()
    while True:
        try:
            s = rest("GET", f"/connectors/{name}/status", url=url)
        except ConnectRestError as e:           # not written yet (404) or a rebalance (409)
            if e.status not in (404, 409):
                raise
            s = {"tasks": []}
        failed = [t for t in s["tasks"] if t["state"] == "FAILED"]
        waited = time.monotonic() - start
        if failed:
            progress.update(f"{name}: 태스크 {failed[0]['id']}가 FAILED ({waited:.1f}초)")
            return failed[0].get("trace", "")
        if waited > timeout:
            raise ConnectRestError(f"{timeout}초 동안 {name}의 태스크가 실패하지 않았다: "
                                   f"{[t['state'] for t in s['tasks']]}")
        progress.update(f"기다리는 중: {name}의 태스크 상태 {[t['state'] for t in s['tasks']]} ({waited:.0f}초)")
        time.sleep(0.3)


@clocked("wait", ("name", 0))
def wait_until_gone(name, timeout=30, url=URL):
    """Wait until GET /connectors no longer lists `name` (a DELETE finishes asynchronously)."""
    deadline = time.monotonic() + timeout
    while name in rest("GET", "/connectors", url=url):
        if time.monotonic() > deadline:
            raise ConnectRestError(f"{timeout}초 안에 {name}이(가) 목록에서 사라지지 않았다.")
        time.sleep(0.2)


# ------------------------------------------------------------------ worker

def worker_properties(path=None, group=GROUP, flush_ms=5000, port=PORT, converter=STRING,
                      schemas=False, bootstrap=settings.BOOTSTRAP, **extra):
    """Write a distributed worker's properties (the three internal topics with replication
    factor 1, plugin.path, offset.flush.interval.ms = flush_ms) and return the file's path."""
    props = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "key.converter": converter,
        "value.converter": converter,
        "key.converter.schemas.enable": str(schemas).lower(),
        "value.converter.schemas.enable": str(schemas).lower(),
        "config.storage.topic": "connect-configs",
        "offset.storage.topic": "connect-offsets",
        "status.storage.topic": "connect-status",
        "config.storage.replication.factor": 1,
        "offset.storage.replication.factor": 1,
        "status.storage.replication.factor": 1,
        "offset.storage.partitions": 5,
        "status.storage.partitions": 1,
        "offset.flush.interval.ms": flush_ms,
        "listeners": f"http://127.0.0.1:{port}",
        "plugin.path": str(PLUGIN_PATH),
        # every plugin here ships a ServiceLoader manifest: no reflective scan of 100 jars (KIP-898)
        "plugin.discovery": "service_load",
        # a killed worker's tasks go back to work after seconds, not after 5 minutes
        "scheduled.rebalance.max.delay.ms": 3000,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 2000,
        **{k.replace("_", "."): v for k, v in extra.items()},
    }
    path = Path(path or CONNECT_DIR / "worker.properties")
    path.parent.mkdir(parents=True, exist_ok=True)
    PLUGIN_PATH.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
    return path


def show(path):
    """Print a properties (or any text) file, with its path."""
    path = Path(path)
    print(f"# {_relative(path)}")
    print(path.read_text(encoding="utf-8").rstrip())


def _relative(path):
    try:
        return str(Path(path).relative_to(settings.ROOT))
    except ValueError:
        return str(path)


class Worker:
    """A Connect worker in distributed mode: ConnectDistributed <worker.properties> as a JVM program."""

    main = "org.apache.kafka.connect.cli.ConnectDistributed"

    def __init__(self, properties, name="connect-worker", url=URL):
        self.properties, self.name, self.url = Path(properties), name, url
        self.program = None
        self.ready_s = None
        self.stages = []

    def start(self, timeout=180):
        """Start the JVM and wait until the worker is ready (REST answers, group joined)."""
        self.program = jvm.JavaProgram.main_class(
            self.main, str(self.properties), name=self.name, cwd=CONNECT_DIR,
            jvm_options=[f"-Dlog4j2.configurationFile={LOG4J}"])
        self.program.start()
        try:
            self.ready_s = self.wait_ready(timeout)
        except BaseException:
            self.program.stop(quiet=True)
            raise
        return self

    @clocked("wait")
    def wait_ready(self, timeout=180):
        """Wait for GET /health = 200 and GET /connectors = 200; show the state while waiting and
        keep each new state met on the way in self.stages as (seconds, state)."""
        progress, start = _Progress(False), self.program.started_at
        self.stages = []
        while True:
            waited = time.monotonic() - start
            if not self.program.alive:
                self.program._check_ended()
            health, body = _status_code("/health", self.url)
            if health == 200:
                listed, _ = _status_code("/connectors", self.url)
                state = f"GET /health → 200 {body}, GET /connectors → {listed}"
                if listed == 200:
                    self._stage(waited, state)
                    progress.update(f"워커 준비 완료 ({waited:.1f}초): {state}")
                    return waited
            elif health is None:
                state = "REST 서버가 아직 답하지 않는다"
            elif body.lstrip().startswith("<"):
                state = f"GET /health → {health} (REST 자원을 아직 등록하기 전)"
            else:
                state = f"GET /health → {health} {body[:160]}"
            self._stage(waited, state)
            if waited > timeout:
                raise ConnectRestError(f"{timeout}초 안에 워커가 준비되지 않았다 ({state}).\n"
                                       f"로그: {_relative(self.program.log_path)}")
            progress.update(f"기다리는 중: 커넥트 워커 ({waited:.0f}초) — {state}")
            time.sleep(0.5)

    def _stage(self, waited, state):
        if not self.stages or self.stages[-1][1] != state:
            self.stages.append((round(waited, 1), state))

    @property
    def pid(self):
        return self.program.pid if self.program else None

    @property
    def alive(self):
        return bool(self.program and self.program.alive)

    def kill(self):
        """SIGKILL: the JVM dies at once, with no shutdown hook, no last offset flush."""
        self.program.process.send_signal(signal.SIGKILL)
        self.program.process.wait(10)
        self.program.stop(quiet=True)                 # closes the log, forgets the process
        print(f"{self.name}: SIGKILL (pid {self.program.pid}), 종료 코드 {self.program.returncode}")

    def stop(self, quiet=False):
        if self.program is not None:
            return self.program.stop(grace=30, quiet=quiet)

    def tail(self, n=15, pattern=None):
        self.program.tail(n, pattern)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop(quiet=exc[0] is not None)
        return False


# ------------------------------------------------------------------ state

def reset(groups=(), files=()):
    """Start from nothing: delete the internal topics and sink groups an earlier run left,
    the plugins built into plugin.path, and the connector files named in `files`
    (relative to .kafka/connect/files)."""
    from .consumers import delete_group
    from .topics import delete_topics
    delete_topics(list(INTERNAL_TOPICS))
    for g in groups:
        delete_group(g)
    shutil.rmtree(PLUGIN_PATH, ignore_errors=True)
    PLUGIN_PATH.mkdir(parents=True, exist_ok=True)
    FILES.mkdir(parents=True, exist_ok=True)
    for f in files:
        (FILES / f).unlink(missing_ok=True)


def internal_records(topic, bootstrap=settings.BOOTSTRAP):
    """Every record of a Connect internal topic as (partition, key, value) with JSON decoded."""
    from .topics import read_all

    def decode(b):
        if b is None:
            return None
        text = b.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text
    return [(r.partition, decode(r.key), decode(r.value)) for r in read_all(topic, bootstrap)]


def source_offsets(connector, bootstrap=settings.BOOTSTRAP):
    """{source partition (as JSON text): last committed source offset} of `connector` in connect-offsets.
    (A key always lands in the same partition of the topic, so the last record per key is the latest.)"""
    found = {}
    for _, key, value in internal_records("connect-offsets", bootstrap):
        if isinstance(key, list) and len(key) == 2 and key[0] == connector:
            found[json.dumps(key[1], sort_keys=True)] = value
    return found


def committed_source_offset(connector, bootstrap=settings.BOOTSTRAP, **partition):
    """The last source offset the worker committed for `connector` (for the source partition
    given as keywords, e.g. filename=..., if the connector has several); None if none."""
    offsets = source_offsets(connector, bootstrap)
    if partition:
        return offsets.get(json.dumps(partition, sort_keys=True))
    if len(offsets) > 1:
        raise ConnectRestError(f"{connector}의 소스 파티션이 여럿이다: {list(offsets)}. 하나를 고른다.")
    return next(iter(offsets.values()), None)


def lines(path):
    """The lines of a text file (an empty list if it does not exist yet)."""
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


@clocked("wait")
def wait_for_lines(path, n, timeout=60):
    """Wait until the file has at least `n` lines; show the count while waiting. Returns the lines."""
    progress, start = _Progress(False), time.monotonic()
    while True:
        got = lines(path)
        waited = time.monotonic() - start
        if len(got) >= n:
            progress.update(f"{Path(path).name}: {len(got)}줄 ({waited:.1f}초)")
            return got
        if waited > timeout:
            raise ConnectRestError(f"{timeout}초 안에 {Path(path).name}에 {n}줄이 쌓이지 않았다 "
                                   f"(지금 {len(got)}줄).")
        progress.update(f"기다리는 중: {Path(path).name}에 {n}줄 ... 지금 {len(got)}줄 ({waited:.0f}초)")
        time.sleep(0.2)


@clocked("wait", ("topic", 0))
def wait_for_records(topic, n, timeout=60, bootstrap=settings.BOOTSTRAP):
    """Wait until the topic's end offsets add up to at least `n`; show the count while waiting."""
    from .topics import end_offsets
    progress, start = _Progress(False), time.monotonic()
    while True:
        try:
            got = sum(end_offsets(topic, bootstrap).values())
        except Exception:
            got = 0
        waited = time.monotonic() - start
        if got >= n:
            progress.update(f"{topic}: 레코드 {got}개 ({waited:.1f}초)")
            return got
        if waited > timeout:
            raise ConnectRestError(f"{timeout}초 안에 {topic}에 레코드 {n}개가 쌓이지 않았다 (지금 {got}개).")
        progress.update(f"기다리는 중: {topic}에 레코드 {n}개 ... 지금 {got}개 ({waited:.0f}초)")
        time.sleep(0.3)


# ------------------------------------------------------------------ plugins

def build_plugin(sources, name):
    """javac the book's connector sources (notebooks/chNN/java/...) against .kafka/libs and pack
    them with `jar` into plugin.path/<name>/<name>.jar, with the META-INF/services files that
    let the worker find them by ServiceLoader (KIP-898). Returns the jar's path.

    A source javac refuses raises jvm.JavaCompileError with javac's message; nothing is written.
    """
    paths = [jvm.source_path(s) for s in sources]
    work = CONNECT_DIR / "build" / name
    shutil.rmtree(work, ignore_errors=True)
    classes = work / "classes"
    classes.mkdir(parents=True)
    done = subprocess.run([jvm._java("javac"), "-encoding", "UTF-8", "-cp", jvm.libs_classpath(),
                           "-d", str(classes), *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise jvm.JavaCompileError("자바 컴파일 실패 (" + ", ".join(p.name for p in paths) + "):\n"
                                   + (done.stdout + done.stderr).strip())
    services = {"org.apache.kafka.connect.source.SourceConnector": [],
                "org.apache.kafka.connect.sink.SinkConnector": []}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        package = next((l.split()[1].rstrip(";") for l in text.splitlines() if l.startswith("package ")), "")
        cls = f"{package}.{path.stem}" if package else path.stem
        if "extends SourceConnector" in text:
            services["org.apache.kafka.connect.source.SourceConnector"].append(cls)
        if "extends SinkConnector" in text:
            services["org.apache.kafka.connect.sink.SinkConnector"].append(cls)
    meta = classes / "META-INF" / "services"
    meta.mkdir(parents=True)
    for iface, impls in services.items():
        if impls:
            (meta / iface).write_text("\n".join(impls) + "\n", encoding="utf-8")
    target = PLUGIN_PATH / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    jar = target / f"{name}.jar"
    subprocess.run([jvm._java("jar"), "cf", str(jar), "-C", str(classes), "."], check=True,
                   capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    return jar


def jar_entries(jar):
    """The file names inside a jar (what the worker's plugin scanner will see)."""
    import zipfile
    with zipfile.ZipFile(jar) as z:
        return [n for n in z.namelist() if not n.endswith("/")]


# ------------------------------------------------------------------ standalone

def run_standalone(connector_properties, worker_props, name="connect-standalone", timeout=120):
    """Start ConnectStandalone <worker.properties> <connector.properties> as a JVM program and
    return it (the caller stops it); waits until its REST API answers GET /connectors."""
    port = next((int(l.split(":")[-1]) for l in Path(worker_props).read_text().splitlines()
                 if l.startswith("listeners=")), PORT)
    prog = jvm.JavaProgram.main_class(
        "org.apache.kafka.connect.cli.ConnectStandalone", str(worker_props), str(connector_properties),
        name=name, cwd=CONNECT_DIR, jvm_options=[f"-Dlog4j2.configurationFile={LOG4J}"])
    prog.start()
    url = f"http://127.0.0.1:{port}"
    progress = _Progress(False)
    try:
        while True:
            waited = time.monotonic() - prog.started_at
            if not prog.alive:
                prog._check_ended()
            code, body = _status_code("/connectors", url)
            if code == 200 and json.loads(body):
                progress.update(f"standalone 워커 준비 ({waited:.1f}초): GET /connectors → {body}")
                return prog
            if waited > timeout:
                raise ConnectRestError(f"{timeout}초 안에 standalone 워커가 답하지 않았다.")
            progress.update(f"기다리는 중: standalone 워커 ({waited:.0f}초)")
            time.sleep(0.5)
    except BaseException:
        prog.stop(quiet=True)
        raise


def write_properties(path, props):
    """Write a .properties file from a dictionary and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
    return path


def append_lines(path, new_lines):
    """Append lines to a text file (creating it), as an application writing a log would."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for line in new_lines:
            f.write(f"{line}\n")
        f.flush()
        os.fsync(f.fileno())
    return len(lines(path))


def lines_within(path, position):
    """How many whole lines of the file end at or before byte `position` (FileStreamSource's
    source offset counts what it has read; our lines are ASCII, so characters = bytes)."""
    data = Path(path).read_bytes()[:position]
    return data.count(b"\n")


def observe(topic, seconds, bootstrap=settings.BOOTSTRAP):
    """Watch the topic's record count for `seconds` (an observation window, not a wait):
    return the counts seen, one per half second."""
    from .topics import end_offsets
    seen, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        seen.append(sum(end_offsets(topic, bootstrap).values()))
        time.sleep(0.5)
    return seen


def value_counts(topic, bootstrap=settings.BOOTSTRAP):
    """{value: how many times it is in the topic} (values decoded as UTF-8)."""
    from collections import Counter
    from .topics import read_all
    return Counter(r.value.decode() for r in read_all(topic, bootstrap))


@clocked("wait", ("connector", 0))
def wait_for_offset(connector, field, value, timeout=60, bootstrap=settings.BOOTSTRAP):
    """Wait until connect-offsets holds a source offset of `connector` (any source partition)
    whose `field` is `value` (the worker flushes offsets every offset.flush.interval.ms).
    Returns the seconds waited."""
    progress, start = _Progress(False), time.monotonic()
    while True:
        last = list(source_offsets(connector, bootstrap).values())
        waited = time.monotonic() - start
        if any(o and o.get(field) == value for o in last):
            progress.update(f"connect-offsets: {connector}의 {field}={value} ({waited:.1f}초)")
            return waited
        if waited > timeout:
            raise ConnectRestError(f"{timeout}초 안에 {connector}의 오프셋 {field}={value}가 "
                                   f"connect-offsets에 커밋되지 않았다 (지금: {last}).")
        progress.update(f"기다리는 중: connect-offsets에 {connector}의 {field}={value} ... "
                        f"지금 {last} ({waited:.0f}초)")
        time.sleep(0.5)


def target_state(connector, bootstrap=settings.BOOTSTRAP):
    """What connect-configs says about `connector`: None if it was never created or was deleted,
    else the target state last written (STARTED if none was written: TargetState.STARTED)."""
    exists, state = False, "STARTED"
    for _, key, value in internal_records("connect-configs", bootstrap):
        if key == f"connector-{connector}":
            exists, state = value is not None, "STARTED"
        elif key == f"target-state-{connector}" and value is not None:
            state = value.get("state.v2") or value.get("state")
    return state if exists else None


def check_pause_exercise(connector, topic, path, bootstrap=settings.BOOTSTRAP):
    """The 직접 해보기 of 3.6.1, judged from the broker: connect-configs must hold `connector`
    with target state PAUSED, and the topic must hold fewer records than the file has lines."""
    from .topics import end_offsets
    state = target_state(connector, bootstrap)
    in_topic = sum(end_offsets(topic, bootstrap).values())
    in_file = len(lines(path))
    if state is None:
        return f"틀렸다. connect-configs에 커넥터 {connector}가 없다. 지우지 말고 멈춰야 한다."
    if state == "STARTED":
        return (f"아직이다. connect-configs에 적힌 {connector}의 목표 상태는 STARTED(실행)이다 "
                f"(파일 {in_file}줄, 토픽 {in_topic}개).")
    if state != "PAUSED":
        return (f"틀렸다. 목표 상태가 {state}이다. 태스크와 그 설정까지 내리는 요청이 아니라, "
                "태스크를 살려 둔 채 쉬게 하는 요청을 쓴다.")
    if in_file <= in_topic:
        return (f"절반만 맞다. {connector}는 PAUSED이지만 파일({in_file}줄)에 토픽({in_topic}개)보다 "
                "많은 줄이 아직 없다. 파일에 줄을 더해 본다.")
    return (f"맞다! connect-configs의 목표 상태는 PAUSED이고, 파일은 {in_file}줄인데 "
            f"토픽에는 {in_topic}개만 있다.")


def check_envelope_exercise(topic, text, bootstrap=settings.BOOTSTRAP):
    """The 직접 해보기 of 3.6.2, judged from the broker: the topic's last record must be what a
    JsonConverter with schemas.enable=true reads as the string `text` (a JSON envelope whose
    schema is a string schema and whose payload is `text`)."""
    from .topics import read_all
    records = read_all(topic, bootstrap)
    if not records:
        return f"아직 {topic}에 레코드가 없다."
    raw = records[-1].value
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, AttributeError):
        return f"틀렸다. 마지막 레코드 {raw[:60]!r}는 UTF-8 JSON이 아니다."
    if not isinstance(doc, dict) or set(doc) != {"schema", "payload"}:
        return f"틀렸다. 값이 schema와 payload 두 필드만 가진 JSON 객체가 아니다: {raw[:80]!r}"
    schema = doc["schema"]
    if not isinstance(schema, dict) or schema.get("type") != "string":
        return f"틀렸다. schema가 문자열 스키마가 아니다: {schema!r}"
    if doc["payload"] != text:
        return f"틀렸다. payload가 {doc['payload']!r}이다."
    return f"맞다! 마지막 레코드 {raw.decode()}는 JsonConverter가 문자열 {text!r}로 읽는다."
