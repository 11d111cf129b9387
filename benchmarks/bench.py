"""Benchmarks of the foundation: prints figures, asserts nothing (our machines are noisy; compare within one run).

    ./run bench            # or: .venv/bin/python benchmarks/bench.py [--rounds 20]

- cold start to ready: single node and three-node cluster (JVM start -> metadata lists every broker), from
  already-formatted storage and from empty storage (format included)
- one CLI tool invocation (kafka-topics.sh --list): JVM start dominates
- kafka-python produce -> consume round trip on localhost
- client throughput: Java perf tools, kafka-python, confluent-kafka (benchmarks/clients.py; --only clients)
The single broker is left running as it was found; the cluster is stopped again unless it was running.
"""
import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from kafkabook import cds, jvm, kafka_sh, runtime, settings
from kafkabook.topics import fresh_topic


def timed(fn):
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def cold_start(group, fresh):
    runtime.stop(group)
    if fresh:
        for s in group:
            runtime.node(s).reset()
    return timed(lambda: runtime.start(group))


def round_trips(rounds):
    topic = "bench.roundtrip"
    fresh_topic(topic)
    tp = TopicPartition(topic, 0)
    times = []
    with KafkaProducer(bootstrap_servers=settings.BOOTSTRAP, linger_ms=0) as producer, \
            KafkaConsumer(bootstrap_servers=settings.BOOTSTRAP, enable_auto_commit=False, fetch_max_wait_ms=10) as consumer:
        consumer.assign([tp])
        consumer.seek_to_end(tp)
        consumer.position(tp)
        for i in range(rounds + 5):
            began = time.perf_counter()
            producer.send(topic, value=str(i).encode()).get(timeout=30)
            got = []
            while not got:
                got = consumer.poll(timeout_ms=1000).get(tp, [])
            if i >= 5:  # the first rounds warm up connections
                times.append(time.perf_counter() - began)
    return times


def med(values):
    return statistics.median(values)


def row(label, secs, base=None, n=None):
    ratio = f"  {secs / base:5.2f}x" if base else ""
    reps = f"  (n={n})" if n else ""
    print(f"{label:58} {secs:7.2f} s{ratio}{reps}")


@contextlib.contextmanager
def cds_env(on):
    before = os.environ.get("KAFKABOOK_CDS")
    os.environ["KAFKABOOK_CDS"] = "on" if on else "off"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("KAFKABOOK_CDS")
        else:
            os.environ["KAFKABOOK_CDS"] = before


CLI_VARIANTS = {     # label: java_command keywords
    "plain (JDK CDS only, G1: before)": dict(quick=False, use_cds=False),
    "-Xshare:off (no class sharing at all)": dict(quick=False, use_cds=False, extra=["-Xshare:off"]),
    "CDS archive (kafkabook.cds)": dict(quick=False, use_cds=True),
    "C1 + serial GC, no archive": dict(quick=True, use_cds=False),
    "CDS archive + C1 + serial GC (now)": dict(quick=True, use_cds=True),
}


def cli_variants(reps):
    """kafka-topics.sh --list, each variant `reps` times, interleaved; the JVM's own wall time."""
    args = ["--bootstrap-server", settings.BOOTSTRAP, "--list"]
    times = {k: [] for k in CLI_VARIANTS}
    cpu = {k: [] for k in CLI_VARIANTS}
    for _ in range(reps):
        for label, kw in CLI_VARIANTS.items():
            cmd = runtime.java_command("org.apache.kafka.tools.TopicCommand", args, **kw)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            times[label].append(timed(lambda: subprocess.run(cmd, capture_output=True, check=True)))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[label].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    base, cpu_base = med(times["plain (JDK CDS only, G1: before)"]), med(cpu["plain (JDK CDS only, G1: before)"])
    print(f"one CLI invocation (kafka-topics.sh --list), median of {reps}: wall time, ratio to plain; CPU time, ratio")
    for label, t in times.items():
        c = med(cpu[label])
        print(f"  {label:56} {med(t):7.2f} s  {med(t) / base:5.2f}x   cpu {c:5.2f} s  {c / cpu_base:5.2f}x")
    java = runtime.check_java()
    version = [timed(lambda: subprocess.run([java, "-version"], capture_output=True)) for _ in range(3)]
    row("  java -version, run before every tool before (now once)", med(version))
    for label in ("plain (JDK CDS only, G1: before)", "CDS archive + C1 + serial GC (now)"):
        kw = dict(CLI_VARIANTS[label])
        cmd = runtime.java_command("org.apache.kafka.tools.TopicCommand", args, extra=["-Xlog:class+load"], **kw)
        out = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()
        loads = [line for line in out if "class,load" in line]
        shared = sum("shared objects file" in line for line in loads)
        print(f"  classes loaded, {label}: {len(loads)}, {shared} of them mapped from CDS archives")


