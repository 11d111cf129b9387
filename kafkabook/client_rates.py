"""The same 100-byte records through three clients on one broker: rates side by side (4.2.4, benchmarks/clients.py).

- Java: kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh (kafkabook.cli.kafka_sh); their own figures,
  which leave out the JVM start (the consumer's "fetch" figures also leave out the group join),
- kafka-python: KafkaProducer / KafkaConsumer (pure Python),
- confluent-kafka: Producer / Consumer (a thin Python layer over librdkafka, written in C; quixstreams uses it).

Each client produces into a topic of its own (1 partition, made fresh) and then reads that topic back from the
beginning. Every client keeps its default settings except acks=all, which all three then share.
Rates: records/s over the client's own sending or reading time (client creation and connection excluded;
a producer's time ends when flush() returns, i.e. every record is acknowledged; a Python consumer's starts at its
first records); MB/s = records/s x 100 bytes / 10^6.
"""
import re
import time

from .cli import kafka_sh
from .groups import delete_group
from .settings import BOOTSTRAP
from .topics import end_offsets, fresh_topic

VALUE = b"x" * 100
CLIENTS = ("java", "kafka-python", "confluent-kafka")


def topic_of(client, prefix="clients"):
    return f"{prefix}.{client}"


class _ReadClock:
    """A consumer's reading rate: the clock starts when the first records arrive (connecting, the
    offset lookup and the first fetch's round trip are left out, as the Java tool's fetch time
    leaves out its group join); the rate counts the records after that first batch."""

    def __init__(self):
        self.read, self.first, self.began = 0, 0, None

    def got(self, count):
        if count and self.began is None:
            self.began, self.first = time.perf_counter(), count
        self.read += count
        self.ended = time.perf_counter()

    def rate(self):
        if self.began is None or self.ended <= self.began:
            return 0.0
        return (self.read - self.first) / (self.ended - self.began)


def java_produce(topic, n, bootstrap=BOOTSTRAP):
    """kafka-producer-perf-test.sh: (records/s, records sent) as the tool reports them."""
    out = kafka_sh(f"kafka-producer-perf-test.sh --topic {topic} --num-records {n} --record-size 100 "
                   f"--throughput -1 --command-property bootstrap.servers={bootstrap} acks=all").stdout
    last = [line for line in out.splitlines() if "records sent" in line][-1]
    sent, rate = re.match(r"(\d+) records sent, ([\d.]+) records/sec", last).groups()
    return float(rate), int(sent)


def java_consume(topic, n, bootstrap=BOOTSTRAP, group="clients-java"):
    """kafka-consumer-perf-test.sh: (records/s over its fetch time, records read); deletes its group after."""
    try:
        out = kafka_sh(f"kafka-consumer-perf-test.sh --bootstrap-server {bootstrap} --topic {topic} "
                       f"--num-records {n} --group {group} --timeout 30000 --hide-header").stdout
    finally:
        delete_group(group, bootstrap)
    fields = [f.strip() for f in out.strip().splitlines()[-1].split(",")]
    read, fetch_ms = int(fields[4]), int(fields[7])
    return read / (fetch_ms / 1000), read


def kafka_python_produce(topic, n, bootstrap=BOOTSTRAP):
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(topic, b"warm-up").get(timeout=30)     # metadata and connection, not timed
        began = time.perf_counter()
        for _ in range(n):
            producer.send(topic, VALUE)
        producer.flush()
        return n / (time.perf_counter() - began), n
    finally:
        producer.close()


def kafka_python_consume(topic, n, bootstrap=BOOTSTRAP):
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        consumer.position(tp)
        clock, deadline = _ReadClock(), time.monotonic() + 120
        while clock.read < n and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                clock.got(len(records))
        return clock.rate(), clock.read
    finally:
        consumer.close()


def confluent_produce(topic, n, bootstrap=BOOTSTRAP):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.produce(topic, b"warm-up")
    producer.flush(30)
    began = time.perf_counter()
    for _ in range(n):
        while True:
            try:
                producer.produce(topic, VALUE)
                break
            except BufferError:          # its local queue is full: serve delivery reports, then retry
                producer.poll(0.01)
        producer.poll(0)
    left = producer.flush(60)
    if left:
        raise RuntimeError(f"confluent-kafka: {left} records not delivered")
    return n / (time.perf_counter() - began), n


def confluent_consume(topic, n, bootstrap=BOOTSTRAP):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "clients-confluent",
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        clock, deadline = _ReadClock(), time.monotonic() + 120
        while clock.read < n and time.monotonic() < deadline:
            clock.got(sum(m.error() is None for m in consumer.consume(num_messages=10000, timeout=1)))
        return clock.rate(), clock.read
    finally:
        consumer.close()


PRODUCE = {"java": java_produce, "kafka-python": kafka_python_produce, "confluent-kafka": confluent_produce}
CONSUME = {"java": java_consume, "kafka-python": kafka_python_consume, "confluent-kafka": confluent_consume}


def measure(client, n, bootstrap=BOOTSTRAP, prefix="clients"):
    """Produce `n` records with `client` into a fresh topic and read them back; returns a row dict with
    rates, the counts each side saw and the count the broker holds (the topic's end offset)."""
    topic = topic_of(client, prefix)
    fresh_topic(topic, bootstrap=bootstrap)
    p_rate, sent = PRODUCE[client](topic, n, bootstrap)
    on_broker = sum(end_offsets(topic, bootstrap).values())
    warm = 0 if client == "java" else 1                        # the Python producers sent one warm-up record
    c_rate, read = CONSUME[client](topic, on_broker, bootstrap)
    return {"client": client, "records": n, "sent": sent, "on_broker": on_broker - warm, "read": read - warm,
            "produce_rps": p_rate, "consume_rps": c_rate}


def mb(rps):
    return rps * len(VALUE) / 1e6


def table(rows):
    """Rows (one per client) as a printable table with MB/s and the ratio to the first row."""
    base = rows[0]
    lines = [f"{'client':16} {'records':>8}  {'produce rec/s':>13} {'MB/s':>6} {'x':>5}   "
             f"{'consume rec/s':>13} {'MB/s':>6} {'x':>5}"]
    for r in rows:
        lines.append(f"{r['client']:16} {r['records']:8d}  {r['produce_rps']:13,.0f} {mb(r['produce_rps']):6.1f} "
                     f"{r['produce_rps'] / base['produce_rps']:5.2f}   {r['consume_rps']:13,.0f} "
                     f"{mb(r['consume_rps']):6.1f} {r['consume_rps'] / base['consume_rps']:5.2f}")
    return "\n".join(lines)
