"""The built web app at ``/`` with SPA fallback.

Every GET of a path that no API route answers is the app: a file of the build when
there is one, else ``index.html`` (the app's router shows the page). Paths under the API
prefixes never are: they keep their JSON 404. Hashed build files (``assets/``) may be
cached for good; everything else, ``index.html`` first, is revalidated on every load so
a new release is seen at once.

The build comes from ``make up`` (``npm ci && npm run build`` in ``webapp/``, copied to
``api/web/dist`` so the Python package ships it) or from ``DANUBE_WEB_DIR``. Without it
the server still runs, and ``/`` says how to build the UI."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

PACKAGED = Path(__file__).parent / "dist"
API_PREFIXES = ("/api", "/graphql", "/webhooks", "/auth", "/health", "/metrics")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
BUILD_COMMAND = "make up  (or: cd webapp && npm ci && npm run build && cp -r dist ../api/web/dist)"


def is_api_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_PREFIXES)


class WebApp:
    """What ``/`` answers: the build in ``root``, or a page saying it was not built."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def built(self) -> bool:
        return (self.root / "index.html").is_file()

    def response(self, path: str) -> Response:
        if not self.built:
            return _not_built(self.root)
        found = self._file(path)
        if found is not None:
            hashed = found.parent == self.root / "assets"
            cache = IMMUTABLE if hashed else REVALIDATE
            return FileResponse(found, headers={"Cache-Control": cache})
        if path.startswith("/assets/"):  # an old build's file: HTML would break the page
            return Response(status_code=404, headers={"Cache-Control": REVALIDATE})
        return FileResponse(self.root / "index.html", headers={"Cache-Control": REVALIDATE})

    def _file(self, path: str) -> Path | None:
        relative = path.lstrip("/")
        if not relative:
            return None
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate


def serve_web_app(app: FastAPI, root: Path | None) -> WebApp:
    """Answer GETs no route matched with the web app; everything else as before."""
    web = WebApp(root or PACKAGED)
    if not web.built:
        log.warning(
            "the web UI is not built: / shows how to build it",
            extra={"web_dir": str(web.root), "build": BUILD_COMMAND},
        )

    async def not_found(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        path = request.url.path
        if request.method not in ("GET", "HEAD") or is_api_path(path):
            return await http_exception_handler(request, error)
        return web.response(path)

    app.add_exception_handler(404, not_found)
    return web


def _not_built(root: Path) -> HTMLResponse:
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Danube: the web UI is not built</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The web UI is not built</h1>
<p>Danube is running (the API answers at <code>/graphql</code> and <code>/api/v1</code>), but
there is no built web app in <code>{html.escape(str(root))}</code>.</p>
<p>Build it with <code>{html.escape(BUILD_COMMAND)}</code> (it needs Node.js 20 and npm),
or point <code>DANUBE_WEB_DIR</code> at a build, then reload this page.</p>
</body></html>
"""
    return HTMLResponse(page, status_code=503, headers={"Cache-Control": REVALIDATE})
