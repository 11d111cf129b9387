"""3.7 미러메이커2: the notebook runs a real MirrorMaker 2 (connect-mirror 4.3.1) from the single broker (source)
to the three-node cluster (target), executed twice in a row; then the tests read both clusters back themselves:
the remote topic against the source topic partition by partition, the checkpoints against the records, the
records written after the source broker's SIGKILL and restart, and no JVM left behind."""
import json

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from conftest import NOTEBOOKS, notebook_fixture
from kafkabook import jvm, mirror, settings
from kafkabook.connection import admin_client
from kafkabook.topics import describe, read_all

NAME = "07_mirrormaker2.ipynb"
TOPIC, REMOTE = "ch03-mirror-orders", "source.ch03-mirror-orders"
GROUP, EX_GROUP = "ch03-mirror-app", "ch03-mirror-ex"

nb_mirror = notebook_fixture(f"ch03/{NAME}", "cluster")


def _cells():
    return json.loads((NOTEBOOKS / "ch03" / NAME).read_text(encoding="utf-8"))["cells"]


def _src(cell):
    return "".join(cell["source"])


def _int_keys(d):
    """testbook hands dicts back through JSON: partition keys arrive as strings."""
    return {int(k): v for k, v in d.items()}


def _mirrored_source(starts):
    """The source topic's records from where MM2 began (the log start offsets before the outage)."""
    return mirror.by_partition(r for r in read_all(TOPIC) if r.offset >= starts[r.partition])


# ---------------------------------------------------------------- the notebook as committed

def test_notebook_shape_only_the_bad_config_cell_raises():
    cells = _cells()
    code = [c for c in cells if c["cell_type"] == "code"]
    assert _src(cells[0]).startswith("# 3.7 미러메이커2") and "학습 목표" in _src(cells[0])
    assert "check_broker(" in _src(code[0])
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    raising = [_src(c) for c in code if "raises-exception" in c.get("metadata", {}).get("tags", [])]
    assert len(raising) == 1 and "kafka-1:19092" in raising[0]
    joined = "\n".join(_src(c) for c in code)
    assert "sleep(" not in joined
    assert "main_class(mirror.MAIN" in joined and "mm2.stop()" in joined
    assert any("카프카 4.3에서 달라진 점" in _src(c) for c in cells if c["cell_type"] == "markdown")


# ---------------------------------------------------------------- replication, per partition

def test_target_topic_holds_the_source_records_per_partition_in_order(nb_mirror, cluster):
    tb = nb_mirror
    starts = _int_keys(tb.ref("source_starts"))
    assert starts[0] == 30 and starts[1] == 10 and starts[2] == 0    # the prefix deleted before MM2 began
    source = _mirrored_source(starts)
    target = mirror.by_partition(read_all(REMOTE, cluster))
    assert sorted(target) == [0, 1, 2]
    for p in range(3):
        assert target[p] == source[p], f"partition {p} differs"
    # same partition count, the target cluster's own replication factor
    parts = describe(REMOTE, cluster)
    assert len(parts) == 3 and all(len(p["replicas"]) == 3 for p in parts)
    # the offsets are not the source's: partition 0 starts at 0 on the target, at 30 on the source
    first = next(r for r in read_all(REMOTE, cluster) if r.partition == 0)
    assert first.offset == 0 and first.value.decode() == source[0][0][1]
    assert tb.ref("same_time") is True
    # MM2's internal topics on both sides, named by DefaultReplicationPolicy
    src_topics, tgt_topics = mirror.topics(settings.BOOTSTRAP), mirror.topics(cluster)
    assert {"heartbeats", "mm2-offset-syncs.target.internal", "mm2-offsets.target.internal"} <= set(src_topics)
    assert {"source.checkpoints.internal", "source.heartbeats", "heartbeats",
            "mm2-configs.source.internal", "mm2-offsets.source.internal",
            "mm2-status.source.internal"} <= set(tgt_topics)


# ---------------------------------------------------------------- offset translation