def cpu_seconds(pid):
    """user + system CPU time a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_starts(reps):
    """Single-node cold start to ready (existing data), CDS off and on alternately; wall and the JVM's CPU time."""
    times, cpu = {False: [], True: []}, {False: [], True: []}
    for _ in range(reps):
        for on in (False, True):
            runtime.stop(settings.SINGLE)
            with cds_env(on):
                times[on].append(timed(lambda: runtime.start(settings.SINGLE)))
            cpu[on].append(cpu_seconds(runtime.node("kafka").pid()))
    print(f"single-node broker cold start to ready (existing data), median of {reps}: wall; broker CPU until ready")
    for label, on in (("without CDS archive (before)", False), ("with the broker's CDS archive", True)):
        print(f"  {label:56} {med(times[on]):7.2f} s  {med(times[on]) / med(times[False]):5.2f}x   "
              f"cpu {med(cpu[on]):5.2f} s  {med(cpu[on]) / med(cpu[False]):5.2f}x")


def program_starts(reps):
    """A JavaProgram (benchmarks/java/ProduceOne.java, compile cached) from start to exit, CDS off and on."""
    topic = "bench.program"
    fresh_topic(topic)
    source = Path(__file__).parent / "java" / "ProduceOne.java"
    times, cpu = {False: [], True: []}, {False: [], True: []}
    jvm.javac(source)
    for _ in range(reps):
        for on in (False, True):
            with cds_env(on):
                prog = jvm.JavaProgram(str(source), settings.BOOTSTRAP, topic, name="bench-produce-one")
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                began = time.perf_counter()
                prog.start(quiet=True)
                prog.process.wait(120)
                times[on].append(time.perf_counter() - began)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[on].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                prog.stop(quiet=True)
    print(f"JavaProgram start to exit (ProduceOne.java: one record, compile cached), median of {reps}:")
    for label, on in (("without CDS archive (before)", False), ("with the programs CDS archive", True)):
        print(f"  {label:56} {med(times[on]):7.2f} s  {med(times[on]) / med(times[False]):5.2f}x   "
              f"cpu {med(cpu[on]):5.2f} s  {med(cpu[on]) / med(cpu[False]):5.2f}x")


def jvm_section(reps):
    archives = cds.ensure(quiet=True)
    print(f"CDS archives: {', '.join(f'{r} {p.stat().st_size / 1e6:.0f} MB' for r, p in archives.items()) or 'none'}")
    runtime.start(settings.SINGLE)
    cli_variants(reps)
    program_starts(reps)
    broker_starts(max(2, reps // 2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--cli", type=int, default=5)
    ap.add_argument("--fresh", action="store_true", help="also time starts from empty storage (deletes the book's data)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of each JVM start variant")
    ap.add_argument("--only", choices=["jvm", "clients"],
                    help="jvm: only the JVM start figures (CLI, program, broker); clients: only benchmarks/clients.py")
    args, rest = ap.parse_known_args()
    if args.only == "clients":
        import clients
        return clients.main(rest)
    single_was_up = all(runtime.status(settings.SINGLE).values())
    cluster_was_up = all(runtime.status(settings.CLUSTER).values())
    print(f"runtime: {runtime.kind()}, Kafka {settings.KAFKA_VERSION}, load average {os.getloadavg()[0]:.1f}")
    if runtime.kind() == "local":
        jvm_section(args.reps)
    if args.only == "jvm":
        if not single_was_up:
            runtime.stop(settings.SINGLE)
        return
    rows = [("single node: cold start to ready (existing data)", cold_start(settings.SINGLE, False))]
    rows.append(("cluster (3 nodes): cold start to ready (existing data)", cold_start(settings.CLUSTER, False)))
    if args.fresh:
        rows.append(("single node: cold start to ready (format + start)", cold_start(settings.SINGLE, True)))
        rows.append(("cluster: cold start to ready (format + start)", cold_start(settings.CLUSTER, True)))
    if not cluster_was_up:
        runtime.stop(settings.CLUSTER)
    for label, secs in rows:
        print(f"{label:58} {secs:7.2f} s")
    cli = [timed(lambda: kafka_sh(f"kafka-topics.sh --bootstrap-server {settings.BOOTSTRAP} --list"))
           for _ in range(args.cli)]
    print(f"{'one CLI invocation (kafka-topics.sh --list), median of ' + str(args.cli):58} {statistics.median(cli):7.2f} s")
    rt = sorted(round_trips(args.rounds))
    print(f"{'kafka-python produce->consume round trip, median':58} {statistics.median(rt) * 1000:7.2f} ms")
    print(f"{'kafka-python produce->consume round trip, p95':58} {rt[int(len(rt) * 0.95)] * 1000:7.2f} ms")
    print(f"{'CLI invocation / round trip (ratio)':58} {statistics.median(cli) / statistics.median(rt):7.0f} x")
    print()
    import clients                      # client throughput side by side (benchmarks/clients.py)
    clients.main(rest)
    if not single_was_up:
        runtime.stop(settings.SINGLE)


if __name__ == "__main__":
    main()
