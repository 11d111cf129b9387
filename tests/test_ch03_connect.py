"""Chapter 3.6 (카프카 커넥트): both notebooks executed twice in a row against a real Connect worker
(connect-runtime 4.3.1), then the topics, the worker's internal topics, the files on disk and the
consumer groups read back by the tests themselves.

3.6.1: FileStreamSource through the REST API, the internal topics, a source offset surviving kill -9
(no line missing, exactly the predicted lines repeated), the book's source connector packed into
plugin.path and listed by the worker, javac's message for a broken source.
3.6.2: FileStreamSink and the book's sink connector (file lines == topic values), file → topic → file
line by line, converter bytes, the worker's REST errors for bad configs, standalone mode.
"""
import json
import zipfile
from collections import Counter

from conftest import notebook_fixture
from kafkabook import connect, consumers, jvm
from kafkabook.connection import producer
from kafkabook.topics import end_offsets, read_all

nb_source = notebook_fixture("ch03/06_1_source_connector.ipynb")
nb_sink = notebook_fixture("ch03/06_2_sink_connector.ipynb")

F = connect.FILES


def _values(topic):
    return [r.value.decode() for r in read_all(topic)]


def _outputs_text(tb, snippet):
    """All text a code cell (found by a snippet of its source) showed, errors included."""
    [cell] = [c for c in tb.nb.cells if c.cell_type == "code" and snippet in c.source]
    parts = []
    for o in cell.get("outputs", []):
        parts.append(o.get("text", ""))
        parts.append(str(o.get("data", {}).get("text/plain", "")))
        if o.output_type == "error":
            parts.extend([o.ename, o.evalue, *o.traceback])
    return "\n".join(parts)


# ======================================================================
# 3.6.1 소스 커넥터
# ======================================================================

def test_file_source_sent_every_line_of_both_files_once(nb_source):
    expected = connect.lines(F / "source.txt") + connect.lines(F / "source-2.txt")
    assert expected == [f"line-{i:03d}" for i in range(1, 11)] + ["second-001", "second-002"]
    assert _values("connect.file.lines") == expected          # pause, restart and PUT config lost or doubled none


def test_the_pause_held_records_back_while_the_file_grew(nb_source):
    text = _outputs_text(nb_source, "3초 동안 본 토픽의 레코드 수")
    assert "파일의 줄 수: 8" in text
    seen = json.loads(text.split("레코드 수:")[1].strip().splitlines()[0])
    assert len(seen) >= 5 and set(seen) == {5}


def test_kill9_lost_no_line_and_repeated_exactly_the_predicted_ones(nb_source):
    result = nb_source.ref("kill_result")
    file_lines = connect.lines(F / "kill.txt")
    assert file_lines == [f"kill-{i:04d}" for i in range(1, 301)]
    values = _values("connect.kill.lines")
    counts = Counter(values)
    assert all(counts[line] >= 1 for line in file_lines)        # nothing missing
    assert set(counts) == set(file_lines)                      # nothing foreign
    repeated = sum(n - 1 for n in counts.values())
    assert repeated == result["repeated"] == result["predicted"]
    # the repeated lines are exactly those after the offset committed before the kill, sent again in order
    assert values[:300] == file_lines
    assert values[300:] == file_lines[300 - repeated:]
    assert result["missing"] == 0 and result["file_lines"] == 300 and result["records"] == len(values)


def test_the_internal_topics_hold_configs_offsets_and_status(nb_source):
    configs = connect.internal_records("connect-configs")
    keys = [k for _, k, _ in configs]
    assert "connector-kill-source" in keys and "connector-book-source" in keys
    last = {}
    for _, k, v in configs:
        last[k] = v
    assert last["connector-file-source"] is None                # DELETE left a tombstone
    assert last["connector-kill-source"]["properties"]["file"] == str(F / "kill.txt")
    # the final stop committed the whole file; the deleted connector's offsets are still there
    assert connect.committed_source_offset("kill-source") == {"position": (F / "kill.txt").stat().st_size}
    assert connect.committed_source_offset("file-source", filename=str(F / "source.txt")) == {"position": 90}
    assert connect.committed_source_offset("book-source") == {"line": 50}
    states = [v["state"] for _, k, v in connect.internal_records("connect-status")
              if k == "status-connector-kill-source" and v]
    assert "RUNNING" in states and states[-1] == "UNASSIGNED"  # the worker's stop gave it up


def test_the_book_connectors_are_packed_listed_and_ran(nb_source):
    jar = connect.PLUGIN_PATH / "book-file-connectors" / "book-file-connectors.jar"
    with zipfile.ZipFile(jar) as z:
        sources = z.read("META-INF/services/org.apache.kafka.connect.source.SourceConnector").decode().split()
        sinks = z.read("META-INF/services/org.apache.kafka.connect.sink.SinkConnector").decode().split()
        assert "book/connect/SingleFileSourceConnector$SingleFileSourceTask.class" in z.namelist()
    assert sources == ["book.connect.SingleFileSourceConnector"]
    assert sinks == ["book.connect.SingleFileSinkConnector"]
    assert nb_source.ref("listed_before") == []                 # plugins are scanned at worker start only
    assert nb_source.ref("listed_after") == ["book.connect.SingleFileSinkConnector",
                                             "book.connect.SingleFileSourceConnector"]
    assert _values("connect.book.lines") == connect.lines(F / "book-source.txt") == \
        [f"book-{i:03d}" for i in range(1, 51)]


