"""Run Apache Kafka's real CLI tools as the book writes them: `kafka_sh("kafka-topics.sh --list ...")`.

Without Docker the script name maps to the Java class that bin/kafka-run-class.sh
would start, run from the official jars; with Docker the command runs in the
broker container's /opt/kafka/bin. Arguments that name a local file (for
example an --offset-json-file) are copied into the container first.
"""
import html
import shlex
import subprocess
from pathlib import Path

from . import runtime, settings
from .errors import KafkaCliError
from .waitclock import clocked

TOOLS = {
    "kafka-topics.sh": "org.apache.kafka.tools.TopicCommand",
    "kafka-configs.sh": "kafka.admin.ConfigCommand",
    "kafka-console-producer.sh": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-console-consumer.sh": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-consumer-groups.sh": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-verifiable-producer.sh": "org.apache.kafka.tools.VerifiableProducer",
    "kafka-verifiable-consumer.sh": "org.apache.kafka.tools.VerifiableConsumer",
    "kafka-delete-records.sh": "org.apache.kafka.tools.DeleteRecordsCommand",
    "kafka-producer-perf-test.sh": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test.sh": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-get-offsets.sh": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-metadata-quorum.sh": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-broker-api-versions.sh": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "kafka-storage.sh": "kafka.tools.StorageTool",
    "kafka-dump-log.sh": "org.apache.kafka.tools.DumpLogSegments",
    "kafka-log-dirs.sh": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-features.sh": "org.apache.kafka.tools.FeatureCommand",
}

#: tools that run for a while and measure throughput: the server JIT (C2) and G1, not runtime.QUICK_OPTS
THROUGHPUT_TOOLS = {"kafka-producer-perf-test.sh", "kafka-consumer-perf-test.sh",
                    "kafka-verifiable-producer.sh", "kafka-verifiable-consumer.sh"}


class CliResult:
    """What a tool printed, shown in the notebook like a terminal."""

    def __init__(self, command, returncode, stdout, stderr):
        self.command, self.returncode, self.stdout, self.stderr = command, returncode, stdout, stderr

    @property
    def lines(self):
        """Non-empty stdout lines."""
        return [line for line in self.stdout.splitlines() if line.strip()]

    @property
    def ok(self):
        return self.returncode == 0

    def __repr__(self):
        text = f"$ {self.command}\n{self.stdout}"
        if self.stderr.strip():
            text += f"[stderr]\n{self.stderr}"
        if not self.ok:
            text += f"[종료 코드 {self.returncode}]\n"
        return text

    def _repr_html_(self):
        err = f'<span style="color:#b00">{html.escape(self.stderr)}</span>' if self.stderr.strip() else ""
        code = "" if self.ok else f'<span style="color:#b00">[종료 코드 {self.returncode}]</span>'
        return (f'<pre class="kafka-cli"><b>$ {html.escape(self.command)}</b>\n'
                f"{html.escape(self.stdout)}{err}{code}</pre>")


def _local_files(args):
    return [a for a in args if not a.startswith("-") and "/" not in a[:1] and Path(a).is_file()]


@clocked("cli", ("command", 0))
def kafka_sh(command, input=None, check=True, timeout=120):
    """Run one Kafka CLI command line (e.g. "kafka-topics.sh --bootstrap-server localhost:9092 --list").

    `input` is piped to the tool's stdin (the console producer reads records from it).
    With check=True a non-zero exit raises KafkaCliError; with check=False the
    result, error text included, is returned for the reader to see.
    """
    words = shlex.split(command)
    script = Path(words[0]).name
    if script not in TOOLS:
        raise KafkaCliError(f"이 책이 실행할 수 있는 도구가 아닙니다: {script} (가능: {', '.join(sorted(TOOLS))})")
    args = words[1:]
    if runtime.kind() == "docker":
        for f in _local_files(args):
            subprocess.run(["docker", "compose", "-f", str(settings.COMPOSE_FILE), "cp", f,
                            f"kafka:/tmp/{Path(f).name}"], check=True, capture_output=True)
        args = [f"/tmp/{Path(a).name}" if a in _local_files(words[1:]) else a for a in args]
        cmd = ["docker", "compose", "-f", str(settings.COMPOSE_FILE), "exec", "-T", "kafka",
               f"/opt/kafka/bin/{script}", *args]
    else:
        cmd = runtime.java_command(TOOLS[script], args, quick=script not in THROUGHPUT_TOOLS)
    try:
        done = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise KafkaCliError(f"{script}가 {timeout}초 안에 끝나지 않았습니다.\n{e.stdout or ''}") from None
    result = CliResult(command, done.returncode, done.stdout, done.stderr)
    if check and not result.ok:
        raise KafkaCliError(f"{script}가 오류로 끝났습니다 (종료 코드 {done.returncode}).\n{done.stdout}{done.stderr}")
    return result
