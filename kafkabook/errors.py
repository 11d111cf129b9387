"""Korean errors that a reader sees instead of a wall of traceback."""


class KafkaBookError(Exception):
    """An error whose message is the whole story: IPython shows only the message."""

    def _render_traceback_(self):
        return [f"\033[31m{type(self).__name__}\033[0m: {self}"]


class BrokerUnavailable(KafkaBookError):
    """No broker answers at the bootstrap address."""


class KafkaCliError(KafkaBookError):
    """A Kafka CLI tool exited with an error."""


class RuntimeSetupError(KafkaBookError):
    """Java, Maven or a port is not as the local runtime needs."""


class InvalidInput(KafkaBookError):
    """Input the book refuses before it reaches Kafka (topic name, size, encoding)."""


def broker_down_message(bootstrap):
    return (
        f"카프카 브로커({bootstrap})에 연결할 수 없습니다.\n"
        "브로커를 먼저 실행하세요. 저장소 최상위 폴더에서:\n"
        "  ./run broker start            # Docker 없이 (Java 17+, Maven)\n"
        "  docker compose up -d --wait   # Docker로\n"
        "다른 클러스터를 쓰려면 KAFKA_BOOTSTRAP_SERVERS 환경 변수에 주소를 넣으세요."
    )
