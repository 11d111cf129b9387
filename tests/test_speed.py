"""JVM start (kafkabook.cds): the class-data sharing archives are built, the tools, the broker and the book's
programs map them, and an archive that does not fit (other jars, a damaged file) is ignored or rebuilt, never
a failure. No timed assertions: benchmarks/bench.py measures the speed."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kafkabook import cds, jvm, kafka_sh, runtime, settings
from kafkabook.cli import TOOLS
from kafkabook.topics import fresh_topic

ROOT = settings.ROOT
LIST = ["--bootstrap-server", settings.BOOTSTRAP, "--list"]


@pytest.fixture(scope="module")
def archives():
    """The archives `./run` built (python -m kafkabook jars); built here if a test run started without them."""
    built = cds.ensure(quiet=True)
    assert set(built) == set(cds.ROLES), f"CDS archives missing: {built}"
    return built


def class_sources(cmd):
    """{class name: source} from a JVM run with -Xlog:class+load (the log goes to stdout)."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found = {}
    for line in done.stdout.splitlines():
        if "[class,load]" in line and " source: " in line:
            name, source = line.split("] ", 1)[1].split(" source: ", 1)
            found[name] = source
    return found


def test_a_cli_tool_maps_the_tools_archive(broker, archives):
    cmd = runtime.java_command(TOOLS["kafka-topics.sh"], LIST, extra=["-Xlog:class+load"])
    assert f"-XX:SharedArchiveFile={archives['tools']}" in cmd
    assert "-XX:TieredStopAtLevel=1" in cmd and "-XX:+UseSerialGC" in cmd
    sources = class_sources(cmd)
    assert sources["org.apache.kafka.tools.TopicCommand"] == "shared objects file (top)"
    shared = sum(s.startswith("shared objects file") for s in sources.values())
    assert shared > 0.9 * len(sources), f"only {shared} of {len(sources)} classes came from archives"


def test_kafka_sh_output_is_unchanged_by_the_archive(broker, archives):
    fresh_topic("speed.cds")
    result = kafka_sh(f"kafka-topics.sh --bootstrap-server {settings.BOOTSTRAP} --list")
    assert "speed.cds" in result.lines and not result.stderr.strip()
    assert all(not line.startswith("[") for line in result.lines), result.stdout


def test_throughput_tools_keep_the_server_jit(broker, archives):
    cmd = runtime.java_command("org.apache.kafka.tools.ProducerPerformance", ["--help"], quick=False)
    assert "-XX:TieredStopAtLevel=1" not in cmd and "-XX:+UseG1GC" in cmd
    assert f"-XX:SharedArchiveFile={archives['tools']}" in cmd


def test_the_running_broker_has_its_archive_mapped(broker, archives):
    pid = runtime.node("kafka").pid()
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    assert f"-XX:SharedArchiveFile={archives['broker']}" in args, "broker started without its CDS archive"
    assert "-XX:+UseG1GC" in args and "-XX:TieredStopAtLevel=1" not in args       # a server keeps C2 and G1
    assert str(archives["broker"]) in Path(f"/proc/{pid}/maps").read_text()


def test_a_java_program_maps_the_programs_archive(broker, archives):
    topic = "speed.program"
    fresh_topic(topic)
    source = ROOT / "benchmarks" / "java" / "ProduceOne.java"
    prog = jvm.JavaProgram(str(source), settings.BOOTSTRAP, topic, name="speed-produce-one",
                           jvm_options=["-Xlog:class+load"])
    assert f"-XX:SharedArchiveFile={archives['programs']}" in prog.command()
    prog.start(quiet=True)
    prog.wait_for_line(r"^offset 0$", timeout=120, quiet=True)
    prog.process.wait(60)
    assert prog.stop(quiet=True) == 0
    loads = [line for line in prog.lines() if "KafkaProducer source:" in line]
    assert loads and loads[0].endswith("shared objects file (top)"), loads


def test_another_classpath_ignores_the_archive_silently(broker, archives):
    """The JVM itself checks the archive's classpath: a classpath that does not start with it (jars in
    another order) runs from the jars, with no warning in the tool's output."""
    fresh_topic("speed.cds")
    jars = runtime.classpath().split(os.pathsep)
    cmd = runtime.java_command("org.apache.kafka.tools.TopicCommand", LIST)
    cmd[cmd.index("-cp") + 1] = os.pathsep.join(reversed(jars))
    assert f"-XX:SharedArchiveFile={archives['tools']}" in cmd
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "speed.cds" in done.stdout.split()
    assert "warning" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr
    sources = class_sources(cmd[:1] + ["-Xlog:class+load"] + cmd[1:])
    assert "top" not in sources["org.apache.kafka.tools.TopicCommand"]


def test_a_changed_jar_set_is_rebuilt_and_a_damaged_archive_never_used(broker, archives, tmp_path, monkeypatch):
    """A jar replaced (new mtime) gives a new key: no archive is used until ensure() builds it; a file that
    does not map (damaged) is never moved into place, and the tools run without it."""
    jars = runtime.classpath().split(os.pathsep)
    copy = tmp_path / Path(jars[0]).name
    shutil.copy(jars[0], copy)                                   # the same jar with another mtime
    changed = os.pathsep.join([str(copy), *jars[1:]])
    monkeypatch.setattr(runtime, "classpath", lambda: changed)
    monkeypatch.setattr(cds, "CDS_DIR", tmp_path / "cds")
    java = runtime.check_java()
    assert cds.options("tools", java, changed) == []             # stale: not used, nothing fails
    assert kafka_sh(f"kafka-topics.sh --bootstrap-server {settings.BOOTSTRAP} --list").ok
    damaged = tmp_path / "damaged.jsa"
    damaged.write_bytes(archives["tools"].read_bytes()[:100_000])
    assert cds._valid(java, archives["tools"], os.pathsep.join(jars))
    reports = set(Path.cwd().glob("hs_err_pid*.log"))
    assert not cds._valid(java, damaged, os.pathsep.join(jars))      # it would crash a JVM (SIGBUS) that maps it
    assert set(Path.cwd().glob("hs_err_pid*.log")) == reports        # the check's crash leaves no report behind
    built = cds.ensure(quiet=True, roles=("tools",))
    assert built.get("tools") == cds.archive_path("tools", java, changed) and built["tools"].exists()
    cmd = runtime.java_command("org.apache.kafka.tools.TopicCommand", LIST, extra=["-Xlog:class+load"])
    assert class_sources(cmd)["org.apache.kafka.tools.TopicCommand"] == "shared objects file (top)"


def test_cds_off_runs_without_archives(broker, archives, monkeypatch):
    monkeypatch.setenv("KAFKABOOK_CDS", "off")
    cmd = runtime.java_command("org.apache.kafka.tools.TopicCommand", LIST)
    assert not any(arg.startswith("-XX:SharedArchiveFile") for arg in cmd)
