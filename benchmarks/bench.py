"""Benchmarks of the foundation: prints figures, asserts nothing (our machines are noisy; compare within one run).

    ./run bench            # or: .venv/bin/python benchmarks/bench.py [--rounds 20]

- cold start to ready: single node and three-node cluster (JVM start -> metadata lists every broker), from
  already-formatted storage and from empty storage (format included)
- one CLI tool invocation (kafka-topics.sh --list): JVM start dominates
- kafka-python produce -> consume round trip on localhost
The single broker is left running as it was found; the cluster is stopped again unless it was running.
"""
import argparse
import statistics
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from kafkabook import kafka_sh, runtime, settings
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--cli", type=int, default=5)
    ap.add_argument("--fresh", action="store_true", help="also time starts from empty storage (deletes the book's data)")
    args = ap.parse_args()
    single_was_up = all(runtime.status(settings.SINGLE).values())
    cluster_was_up = all(runtime.status(settings.CLUSTER).values())
    print(f"runtime: {runtime.kind()}, Kafka {settings.KAFKA_VERSION}")
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
    if not single_was_up:
        runtime.stop(settings.SINGLE)


if __name__ == "__main__":
    main()
