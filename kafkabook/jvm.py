"""Real Java programs from a notebook: show the source, compile it, run it as a JVM process, stop it.

    from kafkabook import jvm
    jvm.show_source("SafeShutdownConsumer.java")
    with jvm.JavaProgram("SafeShutdownConsumer.java", BOOTSTRAP, "t", "g") as prog:
        prog.wait_for_line("partitions assigned", timeout=60)
    # leaving the block sends SIGTERM (the JVM's shutdown hooks run), then SIGKILL if needed

Sources live in notebooks/chNN/java/ (a bare file name is looked up there). `javac` compiles each source once into
.kafka/programs/classes/<sha256>/ against the broker's jars (.kafka/libs, kafka-clients
4.3.1 and a log4j2 SLF4J binding), then `java -cp <libs jars>:<classes> Main args` runs it
(the jars spelled out in the broker's order, so the "programs" class-data sharing archive of
kafkabook.cds applies and the JVM starts faster).
launch="source" instead uses Java 11+'s single-file launch (`java -cp <libs jars> Main.java`),
which compiles in memory on every start. The program's stdout and stderr go to
.kafka/programs/<name>.log, the file the reader can open. Every JVM started here carries
-Dkafkabook.program=<name>, so `running()` finds them from any process, and an atexit
hook (plus the kernel's death signal on Linux) stops the ones this kernel started.

A program that is a main class in the jars rather than a book source (a Connect worker,
MirrorMaker 2) runs the same way: JavaProgram.main_class("org.apache...Main", args..., name=...).
`classpath=` replaces the broker's jars (.kafka/libs/*) for programs with jars of their own.
"""
import atexit
import hashlib
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import cds, runtime, settings
from .errors import KafkaBookError
from .waitclock import clocked

JAVA_DIRS = sorted((settings.ROOT / "notebooks").glob("ch*/java"))
PROGRAMS_DIR = settings.STATE_DIR / "programs"
LOG4J = Path(__file__).parent / "kafka" / "log4j2-programs.properties"
MARKER = "-Dkafkabook.program="
_COMPILER_SAYS = re.compile(r"^error: compilation failed|\.java:\d+: error:", re.M)
HEAP = "-Xmx192m"

_started = []          # JavaProgram objects this interpreter started
_lock = threading.Lock()


class JavaCompileError(KafkaBookError):
    """javac (or the single-file launcher) refused the source."""


class JavaProgramError(KafkaBookError):
    """A Java program ended early or did not print what was awaited."""


def source_path(name):
    """The path of a book program: a bare file name is looked up in notebooks/chNN/java/."""
    path = Path(name)
    if not path.is_absolute() and not path.exists():
        found = [d / path for d in JAVA_DIRS if (d / path).exists()]
        path = found[0] if found else path
    if not path.exists():
        raise JavaProgramError(f"자바 소스 파일이 없다: {path}")
    return path.resolve()


def show_source(name, start=None, end=None, lang="java"):
    """Display a Java source file (or its application.yaml, lang="yaml") as a highlighted Markdown
    code block (lines start..end, 1-based)."""
    path = source_path(name)
    lines = path.read_text(encoding="utf-8").splitlines()
    body = "\n".join(lines[(start or 1) - 1:end])
    try:
        from IPython.display import Markdown, display
    except ImportError:                      # plain Python: print it
        print(body)
        return
    display(Markdown(f"`{_relative(path)}`\n\n```{lang}\n{body}\n```"))


def _relative(path):
    try:
        return str(Path(path).relative_to(settings.ROOT))
    except ValueError:
        return str(path)


def _java(tool="java"):
    found = shutil.which(tool)
    if not found:
        raise JavaProgramError(f"{tool}를 찾을 수 없다. JDK 17 이상을 설치해야 한다 "
                               "(예: apt-get install openjdk-17-jdk-headless).")
    return found


def libs_classpath():
    """'<.kafka/libs>/*': the broker's jars (kafka-clients, log4j2 and its SLF4J binding)."""
    if not any(settings.LIBS_DIR.glob("kafka-clients-*.jar")):
        raise JavaProgramError(f"{settings.LIBS_DIR}에 kafka-clients jar가 없다. "
                               "./run broker start(또는 ./run setup)를 먼저 실행해야 한다.")
    return str(settings.LIBS_DIR / "*")


def program_classpath(*extra):
    """The jars of .kafka/libs spelled out, the broker's own first in the broker's order (so the
    class-data sharing archive built for that classpath applies, see kafkabook.cds), then the rest
    (connect-file), then `extra` (a program's compiled classes)."""
    libs_classpath()                                   # no jars: a clear message
    server = runtime.server_jars()
    rest = sorted(p for p in settings.LIBS_DIR.glob("*.jar") if p not in server)
    return os.pathsep.join(str(p) for p in [*server, *rest, *extra])


