"""Chapter 3.5 (카프카 스트림즈), part 1: 3.5.1.1 stream copy and filter, 3.5.2 the Processor API.

Each notebook runs twice in a row (KAFKABOOK_RUNS); the tests then read the topics back from the broker
and compute the expected results themselves. The topology parser is checked on the describe() text of a
real Kafka Streams 4.3.1 topology with a repartition, a join, a windowed count and a global store.
"""
import time
import zlib

import pytest
from kafka.partitioner import murmur2

from conftest import notebook_fixture
from kafkabook import jvm, streams, topology
from kafkabook.connection import producer
from kafkabook.topics import delete_topics, fresh_topic, read_all, topic_exists

STATES_RUN_AND_STOP = ["CREATED", "REBALANCING", "RUNNING", "PENDING_SHUTDOWN", "NOT_RUNNING"]


def _partitions(topic):
    """{partition: [(key, value)]} read here, independently of kafkabook.streams."""
    out = {}
    for r in read_all(topic):
        out.setdefault(r.partition, []).append((r.key.decode(), r.value.decode()))
    return out


def _longer_than(parts, n):
    return {p: [(k, v) for k, v in recs if len(v) > n] for p, recs in parts.items()
            if any(len(v) > n for _, v in recs)}


# ======================================================================
# kafkabook.topology: the parser on real describe() output (no broker needed)
# ======================================================================

DESCRIBE_JAVA = """
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.*;

public class DescribeMany {
    public static void main(String[] args) {
        StreamsBuilder b = new StreamsBuilder();
        KStream<String, String> orders = b.stream("orders");
        KTable<String, String> addr = b.table("address");
        GlobalKTable<String, String> g = b.globalTable("address_v2");
        orders.selectKey((k, v) -> v).join(addr, (o, a) -> o + a).to("order_join");
        orders.join(g, (k, v) -> k, (o, a) -> o + a).to("order_join_g");
        orders.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofSeconds(5)))
              .count(Materialized.as("counts")).toStream()
              .to("counts_out", Produced.with(
                  WindowedSerdes.timeWindowedSerdeFrom(String.class, 5000), Serdes.Long()));
        System.out.println("=== topology ===");
        System.out.print(b.build().describe());
        System.out.println("=== end topology ===");
    }
}
"""


@pytest.fixture(scope="module")
def many_text(tmp_path_factory):
    """describe() of a topology with a repartition, a KTable join, a global store and a windowed count."""
    source = tmp_path_factory.mktemp("describe") / "DescribeMany.java"
    source.write_text(DESCRIBE_JAVA, encoding="utf-8")
    prog = jvm.JavaProgram(source, name="describe-many")
    prog.start(quiet=True)
    try:
        return streams.describe(prog, timeout=120)
    finally:
        prog.stop(quiet=True)


def test_parser_reads_subtopologies_nodes_edges_and_stores(many_text):
    topo = topology.parse(many_text)
    assert [(st.id, st.global_store) for st in topo.subtopologies] == [(0, False), (1, False), (2, True)]
    assert topo.source_topics() == ["KSTREAM-KEY-SELECT-0000000007-repartition", "address",
                                    "address_v2", "orders"]
    assert "order_join" in topo.sink_topics() and "counts_out" in topo.sink_topics()
    assert "counts" in topo.stores()
    nodes = {n.name: n for n in topo.nodes()}
    assert nodes["KSTREAM-SOURCE-0000000000"].kind == "Source"
    assert len(nodes["KSTREAM-SOURCE-0000000000"].successors) == 3
    # every --> edge has its <-- counterpart in the text
    for a, b in topo.edges():
        assert a in nodes[b].predecessors, (a, b)
    # a KTable's source processor ends the line: "--> none"
    table_source = [n for n in topo.nodes() if n.name.startswith("KTABLE-SOURCE")]
    assert table_source and all(n.successors == [] for n in table_source)
    assert len([n for n in topo.nodes() if n.kind == "Sink"]) == 4


