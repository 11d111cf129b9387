"""3.4.2 컨슈머 API, and the JVM-program helper (kafkabook.jvm) the chapter's Java programs run through.

The helper tests start real JVMs; the notebook tests read the broker back themselves.
"""
import time

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


def test_jvm_program_runs_logs_and_is_gone_after_stop(tmp_path):
    prog = jvm.JavaProgram(_write(tmp_path, "Sleeper.java", SLEEPER), "hello", name="sleeper-test")
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


def test_jvm_context_manager_stops_on_failure(tmp_path):
    prog = jvm.JavaProgram(_write(tmp_path, "Sleeper.java", SLEEPER), "x", name="sleeper-fail")
    with pytest.raises(jvm.JavaProgramError, match="나오지 않았다"):
        with prog:
            prog.wait_for_line("this never appears", timeout=3, quiet=True)
    assert not prog.alive
    assert all(name != "sleeper-fail" for _, name in jvm.running())
