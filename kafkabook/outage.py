"""A node that was killed: make sure it is really gone and see what a client sees meanwhile."""
from . import runtime, settings
from .connection import check_broker
from .errors import BrokerUnavailable


def confirm_down(service="kafka"):
    """Wait until `service` has no process and no open port, then return the first line of the
    message a client gets from it (or "응답함" if it still answers)."""
    runtime.wait_down(service)
    single = service in settings.SINGLE
    bootstrap = settings.BOOTSTRAP if single else settings.client_address(service)
    try:
        check_broker(bootstrap, timeout=2)
        return "응답함"
    except BrokerUnavailable as e:
        return str(e).splitlines()[0]
