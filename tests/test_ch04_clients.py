"""4.2.4 (클라이언트별 처리량): the live comparison of the Java perf tools, kafka-python and confluent-kafka.
The notebook runs twice in a row against the real broker; the tests read record counts and batches back from
the broker themselves. No timed assertion: rates depend on the machine."""
from conftest import notebook_fixture
from kafkabook import client_rates as cr
from kafkabook import storage
from kafkabook.topics import end_offsets

nb_clients = notebook_fixture("ch04/02_4_client_throughput.ipynb")

WARM_UP = {"java": 0, "kafka-python": 1, "confluent-kafka": 1}     # the Python producers' one warm-up record


def _judge(tb, code=None):
    if code:
        tb.inject(code, pop=True)
    tb.execute_cell(len(tb.cells) - 1)
    return tb.value("verdict")


def test_every_client_wrote_and_read_back_exactly_its_records(nb_clients):
    tb = nb_clients
    wanted = tb.value("N")
    rows = {r["client"]: r for r in tb.value("rows")}
    assert set(rows) == set(cr.CLIENTS)
    for client, n in wanted.items():
        on_broker = sum(end_offsets(cr.topic_of(client)).values())
        assert on_broker == n + WARM_UP[client], client
        assert rows[client]["sent"] == rows[client]["on_broker"] == rows[client]["read"] == n, rows[client]
        assert rows[client]["produce_rps"] > 0 and rows[client]["consume_rps"] > 0


def test_the_batches_on_disk_hold_every_record_and_librdkafka_batches_more(nb_clients):
    per_batch = {}
    for client in cr.CLIENTS:
        counts = [b["count"] for b in storage.batches(storage.dump_log(cr.topic_of(client), 0, data=False))]
        assert sum(counts) == sum(end_offsets(cr.topic_of(client)).values())
        per_batch[client] = max(counts)
    # 16384-byte batches hold ~150 records of 100 bytes; librdkafka's default batch.size is 1 MB
    assert per_batch["java"] < 200 and per_batch["kafka-python"] < 200
    assert per_batch["confluent-kafka"] > 1000


def test_exercise_checker_reads_the_batches_from_the_broker(nb_clients):
    tb = nb_clients
    assert tb.value("verdict") == "답 없음"
    small = """
p = KafkaProducer(acks="all")
for _ in range(20_000):
    p.send(EX_TOPIC, b"x" * 100)
p.close()
"""
    assert _judge(tb, small) == "오답"            # default batches: ~150 records each
    tb.inject('fresh_topic(EX_TOPIC)', pop=True)
    big = """
p = KafkaProducer(acks="all", batch_size=256 * 1024, linger_ms=50)
for _ in range(20_000):
    p.send(EX_TOPIC, b"x" * 100)
p.close()
"""
    assert _judge(tb, big) == "정답"
    assert end_offsets("clients-exercise")[0] == 20_000
