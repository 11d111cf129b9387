"""Start, stop, kill and restart the book's brokers: local JVMs from the Maven jars, or Docker.

The local runtime runs Apache's own classes (kafka.Kafka, kafka.tools.StorageTool)
from the official 4.3.1 jars with server.properties derived from docker-compose.yml.
KAFKABOOK_RUNTIME=local|docker chooses; by default Docker is used when an engine answers.
"""
import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

from . import cds, settings
from .connection import check_broker, port_open
from .errors import RuntimeSetupError
from .waiting import wait_until
from .waitclock import clocked

POM = Path(__file__).parent / "kafka" / "pom.xml"
#: Spring Boot + Spring Kafka (4.4): its own folder, since Boot brings logback and SLF4J 2
SPRING_POM = Path(__file__).parent / "kafka" / "spring" / "pom.xml"
SERVER_LOG4J = Path(__file__).parent / "kafka" / "log4j2-server.properties"
TOOLS_LOG4J = Path(__file__).parent / "kafka" / "log4j2-tools.properties"
#: the broker is a server: G1, as kafka-run-class.sh sets KAFKA_JVM_PERFORMANCE_OPTS
JVM_OPTS = ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
            "-Djava.awt.headless=true"]
#: a CLI tool lives a second: the C1 compiler only (no C2 compiles it would never use) and the serial GC
#: (no G1 threads and regions to set up); cli.py keeps JVM_OPTS for tools that measure throughput
QUICK_OPTS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Djava.awt.headless=true"]


@lru_cache(maxsize=1)
def kind():
    """'docker' or 'local'."""
    chosen = os.environ.get("KAFKABOOK_RUNTIME", "auto")
    if chosen in ("docker", "local"):
        return chosen
    if shutil.which("docker"):
        ok = subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
        if ok:
            return "docker"
    return "local"


# ---------------------------------------------------------------- jars and java

def check_java():
    java = shutil.which("java")
    if not java:
        raise RuntimeSetupError("java를 찾을 수 없습니다. Java 17 이상을 설치하세요 (예: apt-get install openjdk-17-jre-headless).")
    out = cds.java_identity(java)           # `java -version`, run once per process
    version = out.split('"')[1] if '"' in out else "0"
    major = int(version.split(".")[0] if not version.startswith("1.") else 1)
    if major < 17:
        raise RuntimeSetupError(f"Kafka 4.3은 Java 17 이상이 필요합니다. 지금 java는 {version}입니다.")
    return java


def ensure_jars(quiet=False, pom=POM, dest=None, what="카프카 4.3.1"):
    """Copy the runtime jars `pom` names from Maven Central into `dest` once (Maven's ~/.m2 is the cache).

    By default Kafka 4.3.1's jars into .kafka/libs; with pom=SPRING_POM, dest=settings.SPRING_DIR the
    Spring Boot and Spring Kafka jars of chapter 4.4. A stamp (the pom's sha256) skips the work next time.
    """
    dest = settings.LIBS_DIR if dest is None else Path(dest)
    stamp = dest / ".pom-sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return dest
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeSetupError("mvn(Maven)을 찾을 수 없습니다. Maven을 설치하거나 Docker로 실행하세요.")
    settings.STATE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{dest.name}-", dir=settings.STATE_DIR))
    cmd = [mvn, "-B", "-f", str(pom),
           "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
           "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"]
    if not quiet:
        print(f"{what} jar를 Maven Central에서 받습니다 ({_relative(dest)}; 처음 한 번, ~/.m2가 캐시) ...",
              file=sys.stderr, flush=True)
    returncode, output = _maven_with_progress(cmd, quiet)
    if returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeSetupError(f"Maven으로 {what} jar를 받지 못했습니다:\n" + output[-5000:])
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    stamp.write_text(digest)
    return dest


def ensure_spring_jars(quiet=False):
    """Spring Boot 4.1.2 + Spring Kafka 4.1.2 (kafka-clients 4.3.1) into .kafka/spring (chapter 4.4)."""
    return ensure_jars(quiet, pom=SPRING_POM, dest=settings.SPRING_DIR,
                       what="스프링 부트·스프링 카프카")


def _relative(path):
    try:
        return str(Path(path).relative_to(settings.ROOT))
    except ValueError:
        return str(path)


_MAVEN_LINE = re.compile(r"(Downloading|Downloaded) from [^:]+: (\S+)(?: \(([\d.]+) (B|kB|MB))?|Copying (\S+) to")
_UNITS = {"B": 1, "kB": 1e3, "MB": 1e6}


