"""Client throughput on one broker, same 100-byte records: Java perf tools, kafka-python, confluent-kafka.

    ./run bench clients     # or: ./run bench --only clients, .venv/bin/python benchmarks/clients.py [--reps 3]

Each repetition runs every client once, interleaved (so a busy moment of the machine hits all of them):
produce N records into a fresh 1-partition topic with acks=all, read them back from the beginning
(kafkabook/client_rates.py says exactly what is timed). Prints every repetition, then medians with
MB/s and the ratio to Java. Asserts nothing; compare within one run. Uses the single broker
(started if it is not running, and stopped again then).
"""
import argparse
import os
import statistics

from kafkabook import client_rates, runtime, settings
from kafkabook.topics import delete_topics


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--java", type=int, default=500_000, help="records for the Java tools")
    ap.add_argument("--confluent", type=int, default=500_000, help="records for confluent-kafka")
    ap.add_argument("--kafka-python", type=int, default=100_000, help="records for kafka-python")
    args = ap.parse_args(argv)
    counts = {"java": args.java, "kafka-python": args.kafka_python, "confluent-kafka": args.confluent}
    was_up = all(runtime.status(settings.SINGLE).values())
    runtime.start(settings.SINGLE)
    import confluent_kafka
    import kafka
    print(f"clients on one broker (Kafka {settings.KAFKA_VERSION}), 100-byte values, acks=all, 1 partition; "
          f"kafka-python {kafka.__version__}, confluent-kafka {confluent_kafka.version()[0]} "
          f"(librdkafka {confluent_kafka.libversion()[0]}); load average {os.getloadavg()[0]:.1f}")
    runs = {c: [] for c in client_rates.CLIENTS}
    try:
        for rep in range(args.reps):
            for client in client_rates.CLIENTS:
                row = client_rates.measure(client, counts[client])
                runs[client].append(row)
                print(f"  rep {rep + 1} {client:16} produce {row['produce_rps']:11,.0f} rec/s   "
                      f"consume {row['consume_rps']:11,.0f} rec/s   (sent {row['sent']}, on broker "
                      f"{row['on_broker']}, read back {row['read']})", flush=True)
    finally:
        delete_topics([client_rates.topic_of(c) for c in client_rates.CLIENTS])
        if not was_up:
            runtime.stop(settings.SINGLE)
    medians = [{"client": c, "records": counts[c],
                "produce_rps": statistics.median(r["produce_rps"] for r in runs[c]),
                "consume_rps": statistics.median(r["consume_rps"] for r in runs[c])} for c in client_rates.CLIENTS]
    print(f"\nmedians of {args.reps} repetitions (x = ratio to Java); load average {os.getloadavg()[0]:.1f}")
    print(client_rates.table(medians))


if __name__ == "__main__":
    main()
