"""The dashboard's routes: the page at ``/``, its files under ``/web/``, the REST API for the
rest, and the demo feed (``/demo/feed``) when there is one.

The page and its files (HTML, JavaScript, the vendored ``dagre`` and ``uPlot`` with their
licences) are package data of ``strom.web`` (``static/``); nothing is fetched from elsewhere
at run time. Everything under ``/web/`` is public; every API path keeps the REST API's token.
"""
from __future__ import annotations

import importlib.resources
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from strom.cluster import rest
from strom.cluster.dispatcher import Dispatcher

STATIC = ("strom.web", "static")
"""Where the page's files are: ``strom/web/static/`` (package data)."""

FEED_PATH = "/demo/feed"
"""The demo feed's path (JSON from :meth:`Feed.snapshot`)."""


class Feed(Protocol):
    """What the dashboard shows of an application besides its job: ``strom demo``'s alerts
    and metrics (``strom.demo.feed.DemoFeed``)."""

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """The outputs' counts and the records with a sequence number above ``since``."""


def _static_files() -> StaticFiles:
    return StaticFiles(packages=[STATIC])


async def _index(request: Request) -> Response:
    page = importlib.resources.files(STATIC[0]).joinpath(STATIC[1], "index.html")
    return FileResponse(str(page), headers={"Cache-Control": "no-cache"})


def _feed_route(feed: Feed) -> Route:
    async def demo_feed(request: Request) -> Response:
        raw = request.query_params.get("since", "0")
        if not raw.isdigit():
            raise rest.BadRequest(f"since must be a record number (0 or more), got {raw!r}")
        return JSONResponse(feed.snapshot(int(raw)))

    return Route(FEED_PATH, demo_feed, methods=["GET"])


def create_app(dispatcher: Dispatcher, token: str | None = None,
               feed: Feed | None = None) -> Starlette:
    """The dashboard and the REST API over ``dispatcher`` on one app.

    Args:
        dispatcher: the jobs to show (the JobManager's, or this process's with ``listen()``).
        token: the bearer token the API requires (None: none); the page asks for it.
        feed: the demo's alerts and metrics, served at ``/demo/feed`` (None: no demo view).
    """
    extra = [_feed_route(feed)] if feed is not None else []
    api = rest.create_app(dispatcher, token, extra_routes=extra)
    app = Starlette(routes=[Route("/", _index, methods=["GET"]),
                            Mount("/web", _static_files(), name="web"),
                            Mount("", api)])
    app.state.dispatcher = dispatcher
    return app