def test_a_broken_source_shows_javacs_message_and_leaves_nothing(nb_source):
    text = _outputs_text(nb_source, 'connect.build_plugin([broken]')
    assert "JavaCompileError" in text and "자바 컴파일 실패" in text
    assert "error: incompatible types" in text
    assert not (connect.PLUGIN_PATH / "broken-connector").exists()


def test_pause_exercise_checker_judges_from_the_broker(nb_source):
    tb = nb_source
    check = 'connect.check_pause_exercise("book-source", BOOK_TOPIC, BOOK_FILE)'
    assert tb.ref(check).startswith("아직")
    tb.inject("""
        worker = connect.Worker(props).start()
        connect.wait_for_state("book-source")
        connect.rest("PUT", "/connectors/book-source/stop")
        connect.wait_for_state("book-source", "STOPPED", tasks=0)
    """)
    try:
        assert tb.ref(check).startswith("틀렸다")             # stop is not pause
        tb.inject("""
            connect.rest("PUT", "/connectors/book-source/resume")
            connect.wait_for_state("book-source")
            connect.rest("PUT", "/connectors/book-source/pause")
            connect.wait_for_state("book-source", "PAUSED")
        """)
        assert tb.ref(check).startswith("절반만")             # paused, but the file did not grow
        tb.inject('connect.append_lines(BOOK_FILE, ["book-051", "book-052"])')
        assert tb.ref(check).startswith("맞다")
        assert connect.target_state("book-source") == "PAUSED"
        assert sum(end_offsets("connect.book.lines").values()) == 50
    finally:
        tb.inject("worker.stop()")
    assert jvm.running() == []


# ======================================================================
# 3.6.2 싱크 커넥터
# ======================================================================

def test_sink_files_hold_exactly_the_topics_values(nb_sink):
    in_topic = _values("connect.sink.in")
    assert sorted(in_topic) == [f"msg-{i:03d}" for i in range(1, 101)]
    for name in ("file-sink.txt", "book-sink.txt", "standalone.txt"):
        assert sorted(connect.lines(F / name)) == sorted(in_topic), name


def test_file_to_topic_to_file_is_equal_line_by_line(nb_sink):
    pipe_in = connect.lines(F / "pipe-in.txt")
    assert len(pipe_in) == 500 and pipe_in[0] == "pipe-0001 한글도 그대로"
    assert connect.lines(F / "pipe-out.txt") == pipe_in
    assert _values("connect.pipe") == pipe_in
    bench_in = connect.lines(F / "bench-in.txt")
    assert len(bench_in) == 20_000 and connect.lines(F / "bench-out.txt") == bench_in
    assert nb_sink.ref("bench_s") > 0


def test_sink_progress_is_a_consumer_group_commit(nb_sink):
    ends = end_offsets("connect.sink.in")
    for group in ("connect-file-sink", "connect-book-sink", "connect-standalone-sink"):
        assert consumers.committed(group, "connect.sink.in") == ends, group
    assert connect.source_offsets("file-sink") == {}


def test_converters_store_the_bytes_shown(nb_sink):
    raw = {name: [r.value for r in read_all(f"connect.conv.{name}")]
           for name in ("string", "json", "json-schema")}
    assert raw["string"] == [b"hello", "안녕".encode()]
    assert raw["json"] == [b'"hello"', '"안녕"'.encode()]
    assert [json.loads(v) for v in raw["json-schema"]] == [
        {"schema": {"type": "string", "optional": False}, "payload": p} for p in ("hello", "안녕")]
    assert raw["json-schema"][0] == b'{"schema":{"type":"string","optional":false},"payload":"hello"}'


def test_bad_configs_get_the_workers_real_errors_and_leave_nothing(nb_sink):
    missing = _outputs_text(nb_sink, '{"name": "no-file-sink", "config"')
    assert "ConnectRestError" in missing and "HTTP 400" in missing
    assert 'Missing required configuration "file" which has no default value' in missing
    typo = _outputs_text(nb_sink, '"typo-sink"')
    assert "ConnectRestError" in typo and "SingleFileSinkConector" in typo
    assert "Failed to find any class that implements Connector" in typo
    failed = _outputs_text(nb_sink, 'wait_for_task_failure("json-sink")')
    assert "FAILED" in failed and 'schemas.enable requires "schema" and "payload"' in failed
    keys = {k for _, k, _ in connect.internal_records("connect-configs")}
    assert not {"connector-no-file-sink", "connector-typo-sink"} & keys
    assert "오류 수: 1" in _outputs_text(nb_sink, "config/validate")
    health = _outputs_text(nb_sink, 'connect.rest("GET", "/health")')
    assert "healthy" in health


def test_envelope_exercise_checker_reads_the_topic(nb_sink):
    tb = nb_sink
    check = 'connect.check_envelope_exercise(EX_TOPIC, "안녕 커넥트")'
    assert tb.ref(check).startswith("아직")
    with producer() as p:
        p.send("connect.exercise", value='"안녕 커넥트"'.encode())   # schemaless JSON: no envelope
    assert tb.ref(check).startswith("틀렸다")
    envelope = {"schema": {"type": "string", "optional": False}, "payload": "안녕 커넥트"}
    with producer() as p:
        p.send("connect.exercise", value=json.dumps(envelope, ensure_ascii=False).encode())
    assert tb.ref(check).startswith("맞다")


def test_no_connect_jvm_left(nb_source, nb_sink):
    assert nb_sink.ref("jvm.running()") == []
    assert jvm.running() == []