def _maven_with_progress(cmd, quiet, every=5.0):
    """Run Maven, condensing its download lines into one progress line (updated in place on a
    terminal, a new line every `every` s in a log): files and MB fetched, the file in flight, seconds.
    Returns (returncode, everything Maven printed)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    state = {"files": 0, "bytes": 0.0, "copied": 0, "now": "", "lines": []}

    def read():
        for line in proc.stdout:
            state["lines"].append(line)
            m = _MAVEN_LINE.search(line)
            if not m:
                continue
            if m.group(1) == "Downloading":
                state["now"] = m.group(2).rsplit("/", 1)[-1]
            elif m.group(1) == "Downloaded":
                state["files"] += 1
                state["bytes"] += float(m.group(3) or 0) * _UNITS.get(m.group(4), 1)
            else:
                state["copied"] += 1
                state["now"] = Path(m.group(5)).name

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    began, tty = time.monotonic(), sys.stderr.isatty()
    step = 1.0 if tty else every
    while reader.is_alive():
        reader.join(step)
        if quiet or not reader.is_alive():
            break
        copied = f", .kafka/libs로 복사 {state['copied']}개" if state["copied"] else ""
        text = (f"  Maven: 파일 {state['files']}개 받음 ({state['bytes'] / 1e6:.0f} MB){copied}, "
                f"{time.monotonic() - began:.0f}초  {state['now'][:50]}")
        print(f"\r{text:<110}" if tty else text, end="" if tty else "\n", file=sys.stderr, flush=True)
    returncode = proc.wait()
    if not quiet:
        end = "\n" if tty else ""
        print(f"{end}  Maven 끝: 파일 {state['files']}개 받음 ({state['bytes'] / 1e6:.0f} MB), "
              f"jar {state['copied']}개, {time.monotonic() - began:.0f}초", file=sys.stderr, flush=True)
    return returncode, "".join(state["lines"])


def server_jars(libs=None):
    """The broker and tools jars in classpath order: everything but connect-file, as kafka-run-class.sh does."""
    libs = settings.LIBS_DIR if libs is None else libs
    return sorted(p for p in libs.glob("*.jar") if not p.name.startswith("connect-file"))


def classpath():
    """The broker and tools classpath (the CDS archives are keyed by it)."""
    return os.pathsep.join(str(p) for p in server_jars(ensure_jars(quiet=True)))


def java_command(main_class, args, heap=("-Xmx256M",), log4j=TOOLS_LOG4J, extra=(), role="tools", quick=None,
                 use_cds=True):
    """The java command line for a tool (role "tools") or a node (role "broker").

    quick: QUICK_OPTS instead of JVM_OPTS (default: for tools). use_cds: map the role's CDS archive if there is one.
    """
    java, cp = check_java(), classpath()
    quick = role == "tools" if quick is None else quick
    shared = cds.options(role, java, cp) if use_cds else []
    return [java, *heap, *(QUICK_OPTS if quick else JVM_OPTS), *shared, f"-Dlog4j2.configurationFile={log4j}",
            *extra, "-cp", cp, main_class, *args]


# ---------------------------------------------------------------- one node

class LocalNode:
    """One KRaft node (broker+controller) as a JVM on this machine."""

    def __init__(self, service):
        self.service = service
        self.dir = settings.node_dir(service)
        self.config = self.dir / "server.properties"
        self.data_dir = self.dir / "data"
        self.logs_dir = self.dir / "logs"
        self.log_file = self.logs_dir / "server.log"
        self.pid_file = self.dir / "pid"

    def pid(self):
        """The node's process id, or None. A pid file can outlive its process and the number be reused
        (by any process, or as a thread id inside another broker's JVM), so the process must be a
        thread-group leader running kafka.Kafka with this node's own server.properties."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        proc = Path(f"/proc/{pid}")
        if not proc.exists():           # no procfs (macOS): trust the signal check
            return pid
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            tgid = next(line.split()[1] for line in (proc / "status").read_text().splitlines()
                        if line.startswith("Tgid:"))
        except (OSError, StopIteration, IndexError):
            return None
        if int(tgid) != pid or b"kafka.Kafka" not in cmdline or str(self.config).encode() not in cmdline:
            return None
        return pid

    def is_running(self):
        return self.pid() is not None

    def _write_config(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        props = settings.node_properties(self.service)
        lines = [f"# {self.service}: derived from docker-compose.yml by kafkabook/settings.py; do not edit"]
        lines += [f"{k}={v}" for k, v in props.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def _format(self):
        if (self.data_dir / "meta.properties").exists():
            return
        cmd = java_command("kafka.tools.StorageTool",
                           ["format", "-t", settings.cluster_id(self.service), "-c", str(self.config)])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeSetupError(f"{self.service} 저장소 포맷 실패:\n{done.stdout}{done.stderr}")

    def start(self):
        if self.is_running():
            return
        self._write_config()
        props = settings.node_properties(self.service)
        for listener in props["listeners"].split(","):
            port = int(listener.rsplit(":", 1)[1])
            if port_open("127.0.0.1", port, timeout=0.5):
                raise RuntimeSetupError(
                    f"포트 {port}를 이미 다른 프로그램이 쓰고 있어 {self.service}를 시작할 수 없습니다.\n"
                    f"확인: ss -ltnp 'sport = :{port}'  (Docker 브로커가 떠 있다면 docker compose down)")
        self._format()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        cmd = java_command("kafka.Kafka", [str(self.config)], heap=settings.heap_opts(self.service),
                           log4j=SERVER_LOG4J, role="broker", extra=[f"-Dkafka.logs.dir={self.logs_dir}"])
        with open(self.logs_dir / "stdout.log", "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=self.dir)
        self.pid_file.write_text(str(proc.pid))

    def _signal(self, sig):
        pid = self.pid()
        if pid is None:
            return None
        os.kill(pid, sig)
        return pid

    def stop(self, timeout=60):
        """Controlled shutdown (SIGTERM), as kafka-server-stop.sh does."""
        self.resume()           # a paused JVM could not run its shutdown hook
        if self._signal(signal.SIGTERM) is not None:
            try:
                wait_until(lambda: not self.is_running(), timeout, f"{self.service} 종료")
            except TimeoutError:
                self._signal(signal.SIGKILL)
                wait_until(lambda: not self.is_running(), 10, f"{self.service} 강제 종료")

    def kill(self):
        """Hard kill (SIGKILL): no shutdown hook, no flush."""
        self.resume()           # a stopped process only dies once it runs again
        if self._signal(signal.SIGKILL) is not None:
            wait_until(lambda: not self.is_running(), 10, f"{self.service} 강제 종료")

    def pause(self):
        """Freeze the JVM (SIGSTOP) and wait until it is stopped: it keeps its sockets but answers nothing."""
        if self._signal(signal.SIGSTOP) is not None:
            wait_until(self.is_paused, 10, f"{self.service} 일시 정지", interval=0.02)

    def resume(self):
        """Let a paused JVM run again (SIGCONT)."""
        return self._signal(signal.SIGCONT)

    def is_paused(self):
        pid = self.pid()
        if pid is None:
            return False
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state in ("T", "t")

    def reset(self):
        """Stop and delete all data (the next start formats fresh storage)."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def where(self):
        return {"config": self.config, "data": self.data_dir, "log": self.log_file}


class DockerNode:
    """One compose service of docker-compose.yml."""

    def __init__(self, service):
        self.service = service
        self.data_dir = Path("/var/lib/kafka/data")
        self.log_file = None

    def _compose(self, *args, check=True):
        cmd = ["docker", "compose", "-f", str(settings.COMPOSE_FILE), "--profile", "cluster", *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=check)

    def is_running(self):
        out = self._compose("ps", "-q", "--status", "running", self.service, check=False).stdout
        return bool(out.strip())

    def pid(self):
        return None

    def start(self):
        self._compose("up", "-d", self.service)

    def stop(self, timeout=60):
        self.resume()           # Docker refuses to stop or kill a paused container
        self._compose("stop", "-t", str(timeout), self.service)

    def kill(self):
        self.resume()
        self._compose("kill", "-s", "SIGKILL", self.service)

    def pause(self):
        self._compose("pause", self.service)

    def resume(self):
        self._compose("unpause", self.service, check=False)

    def is_paused(self):
        out = self._compose("ps", "-q", "--status", "paused", self.service, check=False).stdout
        return bool(out.strip())

    def reset(self):
        self._compose("rm", "-s", "-f", "-v", self.service)

    def where(self):
        return {"config": "/opt/kafka/config/server.properties (컨테이너 안)", "data": self.data_dir,
                "log": f"docker compose logs {self.service}"}


def node(service):
    return DockerNode(service) if kind() == "docker" else LocalNode(service)


# ---------------------------------------------------------------- groups of nodes

def fail_if_dead(services):
    """Raise RuntimeSetupError with the end of its log if a local node's process has exited."""
    for s in services:
        n = node(s)
        if kind() == "local" and not n.is_running():
            out = n.logs_dir / "stdout.log"
            tail = out.read_text(errors="replace")[-2000:] if out.exists() else ""
            raise RuntimeSetupError(f"{s} 프로세스가 종료되었습니다. 로그: {n.log_file}\n{tail}")


@clocked("wait", ("services", 0))
def wait_ready(services=settings.SINGLE, timeout=120):
    """Wait until every node of `services` is registered *unfenced* and accepts client connections;
    fail at once if a node's process died.

    The metadata may list a freshly started node while it is still fenced and not yet listening;
    a client that then picks it gets ECONNREFUSED. So the client ports are checked too.
    """
    services = _names(services)
    bootstrap = settings.bootstrap_for(services)
    want = sorted(int(settings.node_properties(s)["node.id"]) for s in services)

    def serving():
        fail_if_dead(services)
        brokers = check_broker(bootstrap, timeout=5)["brokers"]
        unfenced = sorted(b["broker_id"] for b in brokers if not b.get("is_fenced"))
        addresses = [settings.client_address(s).rsplit(":", 1) for s in services]
        return unfenced == want and all(port_open(host, int(port), timeout=0.5) for host, port in addresses)

    wait_until(serving, timeout, f"{', '.join(services)} 준비", interval=0.2, reraise=RuntimeSetupError)
    return bootstrap


def _names(services):
    """A node name or a sequence of them ('kafka' alone must not be read as 'k', 'a', ...)."""
    return (services,) if isinstance(services, str) else tuple(services)


@clocked("wait", ("services", 0))
def start(services=settings.SINGLE, timeout=180):
    """Start the nodes (if not running) and wait until all answer; returns the bootstrap string."""
    services = _names(services)
    for s in services:
        node(s).start()
    return wait_ready(services, timeout)


def stop(services=settings.SINGLE, timeout=60):
    """Stop the nodes (a name or a sequence of names), all at once: SIGTERM to every node first,
    then wait for each (SIGKILL after `timeout` s).

    One by one, the last node of a KRaft cluster hangs: the other voters are gone, so no
    controller is left to grant its controlled shutdown (BrokerServer.shutdown waits on
    lifecycleManager.controlledShutdownFuture) and it stops only when killed. Signalled together,
    every broker's controlled shutdown is granted while the quorum still stands.
    """
    names = _names(services)
    if len(names) > 1 and kind() == "local":
        for s in names:
            node(s).resume()           # a paused JVM could not run its shutdown hook
            with contextlib.suppress(ProcessLookupError):
                node(s)._signal(signal.SIGTERM)
    for s in names:
        node(s).stop(timeout)


def status(services=settings.SINGLE):
    return {s: node(s).is_running() for s in _names(services)}


def kill(service):
    node(service).kill()


def pause(service):
    """Freeze a node (SIGSTOP to its JVM; `docker compose pause` with Docker). Always resume it later."""
    node(service).pause()


def resume(service):
    """Let a paused node run again (SIGCONT; `docker compose unpause`)."""
    node(service).resume()


def restart(service, timeout=180):
    """Start a node again after a kill or stop, and wait until its group is whole again."""
    group = settings.CLUSTER if service in settings.CLUSTER else settings.SINGLE
    node(service).start()
    return wait_ready(group, timeout)


# ---------------------------------------------------------------- after a kill; a partition's files on disk

def _ports(service):
    """The TCP ports `service` listens on (client and controller listeners)."""
    listeners = settings.node_properties(service)["listeners"].split(",")
    return [int(listener.rsplit(":", 1)[1]) for listener in listeners]


@clocked("wait", ("service", 0))
def wait_down(service, timeout=30):
    """Wait until `service` is really gone after kill/stop: no process (or container) and no open port.

    A JVM's main thread can be reaped before its other threads have closed the sockets, so
    a restart right after `kill` could still find the port taken; this waits that out.
    """
    n = node(service)

    def gone():
        if n.is_running():
            return False
        return kind() == "docker" or not any(port_open("127.0.0.1", p, timeout=0.2) for p in _ports(service))

    wait_until(gone, timeout, f"{service} 종료 확인")


def partition_dir(topic, partition, service="kafka"):
    """The folder that holds one partition's log on `service` (inside the container with Docker)."""
    return node(service).data_dir / f"{topic}-{partition}"


def _in_container(service, *command):
    cmd = ["docker", "compose", "-f", str(settings.COMPOSE_FILE), "--profile", "cluster",
           "exec", "-T", service, *command]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


def segment_files(topic, partition, service="kafka"):
    """The segment files (.log, .index, .timeindex) of one partition: [{'name', 'size'}] sorted by name."""
    folder = partition_dir(topic, partition, service)
    wanted = (".log", ".index", ".timeindex")
    if kind() == "docker":
        out = _in_container(service, "sh", "-c", f'cd "{folder}" && stat -c "%n %s" *').decode()
        rows = [line.rsplit(" ", 1) for line in out.splitlines() if line.strip()]
        files = [{"name": name, "size": int(size)} for name, size in rows]
    else:
        files = [{"name": p.name, "size": p.stat().st_size} for p in folder.iterdir() if p.is_file()]
    return sorted((f for f in files if f["name"].endswith(wanted)), key=lambda f: f["name"])


def segment_bytes(topic, partition, name, service="kafka"):
    """The raw bytes of one file of a partition's folder (e.g. '00000000000000000000.log')."""
    path = partition_dir(topic, partition, service) / name
    if kind() == "docker":
        return _in_container(service, "cat", str(path))
    return path.read_bytes()
