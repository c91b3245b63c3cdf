"""Shared set-up for the dwollav2 2.3.0 suite: the client pointed at openiav, the flow state, the
webhook receiver and the browser helper (compat/dwolla/browser/complete_widget.mjs, run as a Node
subprocess so that the three suites share one implementation of the end user's part)."""

import hashlib
import hmac
import json
import os
import secrets
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dwollav2
import pytest

HERE = Path(__file__).resolve().parent
DWOLLA_DIR = HERE.parent.parent
BROWSER_HELPER = DWOLLA_DIR / "browser" / "complete_widget.mjs"


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must be set (run the suites through compat/dwolla/run.sh)")
    return value


BASE = _env("DWOLLA_BASE_URL").rstrip("/")
MX_BASE = _env("MX_BASE_URL").rstrip("/")
KEY = _env("DWOLLA_KEY")
SECRET = _env("DWOLLA_SECRET")
SCREENSHOT_ROOT = Path(os.environ.get("DWOLLA_SCREENSHOT_DIR") or DWOLLA_DIR / "artifacts" / "screenshots")
WEBHOOK_WAIT_S = int(os.environ.get("DWOLLA_WEBHOOK_WAIT_MS", "15000")) / 1000
DWOLLA_SANDBOX = "https://api-sandbox.dwolla.com"
FUNDING_SOURCE_TOPICS = ("customer_funding_source_added", "customer_funding_source_verified")


class LocalClient(dwollav2.Client):
    """dwollav2.Client with one more environment, `local`, that points at openiav (dwolla-wire.md §15)."""

    ENVIRONMENTS = dict(
        dwollav2.Client.ENVIRONMENTS,
        local={"auth_url": BASE + "/auth", "token_url": BASE + "/token", "api_url": BASE},
    )


@pytest.fixture(scope="session")
def client():
    return LocalClient(key=KEY, secret=SECRET, environment="local")


class Flow:
    """The flow's state. need() fails (does not skip) a step whose prerequisite is missing."""

    def __init__(self):
        self.values = {}

    def set(self, key, value):
        self.values[key] = value
        return value

    def need(self, *keys):
        missing = [k for k in keys if self.values.get(k) is None]
        if missing:
            pytest.fail(f"blocked: an earlier step did not produce {', '.join(missing)}", pytrace=False)
        return self.values[keys[0]] if len(keys) == 1 else tuple(self.values[k] for k in keys)


def _delete_subscription(f):
    """Deletes the webhook subscription a flow made: the server fans every event out to each one."""
    token, subscription = f.values.get("token"), f.values.get("subscription")
    if token is not None and subscription is not None:
        try:
            token.delete(subscription)
        except dwollav2.Error:
            pass


@pytest.fixture(scope="session")
def flow():
    f = Flow()
    yield f
    _delete_subscription(f)


@pytest.fixture(scope="module")
def state(client):
    """One module's flow, starting from an application token."""
    f = Flow()
    f.set("token", client.Auth.client())
    yield f
    _delete_subscription(f)


# --- webhook receiver ------------------------------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1:<free port> in a thread; keeps every request with its raw body."""

    def __init__(self):
        self.deliveries = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.deliveries.append(
                        {"method": "POST", "path": self.path, "headers": self.headers, "body": body}
                    )
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self):
        with self.lock:
            return list(self.deliveries)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def hooks():
    """One module's webhook receiver."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="session")
def webhook_secret():
    return secrets.token_hex(16)  # 32 characters


def _parse(d):
    try:
        return json.loads(d["body"].decode("utf-8"))
    except ValueError:
        return None


def wait_for_deliveries(receiver, resource_id, topics=FUNDING_SOURCE_TOPICS):
    """Waits up to WEBHOOK_WAIT_S for a delivery of each topic about resource_id."""
    deadline = time.monotonic() + WEBHOOK_WAIT_S
    while True:
        found = []
        for topic in topics:
            match = next(
                (d for d in receiver.snapshot() if (_parse(d) or {}).get("topic") == topic and (_parse(d) or {}).get("resourceId") == resource_id),
                None,
            )
            found.append(match)
        if all(found):
            return found
        if time.monotonic() > deadline:
            seen = [f"{(_parse(d) or {}).get('topic')}({(_parse(d) or {}).get('resourceId')})" for d in receiver.snapshot()]
            missing = [t for t, f in zip(topics, found) if f is None]
            pytest.fail(
                f"within {WEBHOOK_WAIT_S:g} s the receiver got no {' / '.join(missing)} delivery for funding source "
                f"{resource_id}; it got {len(seen)} request(s): {seen}",
                pytrace=False,
            )
        time.sleep(0.2)


def assert_signed_delivery(d, secret):
    """X-Request-Signature-SHA-256 = hex HMAC-SHA256(secret, raw body); X-Dwolla-Topic = topic; compact JSON."""
    raw = d["body"]
    assert d["path"] == "/hook"
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    assert d["headers"].get("X-Request-Signature-SHA-256") == expected, f"signature of {raw!r}"
    body = json.loads(raw.decode("utf-8"))
    assert d["headers"].get("X-Dwolla-Topic") == body.get("topic")
    assert json.dumps(body, separators=(",", ":"), ensure_ascii=False) == raw.decode("utf-8"), "compact JSON"
    for field in ("id", "resourceId", "topic", "created"):
        assert isinstance(body.get(field), str) and body[field], f"{field} in {raw!r}"
    href = ((body.get("_links") or {}).get("resource") or {}).get("href")
    assert isinstance(href, str) and href.endswith("/" + body["resourceId"]), f"_links.resource.href in {raw!r}"
    return body


# --- the end user's part, in Chromium ----------------------------------------------------------------


def complete_widget(url, screenshot_dir, update_credentials=False, account=None):
    """Runs `node compat/dwolla/browser/complete_widget.mjs <url> --screenshots <dir>` (with
    `--update-credentials [--account LABEL]` for a re-authentication session); returns its JSON."""
    extra = ["--update-credentials"] if update_credentials else []
    if update_credentials and account:
        extra += ["--account", account]
    proc = subprocess.run(
        ["node", str(BROWSER_HELPER), url, "--screenshots", str(screenshot_dir), *extra],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=str(DWOLLA_DIR),
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else {}
    except ValueError:
        result = {}
    if proc.returncode != 0 or not result.get("ok"):
        pytest.fail(
            f"browser helper exited {proc.returncode}: {result.get('error') or proc.stdout[-2000:]}\n{proc.stderr[-2000:]}",
            pytrace=False,
        )
    return result