def test_drawing_has_a_box_per_node_topic_and_store(many_text):
    import matplotlib
    matplotlib.use("Agg")
    topo = topology.parse(many_text)
    fig = topology.draw(topo, "여러 가지")
    labels = [t.get_text().replace("\n", "") for t in fig.axes[0].texts
              if t.get_text()]           # arrows are empty annotations; long names are wrapped
    for n in topo.nodes():
        assert any(label.endswith(n.name) for label in labels), n.name
    for t in topo.source_topics() + topo.sink_topics():
        assert "토픽" + t in labels, t
    for s in topo.stores():
        assert "저장소" + s in labels, s
    # a box per node, per (sub-topology, topic) and per store, plus one title per sub-topology
    boxes = len(topo.nodes()) + len(topo.stores()) + len(topo.subtopologies) + sum(
        len({t for n in st.nodes.values() if n.kind == k for t in n.topics})
        for st in topo.subtopologies for k in ("Source", "Sink"))
    assert len(labels) == boxes                # set_title() is not among ax.texts



def test_parser_refuses_text_that_is_not_a_topology():
    with pytest.raises(ValueError):
        topology.parse("hello\nworld")
    with pytest.raises(ValueError):
        topology.parse("")


# ======================================================================
# 3.5.1.1 스트림 복사와 필터
# ======================================================================

nb_filter = notebook_fixture("ch03/05_1_1_stream_filter.ipynb")


def test_copy_output_equals_the_input_partition_by_partition(nb_filter):
    source = _partitions("streams.log")
    assert sum(map(len, source.values())) == 12
    assert _partitions("streams.log.copy") == source


def test_filter_output_is_the_inputs_longer_than_5_characters_in_order(nb_filter):
    source = _partitions("streams.log")
    out = _partitions("streams.log.filter")
    assert out == _longer_than(source, 5)
    values = sorted(v for recs in out.values() for _, v in recs)
    assert values == sorted(v for v in nb_filter.ref("LOGS") if len(v) > 5)
    assert len(values) == 7


def test_filter_app_went_through_its_states_and_had_no_internal_topic(nb_filter):
    assert nb_filter.ref("filter_app.states()") == STATES_RUN_AND_STOP
    assert nb_filter.ref("copy_app.states()") == STATES_RUN_AND_STOP
    log = (jvm.PROGRAMS_DIR / "ch03-stream-filter.log").read_text()
    assert "state: REBALANCING -> RUNNING" in log
    assert 0 < nb_filter.ref("filter_app.running_after") < 90
    assert streams.internal_topics("ch03-stream-filter") == []


def test_filter_topology_text_is_source_filter_sink(nb_filter):
    topo = topology.parse(nb_filter.ref("filter_text"))
    assert [n.kind for n in topo.nodes()] == ["Source", "Processor", "Sink"]
    assert topo.source_topics() == ["streams.log"] and topo.sink_topics() == ["streams.log.filter"]
    assert "FILTER" in topo.nodes()[1].name


def test_missing_source_topic_ends_in_error_and_creates_nothing(nb_filter):
    assert nb_filter.ref("bad_app.states()")[-2:] == ["PENDING_ERROR", "ERROR"]
    errors = nb_filter.ref("bad_app.errors()")
    assert any("MissingSourceTopicException" in e and "streams.no.such.topic" in e for e in errors)
    assert not topic_exists("streams.no.such.topic")


def test_quix_output_equals_the_java_apps_output(nb_filter):
    java = _partitions("streams.log.filter")
    assert java and _partitions("streams.log.filter.quix") == java


def test_librdkafka_default_partitioner_is_crc32_and_differs_from_murmur2(nb_filter):
    records = read_all("streams.log.librdkafka")
    assert len(records) == 8
    for r in records:
        assert r.partition == zlib.crc32(r.key) % 3, r
    differ = [r.key for r in records if r.partition != (murmur2(r.key) & 0x7FFFFFFF) % 3]
    assert differ
    assert nb_filter.ref("differ") == len(differ)


