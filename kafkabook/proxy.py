"""A tiny fault-injecting SOCKS5 proxy for the idempotence notebook (loopback only, threads, bounded).

kafka-python can send every connection through a SOCKS5 proxy (`proxy_url=`), the bootstrap
connection and the connections to the addresses the metadata advertises alike. So a proxy
that sits there sees every Kafka request without any change to the broker's listeners.
With `drop_produce_responses=n` it forwards the first n ProduceRequests to the broker but
swallows the broker's responses to them and closes the client's connection: the broker has
appended the batch, the client never hears so and retries the very same batch.
"""
import socket
import struct
import threading

PRODUCE = 0          # Kafka API key of ProduceRequest


class FaultProxy:
    """Start with `with FaultProxy(drop_produce_responses=1) as proxy:`; `proxy.url` goes to
    KafkaProducer(proxy_url=...). `proxy.log` lists what the proxy did."""

    def __init__(self, drop_produce_responses=0, max_connections=32, idle_timeout=30):
        self.to_drop = drop_produce_responses
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.log = []
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._sockets = []
        self._connections = 0
        self._closed = False
        self.port = self._server.getsockname()[1]
        self.url = f"socks5://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ lifecycle
    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._closed = True
        for s in [self._server, *self._sockets]:
            try:
                s.close()
            except OSError:
                pass

    def _note(self, text):
        with self._lock:
            self.log.append(text)

    # ------------------------------------------------------------ SOCKS5 handshake
    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self._connections += 1
                too_many = self._connections > self.max_connections
            if too_many:
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        client.settimeout(self.idle_timeout)
        self._sockets.append(client)
        try:
            _, n = _read(client, 2)
            _read(client, n)
            client.sendall(b"\x05\x00")                        # no authentication
            _, cmd, _, atyp = _read(client, 4)
            if atyp == 1:
                host = socket.inet_ntoa(_read(client, 4))
            elif atyp == 3:
                host = _read(client, _read(client, 1)[0]).decode()
            else:
                host = socket.inet_ntop(socket.AF_INET6, _read(client, 16))
            port = struct.unpack(">H", _read(client, 2))[0]
            if cmd != 1 or host not in ("localhost", "127.0.0.1", "::1"):
                client.sendall(b"\x05\x02\x00\x01" + b"\0" * 6)   # loopback only
                client.close()
                return
            broker = socket.create_connection((host, port), timeout=self.idle_timeout)
            self._sockets.append(broker)
            client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", port))
        except (OSError, ValueError):
            client.close()
            return
        state = {"drop": set()}
        threading.Thread(target=self._requests, args=(client, broker, state), daemon=True).start()
        self._responses(broker, client, state)

    # ------------------------------------------------------------ Kafka frames
    def _requests(self, client, broker, state):
        """client -> broker: note the correlation ids of the ProduceRequests whose answers to drop."""
        try:
            while True:
                frame = _frame(client)
                api_key, version, cid = struct.unpack(">hhi", frame[4:12])
                if api_key == PRODUCE:
                    with self._lock:
                        drop = self.to_drop > 0
                        self.to_drop -= drop
                    if drop:
                        state["drop"].add(cid)
                    self._note(f"ProduceRequest v{version} (correlation id {cid}) 전달"
                               + (", 응답은 버린다" if drop else ""))
                broker.sendall(frame)
        except (OSError, ValueError):
            _close(client, broker)

    def _responses(self, broker, client, state):
        """broker -> client: swallow a dropped response and cut the client's connection."""
        try:
            while True:
                frame = _frame(broker)
                cid = struct.unpack(">i", frame[4:8])[0]
                if cid in state["drop"]:
                    self._note(f"ProduceResponse (correlation id {cid})를 버리고 연결을 끊었다")
                    break
                client.sendall(frame)
        except (OSError, ValueError):
            pass
        _close(client, broker)


def _read(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ValueError("connection closed")
        data += chunk
    return data


def _frame(sock):
    """One size-prefixed Kafka frame, size included."""
    head = _read(sock, 4)
    return head + _read(sock, struct.unpack(">i", head)[0])


def _close(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass
