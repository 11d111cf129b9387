"""The book's widgets in the real JupyterLab 4 front end, driven like a reader in headless Chromium.

`jupyter lab` serves a small notebook (RecordSender + PartitionPlacement on a fresh 3-partition topic);
Chromium, controlled over the Chrome DevTools Protocol, runs every cell, types a key and a value, clicks
'보내기' and waits until the placement drawing shows the record. The broker must then hold exactly that
record, in the partition murmur2 gives its key. Screenshot: artifacts/lab-widgets.png."""
import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest
import websocket
from kafka.partitioner.default import murmur2

from kafkabook.topics import delete_topics, read_all
from kafkabook.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
NOTEBOOK = "lab-widgets.ipynb"
KEY, VALUE = "주문-42", "안녕 JupyterLab"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def stop(proc, timeout=20):
    """Terminate a process we started and all below it (kernels run in sessions of their own); kill what stays."""
    try:
        family = [psutil.Process(proc.pid)]
        family += family[0].children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for p in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    for p in psutil.wait_procs(family, timeout)[1]:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    proc.wait(timeout)


class DevTools:
    """Just enough of the Chrome DevTools Protocol: call a method, evaluate JavaScript in the page."""

    def __init__(self, ws_url):
        # suppress_origin: Chromium refuses DevTools websockets that carry an Origin it was not told about
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.last_id = 0

    def call(self, method, **params):
        self.last_id += 1
        self.ws.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:  # skip events until our answer comes (each recv has the socket's 60 s deadline)
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.last_id:
                assert "error" not in msg, f"{method}: {msg['error']}"
                return msg["result"]

    def js(self, expression):
        """Value of a JavaScript expression (promises awaited); a thrown error fails the test."""
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait(self, expression, what, timeout=60, probe="PROBE()"):
        """Wait until `expression` is truthy; on timeout show what the page looked like."""
        try:
            return wait_until(lambda: self.js(expression), timeout, what, interval=0.25)
        except TimeoutError as e:
            raise AssertionError(f"{e}\npage: {json.dumps(self.js(probe), ensure_ascii=False, indent=1)}") from None


# JavaScript helpers defined once in the page (PROBE: what the page shows, for failure messages)
PAGE_HELPERS = r"""
window.NB = () => { const w = [...jupyterapp.shell.widgets('main')]
    .find(w => w.context && w.context.path === '%(notebook)s');
  return w && w.context.isReady ? w : null; };
window.KERNEL = () => { const k = NB() && NB().sessionContext.session && NB().sessionContext.session.kernel;
  return k ? k.status : 'none'; };
window.FIELD = (label) => [...document.querySelectorAll('.widget-text')]
  .find(b => (b.querySelector('label') || {}).textContent === label).querySelector('input');
window.BUTTON = (text) => [...document.querySelectorAll('button')].find(b => b.textContent.trim() === text);
window.LANES = () => { const head = [...document.querySelectorAll('.jupyter-widgets div')]
    .find(d => d.children.length === 0 && d.textContent === '파티션 배치');
  const lanes = {};
  if (head) head.parentElement.querySelectorAll('div').forEach(d => {
    const m = /^P(\d+)$/.exec(d.textContent);
    if (m && d.children.length === 0 && d.nextElementSibling) lanes[m[1]] = d.nextElementSibling.textContent; });
  return lanes; };
window.STATUS = () => [...document.querySelectorAll('.kafkabook-status')].map(s => s.textContent);
window.PROBE = () => ({kernel: KERNEL(), widgets: document.querySelectorAll('.jupyter-widgets').length,
  buttons: [...document.querySelectorAll('button.jupyter-button')].map(b => b.textContent.trim()),
  lanes: LANES(), status: STATUS(),
  dialog: (document.querySelector('.jp-Dialog') || {}).textContent || null,
  stderr: [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map(e => e.textContent.slice(-800))});
true
"""


@pytest.fixture
def topic(broker):
    """A unique topic name; the topic is deleted at the end (after the kernel that wrote to it is gone)."""
    name = f"lab-test.{uuid.uuid4().hex[:8]}"
    yield name
    delete_topics([name])


@pytest.fixture
def notebook(tmp_path, topic):
    """The reader's notebook, in the folder JupyterLab serves."""
    root = tmp_path / "notebooks"
    root.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "from kafkabook.topics import fresh_topic\nfrom kafkabook.widgets import RecordSender, PartitionPlacement",
        f"fresh_topic({topic!r}, 3)",
        f"sender = RecordSender({topic!r})\nsender",
        f"placement = PartitionPlacement({topic!r}, sender=sender)\nplacement")]
    nbformat.write(nb, root / NOTEBOOK)
    return root


