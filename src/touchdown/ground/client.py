"""A client of the ground server's API (shell), as ``touchdown command`` uses it: sign in, read,
act with the session's CSRF token. Standard library only (urllib, a cookie jar)."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from typing import Any

from touchdown.errors import GroundApiError, GroundLinkError, InputError

TIMEOUT_S = 10.0  # s a request may take


class GroundClient:
    """One signed-in session on a ground server at ``url`` (http://HOST:PORT/)."""

    def __init__(self, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"--server {url!r}: give the server's address as printed at its "
                             "start, e.g. http://127.0.0.1:8080/")
        self.url = url.rstrip("/")
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._token = ""

    def sign_in(self, name: str, password: str) -> dict[str, Any]:
        """Sign in as ``name``; the session (user, role). GroundApiError 401 when refused."""
        self._token = self.get("/api/session")["csrf_token"]
        session = self.post("/api/login", {"name": name, "password": password})
        self._token = session["csrf_token"]
        return session

    def get(self, path: str) -> Any:
        return self._call(urllib.request.Request(self.url + path))

    def download(self, path: str) -> bytes:
        """The raw body of GET ``path`` (an export)."""
        return self._call(urllib.request.Request(self.url + path), raw=True)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call(urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "X-CSRF-Token": self._token}))

    def _call(self, request: urllib.request.Request, raw: bool = False) -> Any:
        try:
            with self._opener.open(request, timeout=TIMEOUT_S) as r:
                body = r.read()
                return body if raw else json.loads(body or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except (ValueError, AttributeError):
                message = str(exc.reason)
            raise GroundApiError(exc.code, f"{request.get_method()} {request.full_url}: "
                           f"{exc.code} {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GroundLinkError(f"cannot reach the ground server at {self.url} ({reason}); "
                                  "give --server the URL it printed at its start") from None
