"""Class-data sharing (CDS) archives: the book's JVMs start in about half the time.

A short Kafka tool spends most of its second loading, parsing and verifying ~2,500 classes
from the jars. JDK 13+ can write the classes one run loaded into an archive
(-XX:ArchiveClassesAtExit, a "dynamic" archive on top of the JDK's own) that later runs map
from disk (-XX:SharedArchiveFile). `ensure()` (called by `python -m kafkabook jars`, that is
by every ./run command) builds one archive per role once per classpath and JDK:

- tools: a `kafka-topics.sh --create` run (the CLI tools)
- programs: kafka/CdsWarmup.java (an admin client, a producer, a consumer in a group: what book
  programs do; a JRE without the source launcher's compiler: a `kafka-console-consumer.sh` run)
- broker: a broker (kafka.Kafka) that served those two, stopped with SIGTERM

all against a throwaway single-node broker on free ports. `options(role, classpath)` gives
the JVM options that use the archive. An archive is keyed by the java binary, its version,
the classpath and every jar's size and mtime: a new jar set or another JDK finds no archive
(the JVM then runs as before) until the next ./run builds one. The JVM checks the same
things again itself and, with -Xshare:auto, silently ignores an archive that does not match.
Nothing here ever fails a start: a build that does not work leaves a marker and is not retried
for an hour. KAFKABOOK_CDS=off turns archives off (the benchmark's "before").
"""
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

from . import settings

CDS_DIR = settings.STATE_DIR / "cds"
WARMUP = Path(__file__).parent / "kafka" / "CdsWarmup.java"
PROGRAMS_LOG4J = Path(__file__).parent / "kafka" / "log4j2-programs.properties"
ROLES = ("tools", "programs", "broker")
#: -Xlog:cds*=off: a mismatching archive would otherwise print a warning on stdout, into the tool's output
USE = ["-Xshare:auto", "-Xlog:cds*=off"]


def enabled():
    return os.environ.get("KAFKABOOK_CDS", "on").lower() not in ("off", "0", "no", "false")


@lru_cache(maxsize=4)
def java_identity(java):
    """The java binary's real path and `java -version` text (cached: it costs a JVM start)."""
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    return f"{os.path.realpath(java)}\n{out}"