def test_translated_group_offset_lets_a_consumer_on_the_cluster_continue_without_gaps(nb_mirror, cluster):
    tb = nb_mirror
    commit_at = _int_keys(tb.ref("COMMIT_AT"))
    starts = _int_keys(tb.ref("source_starts"))
    assert mirror.committed(GROUP, settings.BOOTSTRAP) == commit_at
    exact = mirror.exact_positions(TOPIC, REMOTE, commit_at, settings.BOOTSTRAP, cluster)
    assert sorted(exact) == [0, 1, 2]
    # every checkpoint MM2 wrote for the group is at or before the exact position: never past it
    cps = [c for c in mirror.checkpoints(cluster) if c["group"] == GROUP]
    assert {c["partition"] for c in cps} == {0, 1, 2}
    assert all(c["topic"] == REMOTE and c["upstream"] == commit_at[c["partition"]] for c in cps)
    assert all(c["downstream"] <= exact[c["partition"]] for c in cps)
    # a consumer starting at the newest checkpoint, after the records processed on the source, misses nothing
    translated = mirror.translated_offsets(GROUP, cluster)
    source = _mirrored_source(starts)
    processed = {v for p in source for _, v in source[p][:commit_at[p] - starts[p]]}
    resumed = mirror.read_from(REMOTE, cluster, translated)
    got = {r.value.decode() for r in resumed}
    everything = {v for p in source for _, v in source[p]}
    assert everything - processed <= got, "records skipped after the switch"
    # what the notebook's own consumer on the cluster counted, and the broken ways it compared with
    counts = tb.value("mirror.resume_counts(done, todo, continued)")
    assert counts["빠짐"] == 0 and counts["읽음"] > 0
    assert tb.value("mirror.resume_counts(done, todo, mirror.read_from(REMOTE, TGT, dict(COMMIT_AT)))")["빠짐"] > 0
    assert tb.value("mirror.resume_counts(done, todo, mirror.read_from(REMOTE, TGT, {0: 0, 1: 0, 2: 0}))")[
        "다시 읽음"] == len(tb.ref("consumed"))


# ---------------------------------------------------------------- the source broker down and back

def test_replication_resumes_after_the_source_broker_comes_back_with_no_record_missing(nb_mirror, cluster):
    tb = nb_mirror
    # the outage happened: MM2 warned, stayed up, and the remote topic did not move meanwhile
    assert tb.ref("len(warned)") > 0 and tb.ref("before") == tb.ref("during")
    assert tb.ref("missing") == 0 and tb.ref("src_now == tgt_now") is True
    # read back now: every record written after the restart is on the target, in its partition, in order
    after = [v for _, v in sum(mirror.by_partition(read_all(REMOTE, cluster)).values(), []) if v.startswith("after-")]
    assert len(after) == tb.ref("AFTER") == 30
    target = mirror.by_partition(read_all(REMOTE, cluster))
    for p in range(3):
        mine = [v for _, v in target[p] if v.startswith("after-")]
        assert mine == [f"after-{i:03d}" for i in range(30) if i % 3 == p]


# ---------------------------------------------------------------- bad config, and nothing left running

def test_bad_config_fails_with_mm2s_own_error_and_no_jvm_is_left(nb_mirror):
    tb = nb_mirror
    assert tb.ref("bad.returncode") == 2
    log = (jvm.PROGRAMS_DIR / "mirrormaker2-bad.log").read_text(encoding="utf-8")
    assert "No resolvable bootstrap urls given in bootstrap.servers" in log and "Stopping due to error" in log
    assert tb.ref("topics_before") == tb.value("(mirror.topics(SRC), mirror.topics(TGT))")
    mm2_log = (jvm.PROGRAMS_DIR / "mirrormaker2.log").read_text(encoding="utf-8").splitlines()
    assert mm2_log[-1].endswith("Kafka MirrorMaker stopped. (MirrorMaker)")
    assert tb.ref("mm2.alive") is False
    assert jvm.running() == []


# ---------------------------------------------------------------- the exercise

def test_exercise_checker_judges_the_target_clusters_group_offsets(nb_mirror, cluster):
    tb = nb_mirror
    assert tb.value("check_exercise()") is False                     # nothing committed yet
    source = mirror.committed(EX_GROUP, settings.BOOTSTRAP)
    assert source == _int_keys(tb.ref("EX_COMMITTED"))
    exact = mirror.exact_positions(TOPIC, REMOTE, source, settings.BOOTSTRAP, cluster)

    def commit(offsets):
        with admin_client(cluster) as admin:
            admin.alter_group_offsets(EX_GROUP, {TopicPartition(REMOTE, p): OffsetAndMetadata(o, "", -1)
                                                 for p, o in offsets.items()})

    commit(source)                                   # the source's numbers: skips on partitions 0 and 1
    assert tb.value("check_exercise()") is False
    commit(exact)
    assert tb.value("check_exercise()") is True
    commit({**exact, 2: exact[2] - 1})               # one record read twice
    assert tb.value("check_exercise()") is False
