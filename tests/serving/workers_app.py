"""A minimal ASGI app for the worker-supervision tests: answers with its process id.

Its lifespan fails when ``CREDLINK_TEST_FAIL_STARTUP`` is set (a worker that cannot start).
"""

from __future__ import annotations

import os
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if os.environ.get("CREDLINK_TEST_FAIL_STARTUP"):
                    await send({"type": "lifespan.startup.failed", "message": "refused"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await receive()
    body = str(os.getpid()).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
