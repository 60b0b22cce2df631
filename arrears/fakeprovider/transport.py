"""What the fake does to a connection to play a network fault."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response


def drop_connection(request: Request) -> Response:
    """Abort the TCP connection without an answer (uvicorn's request cycle owns the transport)."""
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("cannot reach the connection to drop it")
    transport.abort()
    return Response(status_code=499)  # never reaches the client
