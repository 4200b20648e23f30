"""A paginated JSON API on loopback for the extract-http tests: auth, faults, a request log.

Pages hold `per_page` items under `data.items` and the next cursor under `meta.next`:
an opaque token (`?cursor=tok-N`) or, with `links=True`, a relative next URL. A request
without the expected credential header gets 401. `faults[page]` lists statuses to answer
that page with before the real answer (429 comes with `Retry-After: 1`, 403 is final).
Every request is logged with its arrival time, page and status.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


@dataclass
class Hit:
    at: float
    page: int
    status: int


@dataclass
class Api:
    items: list[Any]
    per_page: int
    header: str
    credential: str
    links: bool = False
    faults: dict[int, list[int]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pages(self) -> int:
        return -(-len(self.items) // self.per_page)

    def answer(self, path: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        query = parse_qs(urlsplit(path).query)
        token = (query.get("page") if self.links else query.get("cursor")) or ["tok-0"]
        page = int(token[0].removeprefix("tok-"))
        with self.lock:
            if headers.get(self.header) != self.credential:
                status, extra, body = 401, {}, b'{"error": "unauthorized"}'
            elif self.faults.get(page):
                status = self.faults[page].pop(0)
                extra = {"Retry-After": "1"} if status == 429 else {}
                body = b'{"error": "try later"}'
            else:
                status, extra, body = 200, {}, self._page(page)
            self.hits.append(Hit(time.monotonic(), page, status))
        return status, extra, body

    def _page(self, page: int) -> bytes:
        chunk = self.items[page * self.per_page : (page + 1) * self.per_page]
        following: str | None = None
        if page + 1 < self.pages:
            following = f"/v1/items?page=tok-{page + 1}" if self.links else f"tok-{page + 1}"
        return orjson.dumps({"data": {"items": chunk}, "meta": {"next": following}})

    def pages_fetched(self) -> list[int]:
        """Pages answered with 200, in request order."""
        return [hit.page for hit in self.hits if hit.status == 200]


@contextmanager
def serve(api: Api) -> Iterator[Api]:
    """Serve `api` on 127.0.0.1 (a free port) in a thread; `api.url` is its first page."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, extra, body = api.answer(self.path, self.headers)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}/v1/items"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