def _shared_options(java):
    """The CDS options for a program on program_classpath() (none if there is no archive)."""
    server = os.pathsep.join(str(p) for p in runtime.server_jars())
    return cds.options("programs", java, server)
def spring_classpath():
    """'<.kafka/spring>/*': Spring Boot, Spring Kafka and their kafka-clients (chapter 4.4)."""
    if not any(settings.SPRING_DIR.glob("spring-kafka-*.jar")):
        raise JavaProgramError(f"{settings.SPRING_DIR}에 spring-kafka jar가 없다. "
                               "./run setup(python -m kafkabook jars)을 먼저 실행해야 한다.")
    return str(settings.SPRING_DIR / "*")


_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.M)


def main_class_name(path):
    """The class `java` starts for a source file: its stem, qualified by the file's `package`
    (a Spring Boot application must not live in the default package)."""
    found = _PACKAGE.search(Path(path).read_text(encoding="utf-8"))
    return f"{found.group(1)}.{Path(path).stem}" if found else Path(path).stem


def javac(name, classpath=None):
    """javac the source once (cached by content) and return the classes directory.

    Raises JavaCompileError with javac's own message; nothing is left running.
    """
    path = source_path(name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    out = PROGRAMS_DIR / "classes" / f"{path.stem}-{digest}"
    if (out / (main_class_name(path).replace(".", "/") + ".class")).exists():
        return out
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    done = subprocess.run([_java("javac"), "-encoding", "UTF-8", "-cp", classpath or libs_classpath(),
                           "-d", str(tmp), str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise JavaCompileError(f"자바 컴파일 실패 ({path.name}):\n{(done.stdout + done.stderr).strip()}")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def _die_with_parent():
    """Linux: the JVM gets SIGTERM if the kernel that started it dies without cleaning up."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except Exception:
        pass


class JavaProgram:
    """One Java program run as a real JVM process in the background.

    `start()` (or entering a `with` block) launches it; `wait_for_line()` waits for
    its output; `stop()` sends SIGTERM and, after `grace` seconds, SIGKILL.
    """

    def __init__(self, source, *args, name=None, launch="javac", jvm_options=(), classpath=None,
                 cwd=None):
        self.source = source_path(source) if source is not None else None
        self.main = main_class_name(self.source) if self.source else None
        self.args = [str(a) for a in args]
        self.classpath = classpath
        self.cwd = Path(cwd) if cwd else (self.source.parent if self.source else PROGRAMS_DIR)
        self.name = name or (self.source.stem if self.source else None)
        self.launch = launch
        self.jvm_options = list(jvm_options)
        self.log_path = PROGRAMS_DIR / f"{self.name}.log"
        self.process = None
        self.started_at = None
        self.stopped_in = None

    @classmethod
    def main_class(cls, main, *args, name=None, jvm_options=(), classpath=None, cwd=None):
        """A program that is a main class in the jars (no book source to compile)."""
        prog = cls(None, *args, name=name or main.rsplit(".", 1)[-1], jvm_options=jvm_options,
                   classpath=classpath, cwd=cwd)
        prog.main, prog.launch = main, "jar"
        return prog

    # ------------------------------------------------------------ start

    def command(self):
        """The java command line this program runs with."""
        java = _java()
        shared = [] if self.classpath else _shared_options(java)
        opts = [HEAP, *shared, f"{MARKER}{self.name}", f"-Dlog4j2.configurationFile={LOG4J}", *self.jvm_options]
        if self.launch == "jar":
            return [java, *opts, "-cp", self.classpath or program_classpath(), self.main, *self.args]
        if self.launch == "source":
            return [java, *opts, "-cp", self.classpath or program_classpath(), str(self.source), *self.args]
        classes = javac(self.source, classpath=self.classpath)
        jars = f"{classes}{os.pathsep}{self.classpath}" if self.classpath else program_classpath(classes)
        return [java, *opts, "-cp", jars, self.main, *self.args]

    def start(self, quiet=False):
        """Compile if needed, start the JVM in the background with its output in the log file."""
        if self.alive:
            return self
        cmd = self.command()                          # compile errors raise here, before any process
        PROGRAMS_DIR.mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w", encoding="utf-8")
        on_main = threading.current_thread() is threading.main_thread()
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=self.cwd,
                                        start_new_session=True,
                                        preexec_fn=_die_with_parent if on_main and sys.platform == "linux" else None)
        with _lock:
            _started.append(self)
        if not quiet:
            shown = " ".join(cmd[cmd.index("-cp") + 2:] if "-cp" in cmd else cmd)
            print(f"시작: java ... {shown}  (pid {self.process.pid})\n로그: {_relative(self.log_path)}")
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop(quiet=exc[0] is not None)
        return False

    # ------------------------------------------------------------ output

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self):
        return self.process.pid if self.process else None

    @property
    def returncode(self):
        return self.process.poll() if self.process else None

    def lines(self):
        """Every line the program printed so far (stdout and stderr, log4j lines included)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def tail(self, n=15, pattern=None):
        """Print the last `n` lines of the log (only those matching `pattern`, if given)."""
        lines = [l for l in self.lines() if pattern is None or re.search(pattern, l)]
        print("\n".join(lines[-n:]))

    def _check_ended(self):
        if self.alive:
            return
        text = "\n".join(self.lines()[-30:])
        self._close_log()
        if _COMPILER_SAYS.search(text):
            raise JavaCompileError(f"자바 컴파일 실패 ({self.source.name if self.source else self.main}):\n{text}")
        raise JavaProgramError(f"{self.name}이(가) 종료 코드 {self.returncode}로 끝났다. 로그 마지막 부분:\n{text}")

    @clocked("wait", ("pattern", 1))
    def wait_for_line(self, pattern, timeout=60, count=1, quiet=False):
        """Wait until `count` log lines match the regex `pattern`; return the last one matched.

        Shows what it waits for and the seconds elapsed while it waits; raises
        JavaProgramError if the program ends first or `timeout` passes.
        """
        start, shown, progress = time.monotonic(), 0.0, _Progress(quiet)
        progress.update(f"기다리는 중: /{pattern}/ ({self.name})")
        while True:
            lines = self.lines()
            if self.launch == "source" and any(_COMPILER_SAYS.search(l) for l in lines):
                self.process.wait(10)                     # the launcher exits right after saying so
                self._check_ended()
            found = [l for l in lines if re.search(pattern, l)]
            if len(found) >= count:
                waited = time.monotonic() - start
                progress.update(f"찾음 ({waited:.1f}초): {found[count - 1].strip()}")
                return found[count - 1]
            if self.process is None:
                raise JavaProgramError(f"{self.name}은(는) 아직 시작하지 않았다: start()를 먼저 부른다.")
            self._check_ended()
            waited = time.monotonic() - start
            if waited >= timeout:
                raise JavaProgramError(f"{timeout:g}초 동안 /{pattern}/ 줄이 나오지 않았다 ({self.name}).\n"
                                       f"로그({_relative(self.log_path)}) 마지막 부분:\n"
                                       + "\n".join(self.lines()[-15:]))
            if waited - shown >= 1:
                shown = waited
                progress.update(f"기다리는 중: /{pattern}/ ({self.name}) ... {waited:.0f}초")
            time.sleep(0.1)

    # ------------------------------------------------------------ stop

    def stop(self, grace=15, quiet=False):
        """SIGTERM (the JVM runs its shutdown hooks), wait up to `grace` s, then SIGKILL. Returns the exit code."""
        if self.process is None:
            return None
        if self.alive:
            t0 = time.monotonic()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
                if not quiet:
                    print(f"{self.name}: {grace}초 안에 끝나지 않아 SIGKILL로 멈췄다.")
            self.stopped_in = time.monotonic() - t0
            if not quiet:
                print(f"{self.name}: SIGTERM 후 {self.stopped_in:.2f}초 만에 종료 (종료 코드 {self.returncode})")
        self._close_log()
        with _lock:
            if self in _started:
                _started.remove(self)
        return self.returncode

    def _close_log(self):
        log = getattr(self, "_log", None)
        if log and not log.closed:
            log.close()

    def __repr__(self):
        state = f"pid {self.pid}, 실행 중" if self.alive else f"종료 코드 {self.returncode}"
        return f"<JavaProgram {self.name} ({state}), 로그 {_relative(self.log_path)}>"


class _Progress:
    """One status line, updated in place in a notebook (printed lines elsewhere)."""

    def __init__(self, quiet):
        self.quiet, self.handle = quiet, None

    def update(self, text):
        if self.quiet:
            return
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display
            if get_ipython() is not None:
                body = HTML(f"<pre>{html.escape(text)}</pre>")
                if self.handle is None:
                    self.handle = display(body, display_id=True)
                else:
                    self.handle.update(body)
                return
        except ImportError:
            pass
        print(text)


def running(anywhere=False):
    """[(pid, name)] of the book's JVM programs alive on this machine, whoever started them:
    those run from this checkout's .kafka folder (its jars or classes), or from any checkout
    with anywhere=True."""
    found = []
    here = str(settings.STATE_DIR)
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if not anywhere and not any(here in arg for arg in args):
            continue
        for arg in args:
            if arg.startswith(MARKER):
                found.append((int(proc.name), arg[len(MARKER):]))
    return sorted(found)


def stop_all(quiet=True):
    """Stop every program this interpreter started (the atexit safety net)."""
    with _lock:
        programs = list(_started)
    for prog in programs:
        try:
            prog.stop(grace=10, quiet=quiet)
        except Exception:
            pass


atexit.register(stop_all)
