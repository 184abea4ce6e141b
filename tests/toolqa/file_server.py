"""A loopback HTTP file server for the download tests.

Stands in for the two hosts `seer-env data toolqa download` fetches from: Google Drive's download
endpoint (drive.usercontent.google.com) and raw.githubusercontent.com. It answers as they do over
HTTP/1.1: `Range: bytes=N-` gets 206 with `Content-Range: bytes N-M/TOTAL`, a range past the end
gets 416 with `Content-Range: bytes */TOTAL`, a plain GET gets 200 with `Content-Length`.

Test knobs per route: `ranges=False` ignores Range (200 and the whole file, as some servers do);
`drop_after=[k, ...]` makes the next requests send their headers (promising the full length), then
only k bytes, then close the connection. `drive_page=True` behaves like Drive for a large file: a
request without `confirm` and `uuid` gets the HTML "can't scan this file for viruses" page whose
`<form id="download-form">` carries the hidden fields (id, export, confirm, uuid) of the real file.
Binds 127.0.0.1 only; use it as a context manager so the server thread stops.
"""

from __future__ import annotations

import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DRIVE_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>
<body><div class="uc-main"><p class="uc-warning-subcaption">Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="{action}" method="get">
<input type="submit" id="uc-download-link" class="goog-inline-block jfk-button" value="Download anyway"/>
<input type="hidden" name="id" value="{file_id}"><input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="{uuid}">
</form></div></body></html>"""

DRIVE_QUOTA_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head>
<body><div class="uc-main"><p class="uc-error-caption">Sorry, you can't view or download this file at this time.</p>
<p class="uc-error-subcaption">Too many users have viewed or downloaded this file recently. Please try
accessing the file again later.</p></div></body></html>"""

DRIVE_UUID = "0b6f3c2e-test-uuid"


@dataclass
class Route:
    body: bytes
    content_type: str = "application/octet-stream"
    ranges: bool = True
    drop_after: list[int] = field(default_factory=list)
    drive_page: bool = False
    status: int = 200


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    range: str | None
    status: int
    sent: int


class FileServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                server._serve(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def requests_for(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(split.query))
        rng = h.headers.get("Range")
        route = self.routes.get(split.path)

        def record(status: int, sent: int) -> None:
            with self._lock:
                self.seen.append(Seen(split.path, query, rng, status, sent))

        if route is None or route.status != 200:
            status = 404 if route is None else route.status
            h.send_response(status)
            h.send_header("Content-Length", "0")
            h.send_header("Connection", "close")
            h.end_headers()
            record(status, 0)
            return
        if route.drive_page and not (query.get("confirm") and query.get("uuid") == DRIVE_UUID):
            page = DRIVE_PAGE.format(action=split.path, file_id=query.get("id", ""), uuid=DRIVE_UUID).encode()
            self._send(h, 200, page, "text/html; charset=utf-8", {})
            record(200, len(page))
            return

        body, total = route.body, len(route.body)
        status, start, headers = 200, 0, {}
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if route.ranges and m:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else total - 1, total - 1)
            if start >= total:
                self._send(h, 416, b"", "text/plain", {"Content-Range": f"bytes */{total}"})
                record(416, 0)
                return
            status, body = 206, body[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        with self._lock:
            drop = route.drop_after.pop(0) if route.drop_after else None
        if drop is None:
            self._send(h, status, body, route.content_type, headers)
            record(status, len(body))
            return
        # promise the whole body, send part of it, then cut the connection
        h.send_response(status)
        h.send_header("Content-Type", route.content_type)
        h.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body[:drop])
        h.wfile.flush()
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        record(status, min(drop, len(body)))

    @staticmethod
    def _send(h, status: int, body: bytes, ctype: str, headers: dict[str, str]) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes")
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
