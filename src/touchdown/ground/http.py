"""What the ground server's handlers share (shell): application keys and JSON answers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from aiohttp import web

from touchdown.ground.ingest import Ingest

INGEST = web.AppKey("ingest", Ingest)
CLOCK = web.AppKey("clock", Callable[[], float])


def clean(x: Any) -> Any:
    """JSON-safe: NaN and infinities become None, recursively."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    return x


def dumps(data: Any) -> str:
    """Strict JSON of data (NaN and infinities as null)."""
    return json.dumps(clean(data), allow_nan=False)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status)


def http_error(cls: type[web.HTTPException], message: str) -> web.HTTPException:
    """An aiohttp exception to raise, its body ``{"error": message}``."""
    return cls(text=dumps({"error": message}), content_type="application/json")
