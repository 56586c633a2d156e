"""A local SMS provider: a real HTTP server speaking the API notification's SMS channel
uses (POST JSON {phone, sign_name, template_id, content, out_id}, answered
{"code": "OK", "message_id": ...}), for tests and a local stack.

It can be told to misbehave, from Python or over HTTP (``POST /control`` with JSON):
``{"mode": "ok"}``, ``"fail"`` (HTTP 503), ``"refuse"`` (200 with a permanent error
code), ``"timeout"`` (hold the request ``delay`` seconds, default 30), ``"slow"``
(answer OK after ``delay`` seconds); with ``fail_every`` n every n-th send answers 503 (a
flaky provider). ``GET /messages`` lists what it accepted.
A repeated ``out_id`` is accepted again but not counted as a second message, as real
providers drop a repeated client reference.

Status reports: with a ``receipt_url`` (and its ``receipt_secret``), each accepted message
is reported ``receipt_delay`` seconds later, signed as notification's receipt endpoint
expects; ``receipt_failure`` (0-1, or ``{"receipt_failure": 0.5}`` over /control) is the
share reported ``UNDELIVERED`` (every n-th, so a run is repeatable). A refused report (409:
notification is still recording the send) is tried again a few times.

    python -m liandiao.devtools.sms_simulator --port 18080 --api-key dev
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class SimulatorState:
    api_key: str
    mode: str = "ok"
    delay: float = 30.0
    messages: list[dict] = field(default_factory=list)     # accepted, one per out_id
    requests: int = 0                                      # every POST to /send, any outcome
    lock: threading.Lock = field(default_factory=threading.Lock)
    receipt_url: str = ""
    receipt_secret: str = ""
    receipt_delay: float = 0.5
    receipt_failure: float = 0.0
    receipts: dict[str, str] = field(default_factory=dict)   # out_id -> status reported (and answered 200)
    fail_every: int = 0          # every n-th send answers 503 (a flaky provider: retries to see)


def _report(state: SimulatorState, out_id: str, status: str) -> None:
    """POSTs one signed status report, trying again while notification answers "not yet"."""
    body = json.dumps({"receipts": [{"out_id": out_id, "status": status,
                                     "reported_at": datetime.now(UTC).isoformat()}]}).encode()
    for attempt in range(8):
        stamp = str(int(time.time()))
        signature = "v1=" + hmac.new(state.receipt_secret.encode(), stamp.encode() + b"." + body,
                                     hashlib.sha256).hexdigest()
        request = urllib.request.Request(state.receipt_url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Sms-Timestamp": stamp, "X-Sms-Signature": signature})
        try:
            with urllib.request.urlopen(request, timeout=5):
                with state.lock:
                    state.receipts[out_id] = status
                return
        except (urllib.error.URLError, OSError):
            time.sleep(min(0.2 * 2 ** attempt, 5.0))


def _schedule_receipt(state: SimulatorState, out_id: str, index: int) -> None:
    with state.lock:
        url, delay, failure = state.receipt_url, state.receipt_delay, state.receipt_failure
    if not url:
        return
    # Every n-th message is undelivered, n from the share: repeatable, unlike a random draw.
    failed = failure > 0 and (failure >= 1 or index % max(round(1 / failure), 1) == 0)
    timer = threading.Timer(delay, _report, (state, out_id, "UNDELIVERED" if failed else "DELIVERED"))
    timer.daemon = True
    timer.start()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args) -> None:   # quiet: tests read state, not logs
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the client gave up waiting (the "timeout" mode does that on purpose)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/messages":
            with state.lock:
                self._reply(200, {"messages": list(state.messages), "requests": state.requests})
        else:
            self._reply(404, {"code": "NOT_FOUND"})

    def do_POST(self) -> None:
        state = self.server.state
        body = self._body()
        if self.path == "/control":
            with state.lock:
                state.mode = body.get("mode", state.mode)
                state.delay = float(body.get("delay", state.delay))
                state.receipt_failure = float(body.get("receipt_failure", state.receipt_failure))
                state.receipt_delay = float(body.get("receipt_delay", state.receipt_delay))
            self._reply(200, {"mode": state.mode})
            return
        if self.path != "/send":
            self._reply(404, {"code": "NOT_FOUND"})
            return
        with state.lock:
            state.requests += 1
            mode, delay = state.mode, state.delay
            if state.fail_every and state.requests % state.fail_every == 0:
                mode = "fail"
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self._reply(401, {"code": "UNAUTHORIZED"})
            return
        if mode in ("timeout", "slow"):
            time.sleep(delay)
        if mode == "fail":
            self._reply(503, {"code": "SERVICE_UNAVAILABLE"})
            return
        if mode == "refuse":
            self._reply(200, {"code": "INVALID_NUMBER"})
            return
        if not body.get("phone") or not body.get("content"):
            self._reply(400, {"code": "MISSING_PARAMETER"})
            return
        with state.lock:
            fresh = not any(m["out_id"] == body.get("out_id") for m in state.messages)
            if fresh:
                state.messages.append(body)
            index = len(state.messages)
        self._reply(200, {"code": "OK", "message_id": body.get("out_id", "")})
        if fresh and body.get("out_id"):
            _schedule_receipt(state, str(body["out_id"]), index)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: SimulatorState


class SmsSimulator:
    """Runs the server on a thread: ``with SmsSimulator() as sim: sim.url ...``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = "dev-key", *,
                 receipt_url: str = "", receipt_secret: str = "", receipt_delay: float = 0.5,
                 receipt_failure: float = 0.0):
        self.server = _Server((host, port), _Handler)
        self.server.state = SimulatorState(api_key, receipt_url=receipt_url, receipt_secret=receipt_secret,
                                           receipt_delay=receipt_delay, receipt_failure=receipt_failure)
        self.thread = threading.Thread(target=self.server.serve_forever, name="sms-simulator", daemon=True)

    @property
    def state(self) -> SimulatorState:
        return self.server.state

    @property
    def url(self) -> str:
        host, port = str(self.server.server_address[0]), self.server.server_address[1]
        return f"http://{host}:{port}/send"

    def set(self, mode: str, delay: float | None = None) -> None:
        with self.state.lock:
            self.state.mode = mode
            if delay is not None:
                self.state.delay = delay

    def __enter__(self) -> SmsSimulator:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--api-key", default="dev-key")
    parser.add_argument("--receipt-url", default="", help="notification's receipt endpoint (…/sms/receipts)")
    parser.add_argument("--receipt-secret", default="")
    parser.add_argument("--receipt-delay", type=float, default=0.5)
    parser.add_argument("--receipt-failure", type=float, default=0.0, help="share reported UNDELIVERED")
    args = parser.parse_args()
    sim = SmsSimulator(args.host, args.port, args.api_key, receipt_url=args.receipt_url,
                       receipt_secret=args.receipt_secret, receipt_delay=args.receipt_delay,
                       receipt_failure=args.receipt_failure)
    print(f"SMS simulator on {sim.url} (POST /control to make it fail)", flush=True)
    sim.server.serve_forever()


if __name__ == "__main__":
    main()
