"""A broker's own log (server.log), read from a mark on: what a node wrote after a restart."""
import subprocess
from datetime import datetime, timezone

from . import runtime, settings


class LogFollower:
    """Lines a node writes to its log from the moment this object is made on."""

    def __init__(self, service="kafka"):
        self.service = service
        self.node = runtime.node(service)
        if runtime.kind() == "docker":
            self.since = datetime.now(timezone.utc).isoformat()
        else:
            path = self.node.log_file
            self.offset = path.stat().st_size if path.exists() else 0

    def lines(self):
        """Every line written since the mark."""
        if runtime.kind() == "docker":
            cmd = ["docker", "compose", "-f", str(settings.COMPOSE_FILE), "--profile", "cluster",
                   "logs", "--no-color", "--no-log-prefix", "--since", self.since, self.service]
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
            return out.splitlines()
        with open(self.node.log_file, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace").splitlines()

    def matching(self, *needles):
        """Lines written since the mark that contain any of `needles`."""
        return [line for line in self.lines() if any(n in line for n in needles)]

    def where(self):
        return self.node.where()["log"]


def follow(service="kafka"):
    """Start collecting what `service` writes to its log from now on."""
    return LogFollower(service)
