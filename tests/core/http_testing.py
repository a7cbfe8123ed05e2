"""A file server on loopback for the tests of imagery read over HTTP (``/vsicurl/``).

It answers HEAD and GET with single byte ranges (206 Partial Content) as object stores do, counts
the bytes it sends of each file, and can be told to break after some number of requests (answer
500, or close the connection without an answer), so that a test sees what GDAL really fetches and
what a run does when the server fails.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeServer:
    """Serves the files of ``folder`` at ``http://127.0.0.1:PORT/NAME`` from a thread of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.served: Counter[str] = Counter()  #: body bytes sent, by file name
        self.requests = 0
        self.log: list[tuple[str, str, str | None, int]] = []  #: method, file, Range, status of each request
        self.fail_after: int | None = None  #: requests answered before failing, None: never fail
        self.failure = "500"  #: "500", or "close" to drop the connection unanswered
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        """The file's URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/{name}"

    def vsicurl(self, name: str) -> str:
        """The file's name to GDAL."""
        return f"/vsicurl/{self.url(name)}"

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _count(self) -> bool:
        """Count a request; True when it is to fail."""
        with self._lock:
            self.requests += 1
            return self.fail_after is not None and self.requests > self.fail_after

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as GDAL's curl expects

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                if server._count():
                    server.log.append((self.command, self.path, self.headers.get("Range"), 0))
                    if server.failure == "close":
                        self.close_connection = True
                        return
                    self._status(500)
                    return
                name = self.path.lstrip("/").split("?")[0]
                path = server.folder / name
                if "/" in name or not path.is_file():
                    self._status(404)
                    return
                data = path.read_bytes()
                start, end, status = 0, len(data) - 1, 200
                if asked := self.headers.get("Range"):
                    match = _RANGE.match(asked.strip())
                    if match is None or (match[1] == "" and match[2] == ""):
                        self._status(416)
                        return
                    if match[1] == "":  # the last N bytes
                        start = max(0, len(data) - int(match[2]))
                    else:
                        start, end = int(match[1]), min(end, int(match[2] or end))
                    if start >= len(data):
                        self._status(416)
                        return
                    status = 206
                server.log.append((self.command, self.path, self.headers.get("Range"), status))
                self.send_response(status)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "image/tiff")
                self.send_header("Content-Length", str(end - start + 1))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                self.end_headers()
                if body:
                    self.wfile.write(data[start : end + 1])
                    with server._lock:
                        server.served[name] += end - start + 1

            def _status(self, code: int) -> None:
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler
