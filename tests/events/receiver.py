"""A webhook receiver for the tests: a small HTTP server on 127.0.0.1 in a
thread, as an agency would run one.

Every POST is checked with the `standardwebhooks` library
(`Webhook(secret).verify(body, headers)`) against the secret of the path it
was sent to; a delivery whose signature does not verify is answered 400 and
kept in `rejected`, so a test that expects none can say so. Verified requests
are kept in `attempts` (every one, whatever was answered) and, when answered
2xx, in `received`.

A test scripts failures per path: `fail(path, times=2)` answers 500 twice,
`respond(path, 410)` answers Gone once, `respond(path, 429, retry_after="120")`
asks the sender to wait. Unscripted requests get 200.
"""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


GATE_LIMIT = 30  # seconds a held request waits for release()


@dataclass(frozen=True)
class Request:
    path: str
    webhook_id: str
    event_id: str
    status: int  # what the receiver answered
    body: dict
    raw: bytes
    headers: dict = field(repr=False)


class Receiver:
    def __init__(self, bind: str = "127.0.0.1"):
        """`bind`: the address to listen on; 0.0.0.0 where containers must
        reach it (tests/deploy/test_compose_smoke.py)."""
        self.secrets: dict[str, str] = {}
        self.attempts: list[Request] = []
        self.received: list[Request] = []
        self.rejected: list[tuple[str, str]] = []  # (path, why)
        self.delay = 0.0  # seconds to take before answering, to keep a delivery in flight
        self.gate = threading.Event()  # held() closes it: answers wait until release()
        self.gate.set()
        self.arrived = 0  # requests that reached the handler, answered or not yet
        self._script: dict[str, list[tuple[int, dict]]] = {}
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer((bind, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-receiver", daemon=True
        )

    # --- life cycle -------------------------------------------------------------

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    # --- scripting --------------------------------------------------------------

    def respond(self, path: str, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        """Answer the next `times` deliveries to `path` with `status`."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self._changed:
            self._script.setdefault(path, []).extend([(status, headers)] * times)

    def fail(self, path: str, *, times: int = 1, status: int = 500) -> None:
        self.respond(path, status, times=times)

    def hold(self) -> None:
        """Answer nothing until release() (or GATE_LIMIT seconds, so that a
        test whose sender waits for the answer fails instead of hanging)."""
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def recover(self, path: str) -> None:
        """Forget any scripted answers left for `path`: answer 200 from now on."""
        with self._changed:
            self._script.pop(path, None)

    # --- what arrived -----------------------------------------------------------

    def event_ids(self, path: str | None = None) -> list[str]:
        """Event ids of the deliveries answered 2xx, in arrival order (with repeats)."""
        with self._changed:
            return [r.event_id for r in self.received if path is None or r.path == path]

    def attempts_for(self, event_id: str) -> list[Request]:
        with self._changed:
            return [r for r in self.attempts if r.event_id == event_id]

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        """Wait until predicate(self) holds (checked whenever a request arrives)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    # --- the server -------------------------------------------------------------

    def _answer(self, path: str, raw: bytes, headers: dict) -> tuple[int, dict]:
        secret = self.secrets.get(path)
        if secret is None:
            return self._reject(path, "no endpoint registered for this path")
        try:
            body = Webhook(secret).verify(raw, headers)
        except (WebhookVerificationError, ValueError) as exc:
            return self._reject(path, f"signature: {exc}")
        with self._changed:
            script = self._script.get(path)
            status, extra = script.pop(0) if script else (200, {})
        request = Request(path, headers.get("webhook-id", ""), body.get("id", ""), status, body, raw, headers)
        with self._changed:
            self.attempts.append(request)
            if 200 <= status < 300:
                self.received.append(request)
            self._changed.notify_all()
        return status, extra

    def _reject(self, path: str, why: str) -> tuple[int, dict]:
        with self._changed:
            self.rejected.append((path, why))
            self._changed.notify_all()
        return 400, {}

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._changed:
                    receiver.arrived += 1
                    receiver._changed.notify_all()
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                receiver.gate.wait(GATE_LIMIT)
                status, extra = receiver._answer(self.path, raw, headers)
                reply = json.dumps({"status": status}).encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format, *args):  # keep the test output quiet
                pass

        return Handler