def test_filter_exercise_checker_judges_the_output_topic(nb_filter):
    assert "아직" in nb_filter.ref(
        'streams.check_filtered(EX_IN, EX_OUT, lambda v: len(v) >= 10, "길이가 10 이상")')
    created = []

    def run(threshold):
        # a new output topic per try (no delete-and-recreate churn while the kernel holds clients)
        out = f"streams.exercise.long.t{threshold}.{time.time_ns()}"
        fresh_topic(out, partitions=2)
        created.append(out)
        app = streams.start("streams/StreamFilter.java", "test-exercise-filter",
                            "streams.exercise.in", out, threshold)
        try:
            want = sum(len(v) > threshold for v in nb_filter.ref("EX_VALUES"))
            streams.wait_for_records(out, want)
        finally:
            app.stop(quiet=True)
        verdict = nb_filter.ref(
            f'streams.check_filtered(EX_IN, "{out}", lambda v: len(v) >= 10, "길이가 10 이상")')
        return verdict, out

    try:
        verdict, _ = run(10)            # length > 10 drops the values of exactly 10
        assert "틀렸다" in verdict
        verdict, out = run(9)
        assert "맞다" in verdict
        values = [v for recs in _partitions(out).values() for _, v in recs]
        assert sorted(values) == sorted(v for v in nb_filter.ref("EX_VALUES") if len(v) >= 10)
    finally:
        delete_topics(created)
        streams.reset("test-exercise-filter")


def test_no_jvm_left_after_the_filter_notebook(nb_filter):
    assert nb_filter.ref("jvm.running()") == []
    assert jvm.running() == []


# ======================================================================
# 3.5.2 프로세서 API
# ======================================================================

nb_processor = notebook_fixture("ch03/05_2_processor_api.ipynb")


def _rows(topic):
    return [(r.partition, r.offset, r.key, r.value, r.timestamp) for r in read_all(topic)]


def test_processor_api_output_is_identical_to_the_dsl_output(nb_processor):
    dsl, papi = _rows("processor.log.dsl"), _rows("processor.log.papi")
    assert dsl and dsl == papi
    assert _partitions("processor.log.papi") == _longer_than(_partitions("processor.log"), 5)
    timestamps = {(r.key, r.value): r.timestamp for r in read_all("processor.log")}
    assert all(timestamps[(k, v)] == ts for _, _, k, v, ts in papi)


def test_processor_topology_uses_the_names_given_to_addSource_addProcessor_addSink(nb_processor):
    papi = topology.parse(nb_processor.ref("papi_text"))
    assert [(n.kind, n.name) for n in papi.nodes()] == [("Source", "Source"), ("Processor", "Process"),
                                                          ("Sink", "Sink")]
    assert papi.edges() == [("Source", "Process"), ("Process", "Sink")]
    dsl = topology.parse(nb_processor.ref("dsl_text"))
    assert [n.kind for n in dsl.nodes()] == [n.kind for n in papi.nodes()]


def test_processor_exercise_checker_runs_the_app_on_the_readers_input(nb_processor):
    assert "아직" in nb_processor.ref('streams.check_processor_exercise(EX_IN, EX_OUT, "ch03-papi-exercise")')
    created = []

    def put(values):
        # new input/output topics per try (no delete-and-recreate churn while the kernel holds clients)
        suffix = time.time_ns()
        src, out = f"processor.exercise.in.{suffix}", f"processor.exercise.out.{suffix}"
        fresh_topic(src, partitions=2)
        created.extend([src, out])
        with producer() as p:
            for i, v in enumerate(values):
                p.send(src, key=f"k{i}".encode(), value=v.encode())
        return nb_processor.ref(f'streams.check_processor_exercise("{src}", "{out}", "ch03-papi-exercise")'), out

    try:
        assert "틀렸다" in put(["abcdef", "abc"])[0]                                   # not 6 records
        assert "틀렸다" in put(["abcdef", "abcdefg", "abcdefgh", "a", "ab", "abcde"])[0]  # 3 pass
        verdict, out = put(["abcdef", "abcdefg", "abcde", "a", "ab", "abc"])
        assert "맞다" in verdict
        assert sorted(v for recs in _partitions(out).values() for _, v in recs) == ["abcdef", "abcdefg"]
    finally:
        delete_topics(created)
        streams.reset("ch03-papi-exercise")


def test_no_jvm_left_after_the_processor_notebook(nb_processor):
    assert nb_processor.ref("jvm.running()") == []
    assert jvm.running() == []