def key(role, java, classpath):
    """A digest of everything an archive depends on."""
    h = hashlib.sha256(f"{role}\n{java_identity(java)}\n{classpath}\n".encode())
    for jar in classpath.split(os.pathsep):
        try:
            st = os.stat(jar)
        except OSError:
            return None
        h.update(f"{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def archive_path(role, java, classpath):
    """Where the archive for (role, java, classpath) lives (None if a jar is missing)."""
    k = key(role, java, classpath)
    return CDS_DIR / f"{role}-{k}.jsa" if k else None


def options(role, java, classpath):
    """JVM options that map the role's archive, or [] when there is none (or KAFKABOOK_CDS=off).

    `classpath` must be the archive's classpath or start with it (more entries may follow).
    """
    if not enabled():
        return []
    path = archive_path(role, java, classpath)
    if path is None or not path.exists():
        return []
    return [*USE, f"-XX:SharedArchiveFile={path}"]


def _failed_lately(path, hours=1):
    """A build of this archive failed in the last `hours` (a marker file): do not try again yet."""
    try:
        return time.time() - path.with_suffix(".failed").stat().st_mtime < hours * 3600
    except OSError:
        return False


def missing(java, classpath, roles=ROLES):
    """The roles without a (built or failed) archive for this java and classpath."""
    out = []
    for role in roles:
        path = archive_path(role, java, classpath)
        if path is not None and not path.exists() and not _failed_lately(path):
            out.append(role)
    return out


# ---------------------------------------------------------------- building

def _say(text, quiet):
    if not quiet:
        print(text, file=sys.stderr, flush=True)


class _Ticker:
    """While the build runs, a line every `every` s that says which step it is in (no silent terminal)."""

    def __init__(self, quiet, every=5.0):
        self.quiet, self.every, self.began, self.step = quiet, every, time.monotonic(), "임시 브로커 시작"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.done.wait(self.every):
            _say(f"  ... {self.step} ({time.monotonic() - self.began:.0f}초)", self.quiet)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _valid(java, archive, classpath):
    """True if the JVM maps `archive` with this classpath (a truncated or foreign file fails here,
    in a throwaway JVM, rather than in a reader's tool)."""
    try:
        done = subprocess.run([java, "-Xshare:on", f"-XX:SharedArchiveFile={archive}",
                               f"-XX:ErrorFile={os.devnull}", "-cp", classpath, "-version"],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def ensure(quiet=False, roles=ROLES):
    """Build the archives of `roles` that are missing for the current jars and java; never raises.

    Returns {role: Path} of the archives in place afterwards.
    """
    from . import runtime
    if not enabled():
        return {}
    try:
        java = runtime.check_java()
        classpath = runtime.classpath()
        _ensure(java, classpath, roles, quiet)
    except Exception as e:                       # no java, no jars, a read-only folder: run without archives
        _say(f"CDS 아카이브를 건너뜁니다: {e}", quiet)
        return {}
    return {r: p for r in ROLES if (p := archive_path(r, java, classpath)) and p.exists()}


def _ensure(java, classpath, roles, quiet):
    todo = missing(java, classpath, roles)
    if todo:
        CDS_DIR.mkdir(parents=True, exist_ok=True)
        with open(CDS_DIR / ".lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:                      # another process builds them right now
                return
            todo = missing(java, classpath, roles)
            if todo:
                try:
                    _build(java, classpath, todo, quiet)
                except Exception as e:           # never fail a start because of an optimisation
                    _say(f"CDS 아카이브를 만들지 못했습니다 (JVM은 아카이브 없이 시작합니다): {e}", quiet)
                for role in todo:
                    path = archive_path(role, java, classpath)
                    if not path.exists():
                        path.with_suffix(".failed").write_text("build failed; retried after an hour\n")


def _build(java, classpath, roles, quiet):
    began = time.monotonic()
    _say(f"JVM 시작을 빠르게 할 CDS 아카이브를 만듭니다 ({', '.join(roles)}; 임시 브로커로 30초~1분, 처음 한 번) ...",
         quiet)
    with _Ticker(quiet) as ticker:
        _build_with(java, classpath, roles, quiet, began, ticker)
    made = [r for r in roles if archive_path(r, java, classpath).exists()]
    _say(f"CDS 아카이브 {len(made)}개 완료 ({', '.join(made) or '없음'}, {time.monotonic() - began:.0f}초)", quiet)


def _build_with(java, classpath, roles, quiet, began, ticker):
    from . import runtime
    from .connection import port_open
    work = Path(tempfile.mkdtemp(prefix="build-", dir=CDS_DIR))
    dumps = {role: work / f"{role}.jsa" for role in roles}
    broker = None
    try:
        port, controller = _free_port(), _free_port()
        bootstrap = f"127.0.0.1:{port}"
        props = dict(settings.node_properties("kafka"))
        props.update({"listeners": f"PLAINTEXT://{bootstrap},CONTROLLER://127.0.0.1:{controller}",
                      "advertised.listeners": f"PLAINTEXT://{bootstrap}",
                      "controller.quorum.voters": f"1@127.0.0.1:{controller}",
                      "log.dirs": str(work / "data"),
                      "offsets.topic.num.partitions": "1"})     # the warm-up's group: 1 partition, not 50
        config = work / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        fmt = runtime.java_command("kafka.tools.StorageTool", ["format", "-t", settings.cluster_id("kafka"),
                                                                "-c", str(config)], use_cds=False)
        subprocess.run(fmt, capture_output=True, text=True, check=True, timeout=120)

        def dump(role):
            return [f"-XX:ArchiveClassesAtExit={dumps[role]}"] if role in roles else []

        cmd = runtime.java_command("kafka.Kafka", [str(config)], heap=settings.heap_opts("kafka"),
                                   log4j=runtime.SERVER_LOG4J, role="broker", use_cds=False,
                                   extra=[f"-Dkafka.logs.dir={work / 'logs'}", *dump("broker")])
        with open(work / "broker.out", "wb") as out:
            broker = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True, cwd=work)
        deadline = time.monotonic() + 120
        while not port_open("127.0.0.1", port, timeout=0.5):
            if broker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("임시 브로커가 시작하지 않았습니다: " + (work / "broker.out").read_text()[-1000:])
            time.sleep(0.3)
        _say(f"  임시 브로커 준비 ({time.monotonic() - began:.0f}초)", quiet)
        ticker.step = "tools: kafka-topics.sh --create"

        def tool(main, args, role=None, stdin=None):
            cmd = runtime.java_command(main, ["--bootstrap-server", bootstrap, *args], use_cds=False,
                                       role="tools" if role != "programs" else "programs",
                                       extra=dump(role) if role else [])
            return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)

        topic = "kafkabook.cds"
        tool("org.apache.kafka.tools.TopicCommand", ["--create", "--topic", topic, "--partitions", "1",
                                                     "--replication-factor", "1"], role="tools")
        _say(f"  tools 아카이브 (토픽 생성, {time.monotonic() - began:.0f}초)", quiet)
        if "programs" in roles:
            ticker.step = "programs: CdsWarmup.java (컴파일, 프로듀서, 컨슈머 그룹)"
            warmup = [java, "-Xmx192m", f"-Dlog4j2.configurationFile={PROGRAMS_LOG4J}", *dump("programs"),
                      "-cp", classpath, str(WARMUP), bootstrap, topic]
            done = subprocess.run(warmup, capture_output=True, text=True, timeout=180)
            if done.returncode != 0:                  # a JRE has no compiler for the source launcher
                dumps["programs"].unlink(missing_ok=True)
                tool("org.apache.kafka.tools.ConsoleProducer", ["--topic", topic], stdin="cds\n")
                tool("org.apache.kafka.tools.consumer.ConsoleConsumer",
                     ["--topic", topic, "--group", "kafkabook.cds", "--from-beginning", "--max-messages", "1",
                      "--timeout-ms", "30000"], role="programs")
            _say(f"  programs 아카이브 ({time.monotonic() - began:.0f}초)", quiet)
    finally:
        ticker.step = "broker: 임시 브로커 종료와 아카이브 쓰기"
        if broker is not None and broker.poll() is None:
            broker.send_signal(signal.SIGTERM)        # the JVM writes the broker archive as it exits
            try:
                broker.wait(90)
            except subprocess.TimeoutExpired:
                broker.kill()
                broker.wait(10)
        for role, tmp in dumps.items():
            final = archive_path(role, java, classpath)
            if tmp.exists() and _valid(java, tmp, classpath):
                for old in CDS_DIR.glob(f"{role}-*"):
                    old.unlink(missing_ok=True)
                tmp.rename(final)
        shutil.rmtree(work, ignore_errors=True)
