"""Where things are and how to reach the broker; server.properties derived from docker-compose.yml.

docker-compose.yml is the one source of the brokers' settings. The official
apache/kafka image turns each service's KAFKA_* environment variable into a
server property; `node_properties` applies the very same rule, then changes only
what must differ on a bare machine: service host names become localhost,
all-interface binds become 127.0.0.1 (compose publishes on 127.0.0.1 too), and
log.dirs moves under .kafka/.
"""
import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
STATE_DIR = Path(os.environ.get("KAFKABOOK_STATE_DIR", ROOT / ".kafka"))
LIBS_DIR = STATE_DIR / "libs"
#: Spring Boot and Spring Kafka jars (chapter 4.4), apart from the broker's log4j2 binding
SPRING_DIR = STATE_DIR / "spring"
KAFKA_VERSION = "4.3.1"

#: where the notebooks connect; a reader may point them at any cluster
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")

SINGLE = ("kafka",)
CLUSTER = ("kafka-1", "kafka-2", "kafka-3")

# variables the image reads itself rather than turning into properties
_NOT_PROPERTIES = {
    "KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL",
    "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL",
}


def env_to_property(name):
    """The image's rule: KAFKA_FOO_BAR -> foo.bar ('__' -> '_', '___' -> '-')."""
    body = name[len("KAFKA_"):]
    body = body.replace("___", "\0").replace("__", "\1").replace("_", ".")
    return body.replace("\0", "-").replace("\1", "_").lower()


def compose_services():
    """The services of docker-compose.yml (anchors and merge keys resolved)."""
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]


def service_env(service):
    env = compose_services()[service]["environment"]
    return {k: str(v) for k, v in env.items()}


def node_properties(service):
    """server.properties for `service` run from the jars on this machine."""
    hosts = [s.get("hostname", name) for name, s in compose_services().items()]
    props = {}
    for key, value in service_env(service).items():
        if not key.startswith("KAFKA_") or key in _NOT_PROPERTIES:
            continue
        for host in hosts:
            value = re.sub(rf"(?<=[@/]){re.escape(host)}(?=:)", "localhost", value)
        prop = env_to_property(key)
        if prop == "listeners":
            value = re.sub(r"://(0\.0\.0\.0)?:", "://127.0.0.1:", value)
        props[prop] = value
    props["log.dirs"] = str(node_dir(service) / "data")
    return props


def cluster_id(service):
    return service_env(service)["CLUSTER_ID"]


def heap_opts(service):
    return service_env(service).get("KAFKA_HEAP_OPTS", "-Xmx1G -Xms1G").split()


def client_address(service):
    """host:port a client on this machine uses for `service` (its advertised listener)."""
    advertised = node_properties(service)["advertised.listeners"]
    return next(a.split("://", 1)[1] for a in advertised.split(",") if "localhost" in a)


def bootstrap_for(services):
    return ",".join(client_address(s) for s in services)


def cluster_bootstrap():
    """Bootstrap servers of the three-node cluster profile (env KAFKA_CLUSTER_BOOTSTRAP_SERVERS overrides)."""
    return os.environ.get("KAFKA_CLUSTER_BOOTSTRAP_SERVERS") or bootstrap_for(CLUSTER)


def node_dir(service):
    return STATE_DIR / service
