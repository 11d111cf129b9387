"""3.4.2 컨슈머 API, and the JVM-program helper (kafkabook.jvm) the chapter's Java programs run through.

The helper tests start real JVMs; the notebook tests read the broker back themselves.
"""
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kafkabook import jvm
from kafkabook.settings import BOOTSTRAP

BROKEN = """public class Broken {
    public static void main(String[] args) {
        System.out.println("never" + )
    }
}
"""

SLEEPER = """public class Sleeper {
    public static void main(String[] args) throws Exception {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("hook ran")));
        System.out.println("ready " + args[0]);
        Thread.sleep(600_000);
    }
}
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- kafkabook.jvm

@pytest.mark.parametrize("launch", ["javac", "source"])
def test_jvm_compile_error_shows_javac_message_and_leaves_no_process(tmp_path, launch):
    before = jvm.running()
    prog = jvm.JavaProgram(_write(tmp_path, "Broken.java", BROKEN), name=f"broken-{launch}", launch=launch)
    with pytest.raises(jvm.JavaCompileError) as err:
        with prog:
            prog.wait_for_line("never", timeout=60, quiet=True)
    message = str(err.value)
    assert message.startswith("자바 컴파일 실패")
    assert "Broken.java:3: error" in message
    assert not prog.alive
    assert jvm.running() == before


@pytest.mark.parametrize("launch", ["javac", "source"])
def test_jvm_program_runs_logs_and_is_gone_after_stop(tmp_path, launch):
    prog = jvm.JavaProgram(_write(tmp_path, "Sleeper.java", SLEEPER), "hello", name="sleeper-test",
                           launch=launch)
    prog.start(quiet=True)
    try:
        line = prog.wait_for_line(r"ready \w+", timeout=60, quiet=True)
        assert line == "ready hello"
        assert (prog.pid, "sleeper-test") in jvm.running()
        assert "ready hello" in prog.log_path.read_text()
    finally:
        code = prog.stop(quiet=True)
    assert code == 143                                   # ended by SIGTERM
    assert "hook ran" in prog.lines()                    # the JVM ran its shutdown hook
    assert prog.stopped_in < 5
    assert all(pid != prog.pid for pid, _ in jvm.running())


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_jvm_program_does_not_outlive_the_python_that_started_it(tmp_path, how):
    """atexit stops it when the kernel exits; the death signal when the kernel is killed."""
    source = _write(tmp_path, "Sleeper.java", SLEEPER)
    script = (f"import os, signal\nfrom kafkabook import jvm\n"
              f"p = jvm.JavaProgram({str(source)!r}, 'x', name='orphan-{how}').start(quiet=True)\n"
              f"p.wait_for_line('ready', timeout=60, quiet=True)\n"
              f"print(p.pid, flush=True)\n"
              + ("os.kill(os.getpid(), signal.SIGKILL)\n" if how == "sigkill" else ""))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=90,
                          cwd=Path(jvm.__file__).parent.parent)
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(p == pid for p, _ in jvm.running()):
        time.sleep(0.2)
    assert all(name != f"orphan-{how}" for _, name in jvm.running())


def test_jvm_context_manager_stops_on_failure(tmp_path):
    prog = jvm.JavaProgram(_write(tmp_path, "Sleeper.java", SLEEPER), "x", name="sleeper-fail")
    with pytest.raises(jvm.JavaProgramError, match="나오지 않았다"):
        with prog:
            prog.wait_for_line("this never appears", timeout=3, quiet=True)
    assert not prog.alive
    assert all(name != "sleeper-fail" for _, name in jvm.running())


# ---------------------------------------------------------------- 3.4.2 컨슈머 API

from conftest import notebook_fixture                     # noqa: E402
from kafkabook import consumers                           # noqa: E402
from kafkabook.topics import read_all                     # noqa: E402

nb_consumer = notebook_fixture("ch03/04_2_consumer_api.ipynb")


def _outputs_text(cell):
    parts = []
    for o in cell.get("outputs", []):
        parts.append(o.get("text", ""))
        parts.append(str(o.get("data", {}).get("text/plain", "")))
        parts.append(f"{o.get('ename', '')}: {o.get('evalue', '')}")
    return "\n".join(parts)


def test_autocommit_crash_redelivers_exactly_the_predicted_records(nb_consumer):
    crash = nb_consumer.ref("crash")
    assert crash["processed_before_crash"] == 150
    assert 0 <= crash["committed_at_crash"] < 150
    assert crash["duplicates"] == crash["predicted"] == 150 - crash["committed_at_crash"]
    assert crash["duplicates"] > 0
    assert crash["restart_began_at"] == crash["committed_at_crash"]
    # the restarted consumer read to the end and committed it
    assert consumers.committed("autocommit-group", "consumer.autocommit") == {0: 300}


def test_commit_styles_are_measured_and_per_record_sync_is_slowest(nb_consumer):
    styles = {row["style"]: row for row in nb_consumer.ref("styles")}
    assert len(styles) == 4
    assert all(row["records"] == 1200 for row in styles.values()), styles
    per_record, per_batch = styles["레코드마다 commit()"], styles["배치마다 commit()"]
    assert per_record["commits"] == 1200 and per_batch["commits"] < 20
    assert per_record["records_per_s"] < per_batch["records_per_s"]
    assert per_record["records_per_s"] < styles["자동 커밋"]["records_per_s"]
    for name in ("자동 커밋", "배치마다 commit()", "레코드마다 commit()", "commit_async() + 끝에 commit()"):
        assert styles[name]["committed_total"] == 1200, name
    # the last run's group, read back from the broker: every record committed
    assert sum(consumers.committed("commit-style-group", "consumer.api").values()) == 1200


def test_rebalance_listener_prevents_the_duplicates_counted_without_it(nb_consumer):
    without, with_ = nb_consumer.ref("no_listener"), nb_consumer.ref("with_listener")
    assert without["distinct"] == with_["distinct"] == 600
    assert without["duplicates"] == without["predicted"] > 0
    assert with_["predicted"] > 0                        # there was something to lose at the revoke
    assert with_["duplicates"] == 0 and with_["processed"] == 600
    assert all(n > 0 for n in with_["by_consumer"].values())
    # the listener also ran at close: the broker holds every partition's end
    assert consumers.committed("rebalance-group", "consumer.rebalance") == {0: 300, 1: 300}


def test_assign_reads_one_partition_and_a_missing_one_is_refused_in_korean(nb_consumer):
    values = nb_consumer.ref("values")
    assert values == [r.value.decode() for r in read_all("consumer.api") if r.partition == 1]
    refused = [c for c in nb_consumer.nb.cells
               if c.cell_type == "code" and "check_partition(c, missing)" in c.source]
    text = _outputs_text(refused[0])
    assert "InvalidInput" in text and "파티션 99" in text and "[0, 1, 2]" in text


def test_both_shutdowns_leave_the_group_within_seconds(nb_consumer):
    java_leave, python_leave = nb_consumer.ref("java_leave_s"), nb_consumer.ref("python_leave_s")
    assert 0 < java_leave < 5
    assert 0 < python_leave < 5
    for group in ("java-wakeup-group", "python-event-group"):
        state, members = consumers.group_state(group)
        assert members == [] and state == "Empty", (group, state, members)
        assert consumers.committed(group, "consumer.shutdown") == {0: 5}
    log = (jvm.PROGRAMS_DIR / "SafeShutdownConsumer.log").read_text()
    order = ["shutdown hook: consumer.wakeup()", "WakeupException caught", "sending LeaveGroup", "consumer closed"]
    positions = [log.index(s) for s in order]
    assert positions == sorted(positions)


def test_the_kip848_consumer_group_also_empties_within_seconds(nb_consumer):
    assert 0 < nb_consumer.ref("kip848_leave_s") < 5
    assert consumers.group_listing("java-kip848-group") == ("consumer", "Empty")
    assert consumers.committed("java-kip848-group", "consumer.shutdown") == {0: 5}
    log = (jvm.PROGRAMS_DIR / "SafeShutdownConsumer-kip848.log").read_text()
    assert "transitioned from STABLE to PREPARE_LEAVING" in log and "consumer closed" in log


def test_no_jvm_program_left_after_the_notebook(nb_consumer):
    assert nb_consumer.ref("jvm.running()") == []
    assert jvm.running() == []


def test_exercise_checker_judges_the_committed_offset_from_the_broker(nb_consumer):
    tb = nb_consumer
    assert "아직" in tb.ref('consumers.check_exercise(EX_GROUP, EX_TOPIC, partition=1, done_value="p1-6")')

    def commit(offset):
        tb.inject(f"""
            _c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=EX_GROUP,
                               enable_auto_commit=False)
            _tp = TopicPartition(EX_TOPIC, 1)
            _c.assign([_tp])
            _c.commit({{_tp: OffsetAndMetadata({offset}, "", -1)}})
            _c.close()
        """)
        return tb.ref('consumers.check_exercise(EX_GROUP, EX_TOPIC, partition=1, done_value="p1-6")')

    assert commit(6).startswith("틀렸다")                # the last processed record's own offset
    assert consumers.committed("exercise-group", "consumer.exercise") == {1: 6}
    assert commit(7).startswith("맞다")
