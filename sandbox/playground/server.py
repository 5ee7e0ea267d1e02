"""The playground's small web server: the page, its state as HTML sections, and actions."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandbox.playground.page import page, state_json
from sandbox.playground.world import Playground

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {
    "playground.js": "text/javascript; charset=utf-8",
    "playground.css": "text/css; charset=utf-8",
}
MAX_BODY = 256 * 1024
# Belt and braces: even if some text escaped escaping, no inline script or handler would run.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:"
        "; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class PlaygroundServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, world: Playground, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.world = world

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(
            target=self.serve_forever, args=(0.1,), name="playground", daemon=True
        )
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("playground: " + format, *args)

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        path = urlsplit(self.path).path
        world = self.server.world
        if path == "/":
            self._send(200, page(world).encode(), "text/html; charset=utf-8")
        elif path == "/api/state":
            self._json(200, state_json(world))
        elif path.startswith("/static/") and path[len("/static/") :] in STATIC_TYPES:
            name = path[len("/static/") :]
            self._send(200, (STATIC / name).read_bytes(), STATIC_TYPES[name])
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        if not self._host_ok():
            return
        path = urlsplit(self.path).path
        # Only the page's own fetch sends JSON; a form on another site cannot (no CORS here).
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            self._json(415, {"error": "send JSON"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, {"error": "too large"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": "not JSON"})
            return
        if not isinstance(body, dict):
            self._json(400, {"error": "send an object"})
            return
        world = self.server.world
        if path == "/api/jump":
            notice = world.jump()
            self._json(200, state_json(world, notice, "clock"))
        elif path == "/api/act":
            try:
                person = world.person(str(body.get("person") or ""))
            except KeyError:
                self._json(400, {"error": "no such person"})
                return
            notice = world.act(person.user_id, body)
            self._json(200, state_json(world, notice, person.key))
        else:
            self._json(404, {"error": "not found"})

    def _host_ok(self) -> bool:
        # Loopback only, and only under our own name: a page elsewhere that rebinds its
        # DNS name to 127.0.0.1 still sends its own Host header.
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        if host in ("127.0.0.1", "localhost", "::1"):
            return True
        self._json(421, {"error": "wrong host"})
        return False

    def _json(self, status: int, body: dict) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
