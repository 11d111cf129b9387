"""Command line for the book's brokers (used by ./run):

    python -m kafkabook jars        (.kafka/libs, .kafka/spring for chapter 4.4, then the CDS archives in .kafka/cds)
    python -m kafkabook broker  start|stop|status|kill|restart|reset|where
    python -m kafkabook cluster start|stop|status|reset|where
    python -m kafkabook cluster kill|restart kafka-2
"""
import sys
import time

from . import cds, runtime, settings
from .errors import KafkaBookError

USAGE = __doc__


def main(argv):
    if argv[:1] == ["jars"]:
        print(runtime.ensure_jars())
        print(runtime.ensure_spring_jars())
        cds.ensure()                    # the JVMs' class-data sharing archives (built once per jar set and JDK)
        return 0
    if len(argv) < 2 or argv[0] not in ("broker", "cluster"):
        print(USAGE, file=sys.stderr)
        return 2
    group = settings.SINGLE if argv[0] == "broker" else settings.CLUSTER
    action, rest = argv[1], argv[2:]
    one = rest[0] if rest else group[0]
    if one not in group:
        print(f"노드 이름은 {', '.join(group)} 중 하나입니다.", file=sys.stderr)
        return 2
    began = time.monotonic()
    if action == "start":
        bootstrap = runtime.start(group)
        print(f"{argv[0]} 준비 완료: {bootstrap} ({runtime.kind()}, {time.monotonic() - began:.1f}초)")
    elif action == "stop":
        runtime.stop(group)
        print(f"{argv[0]} 종료")
    elif action == "status":
        states = runtime.status(group)
        for s, up in states.items():
            print(f"{s:8} {'실행 중' if up else '중지됨'}  {settings.client_address(s)}")
        return 0 if all(states.values()) else 3
    elif action == "kill":
        runtime.kill(one)
        print(f"{one} 강제 종료 (SIGKILL)")
    elif action == "restart":
        runtime.node(one).stop()
        bootstrap = runtime.restart(one)
        print(f"{one} 재시작 완료: {bootstrap} ({time.monotonic() - began:.1f}초)")
    elif action == "reset":
        for s in group:
            runtime.node(s).reset()
        print(f"{argv[0]} 데이터 삭제")
    elif action == "where":
        for s in group:
            for k, v in runtime.node(s).where().items():
                print(f"{s:8} {k:7} {v}")
    else:
        print(USAGE, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KafkaBookError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