@pytest.fixture
def lab(tmp_path, notebook):
    """`jupyter lab` on a free port: yields its base URL and token; shut down with its kernels afterwards."""
    port, token = free_port(), secrets.token_hex(16)
    state = tmp_path / "lab-state"
    # render every cell, not only those in view, so the DOM holds all the outputs; no news pop-up
    for name, value in (("notebook-extension/tracker", '{"windowingMode": "none"}'),
                        ("apputils-extension/notification", '{"fetchNews": "false"}')):
        settings = state / "settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(value)
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
               JUPYTER_RUNTIME_DIR=str(state / "runtime"))
    log = open(tmp_path / "jupyter.log", "wb")
    proc = subprocess.Popen(
        [str(VENV_BIN / "jupyter-lab"), "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebook}",
         "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={state / 'settings'}",
         f"--LabApp.workspaces_dir={state / 'workspaces'}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        assert proc.poll() is None, (tmp_path / "jupyter.log").read_text(errors="replace")[-3000:]
        return "started" in get_json(f"{base}/api/status?token={token}")
    try:
        wait_until(up, 60, "jupyter lab /api/status", reraise=(AssertionError,))
        yield base, token
    finally:
        stop(proc)
        log.close()


@pytest.fixture
def page(chromium, tmp_path, lab):
    """A Chromium tab under DevTools control; Chromium is ended afterwards."""
    profile = tmp_path / "chromium"
    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=ko-KR",
         "--window-size=1280,1400", "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port_file = profile / "DevToolsActivePort"
        port = wait_until(lambda: port_file.exists() and port_file.read_text().split()[0], 30, "DevToolsActivePort")
        targets = wait_until(lambda: get_json(f"http://127.0.0.1:{port}/json/list"), 30, "a Chromium tab")
        tools = DevTools(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        yield tools
        tools.ws.close()
    finally:
        stop(proc)
        shutil.rmtree(profile, ignore_errors=True)


def open_notebook(page, lab):
    """Open the notebook in JupyterLab and wait until its kernel is idle (accepting a kernel dialog if one shows)."""
    base, token = lab
    page.call("Emulation.setFocusEmulationEnabled", enabled=True)  # a headless tab has no focus of its own
    page.call("Page.navigate", url=f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    page.wait("window.jupyterapp !== undefined && document.readyState === 'complete'", "JupyterLab loaded", 60,
              probe="document.title")
    page.js(PAGE_HELPERS % {"notebook": NOTEBOOK})
    page.wait("(() => { const ok = document.querySelector('.jp-Dialog .jp-mod-accept'); if (ok) ok.click();"
              " return KERNEL() === 'idle'; })()", "the notebook's kernel idle", 90)


def type_into(page, label, text):
    """Focus the text field labelled `label` and type `text` as keyboard input."""
    page.js(f"FIELD({json.dumps(label)}).focus(), FIELD({json.dumps(label)}).select(), true")
    page.call("Input.insertText", text=text)
    assert page.js(f"FIELD({json.dumps(label)}).value") == text


def test_widgets_in_jupyterlab(broker, topic, page, lab):
    started = time.monotonic()
    expected = (murmur2(KEY.encode()) & 0x7FFFFFFF) % 3
    open_notebook(page, lab)

    page.js("jupyterapp.shell.activateById(NB().id), true")
    page.wait("jupyterapp.shell.currentWidget === NB()", "the notebook active", 10)
    page.js("jupyterapp.commands.execute('notebook:run-all-cells'), true")
    page.wait("BUTTON('보내기') && Object.keys(LANES()).length === 3 && KERNEL() === 'idle'"
              " && STATUS().some(s => s.includes('레코드 0개'))", "widgets rendered", 90)
    assert page.js("document.querySelectorAll('.jupyter-widgets').length") > 2
    assert all("(비어 있음)" in lane for lane in page.js("LANES()").values())

    # the reader types a key and a value; the kernel answers with the predicted partition
    type_into(page, "키", KEY)
    type_into(page, "값", VALUE)
    page.wait(f"STATUS().some(s => s.includes(\"예측: 키 '{KEY}'\") && s.includes('= 파티션 {expected}.'))",
              "the prediction for the typed key", 30)

    page.js("BUTTON('보내기').click(), true")
    page.wait(f"STATUS().some(s => s.includes('보냈습니다 → 파티션 {expected}, 오프셋 0'))"
              f" && (LANES()['{expected}'] || '').includes('{KEY}')", "the sent record in the placement", 30)
    lanes = page.js("LANES()")
    assert "#0" in lanes[str(expected)], lanes
    assert all("(비어 있음)" in text for p, text in lanes.items() if p != str(expected)), lanes

    records = read_all(topic)
    assert [(r.partition, r.offset, r.key, r.value) for r in records] == \
        [(expected, 0, KEY.encode(), VALUE.encode())]

    page.js("document.querySelector('.jupyter-widgets').scrollIntoView({block: 'start'}), true")
    shot = ROOT / "artifacts" / "lab-widgets.png"
    shot.parent.mkdir(exist_ok=True)
    shot.write_bytes(base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"]))
    assert shot.stat().st_size > 20_000
    print(f"\nJupyterLab: {KEY!r} → P{expected}, {time.monotonic() - started:.1f}s in the browser; {shot}")
