"""The reports folder over HTTP (``arrears server``), so the run's report link opens in an ops
browser that is not on this machine's file system. Reports hold aggregates only (no borrower's
personal data); letters and print batches are not served."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


def serve_reports(directory: Path, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``directory`` read-only on ``host:port`` in a daemon thread; ``shutdown()`` stops it."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_Quiet, directory=str(directory))
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name="reports-http", daemon=True).start()
    return server
