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


LIMIT_DEFAULT = 1_000  # rows a list endpoint answers with when no limit is given
LIMIT_MAX = 10_000  # rows a list endpoint answers with at most (follow ``next`` for more)


def query_int(request: web.Request, key: str, default: int | None, lo: int, hi: int) -> int | None:
    """A whole-number query parameter within lo..hi (``default`` when absent);
    HTTPBadRequest naming it and the range otherwise."""
    text = request.query.get(key)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or not lo <= int(text) <= hi:
        raise http_error(web.HTTPBadRequest, f"{key}={text[:40]!r} must be a whole number from "
                         f"{lo} to {hi}")
    return int(text)


def query_limit(request: web.Request) -> int:
    """The ``limit`` of a list endpoint: LIMIT_DEFAULT when absent, 1..LIMIT_MAX."""
    return int(query_int(request, "limit", LIMIT_DEFAULT, 1, LIMIT_MAX))


def path_id(request: web.Request, key: str = "id") -> int:
    """A whole-number path segment (an alarm id); HTTPBadRequest when it is not one."""
    text = request.match_info[key]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise http_error(web.HTTPBadRequest, f"{key} {text[:40]!r} must be a whole number "
                         "(GET /api/alarms lists the alarms)")
    return int(text)
