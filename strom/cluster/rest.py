"""The JobManager's REST API (Starlette), shaped like Flink's: same paths, JSON field names and
error bodies (``{"errors": ["..."]}`` with 400 / 401 / 404 / 405 / 409 status codes).

Routes (described at ``/openapi.json``, ``strom.cluster.openapi``)::

    GET   /config  /overview  /jobs  /jobs/overview  /jobmanager/config
    GET   /taskmanagers  /taskmanagers/:tmid  /taskmanagers/:tmid/metrics
    GET   /jobs/:jobid  /jobs/:jobid/plan  /jobs/:jobid/config  /jobs/:jobid/checkpoints
    GET   /jobs/:jobid/checkpoints/config  /jobs/:jobid/exceptions
    GET   /metrics        running jobs' metrics, Prometheus text format (strom.cluster.prometheus)
    GET   /jobs/:jobid/metrics  /jobs/:jobid/vertices/:vertexid  (+ /metrics,
          /subtasks/metrics, /backpressure, /watermarks)
    PATCH /jobs/:jobid?mode=cancel                    cancel the job (202)
    POST  /jobs/:jobid/savepoints {"target-directory", "cancel-job"}  -> {"request-id"} (202)
    GET   /jobs/:jobid/savepoints/:triggerid          the savepoint's status and location
    POST  /jobs/:jobid/stop {"targetDirectory", "drain"}  stop with a savepoint -> {"request-id"}
    POST  /jobs                                       submit a cloudpickled job (strom run -d)

``POST /jobs`` runs the code it is sent: it is for ``strom run -d`` and other trusted clients
only. The server binds to 127.0.0.1 unless ``rest.bind-address`` says otherwise; with a token
(``rest.token`` or ``STROM_REST_TOKEN``) every request needs ``Authorization: Bearer <token>``.

Example:
    >>> app = create_app(Dispatcher())  # doctest: +SKIP
    >>> serve(app, port=8081)           # doctest: +SKIP
"""
from __future__ import annotations

import hmac
import json
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from strom.cluster import views
from strom.cluster.client import DEFAULT_PORT, TOKEN_ENV
from strom.cluster.dispatcher import Dispatcher, JobRecord
from strom.cluster.openapi import openapi_schema
from strom.cluster.prometheus import registry_for
from strom.cluster.submission import CONTENT_TYPE
from strom.errors import ClusterError, JobNotFoundError

DEFAULT_BIND_ADDRESS = "127.0.0.1"


class BadRequest(ClusterError):
    """A request the API cannot take (malformed body, bad parameter): 400."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg, status=400)


def error(status: int, *messages: str) -> JSONResponse:
    """A Flink-style error response: ``{"errors": [...]}``."""
    return JSONResponse({"errors": list(messages)}, status_code=status)


def rest_token(config: dict[str, str] | None = None) -> str | None:
    """The bearer token the API requires: ``rest.token``, else ``$STROM_REST_TOKEN``, else
    None (no authentication)."""
    token = (config or {}).get("rest.token") or os.environ.get(TOKEN_ENV)
    return token or None


# -- handlers ---------------------------------------------------------------------------------

def _dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher


def _job(request: Request) -> JobRecord:
    return _dispatcher(request).job(request.path_params["jobid"])


def _vertex(request: Request) -> tuple[JobRecord, Any]:
    record = _job(request)
    vid = request.path_params["vertexid"]
    vertex = views.find_vertex(record, vid)
    if vertex is None:
        raise JobNotFoundError(f"Vertex {vid} not found in job {record.job_id}; hint: "
                               f"GET /jobs/{record.job_id} lists its vertices' ids")
    return record, vertex


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"Request did not match expected format: the body is not JSON ({exc})"
                         ) from None
    if not isinstance(body, dict):
        raise BadRequest("Request did not match expected format: expected a JSON object, got "
                         f"{type(body).__name__}")
    return body


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = body.get(name, default)
    if value is not None and not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise BadRequest(f"Request did not match expected format: field {name!r} must be "
                         f"{expected}, got {json.dumps(value)}")
    return value


async def config(request: Request) -> Response:
    return JSONResponse(views.config_view(_dispatcher(request)))


async def overview(request: Request) -> Response:
    return JSONResponse(views.overview(_dispatcher(request)))


async def taskmanagers(request: Request) -> Response:
    return JSONResponse(views.taskmanagers(_dispatcher(request)))


def _taskmanager(request: Request) -> Any:
    return _dispatcher(request).taskmanager(request.path_params["taskmanagerid"])


async def taskmanager(request: Request) -> Response:
    return JSONResponse(views.taskmanager_details(_taskmanager(request)))


async def taskmanager_metrics(request: Request) -> Response:
    values = views.taskmanager_metric_values(_taskmanager(request))
    return JSONResponse(views.metric_list(values, request.query_params.get("get")))


async def jobmanager_config(request: Request) -> Response:
    return JSONResponse(views.jobmanager_config(_dispatcher(request)))


async def job_config(request: Request) -> Response:
    return JSONResponse(views.job_config(_job(request)))


async def jobs(request: Request) -> Response:
    return JSONResponse(views.jobs(_dispatcher(request)))


async def jobs_overview(request: Request) -> Response:
    return JSONResponse(views.jobs_overview(_dispatcher(request)))


async def job(request: Request) -> Response:
    return JSONResponse(views.job_details(_job(request)))


async def cancel(request: Request) -> Response:
    mode = request.query_params.get("mode", "cancel")
    if mode != "cancel":
        raise BadRequest(f"mode {mode!r} is not supported; expected 'cancel' (stop a job with "
                         "POST /jobs/:jobid/stop)")
    _dispatcher(request).cancel(request.path_params["jobid"])
    return JSONResponse({}, status_code=202)


async def plan(request: Request) -> Response:
    return JSONResponse(views.plan(_job(request)))


async def checkpoints(request: Request) -> Response:
    return JSONResponse(views.checkpoints(_job(request)))


async def checkpoint_config(request: Request) -> Response:
    return JSONResponse(views.checkpoint_config(_job(request)))


async def exceptions(request: Request) -> Response:
    return JSONResponse(views.exceptions(_job(request)))


async def job_metrics(request: Request) -> Response:
    values = views.job_metrics(_job(request))
    return JSONResponse(views.metric_list(values, request.query_params.get("get")))


async def vertex(request: Request) -> Response:
    return JSONResponse(views.vertex_details(*_vertex(request)))


async def vertex_metrics(request: Request) -> Response:
    values = views.vertex_metric_values(*_vertex(request))
    return JSONResponse(views.metric_list(values, request.query_params.get("get")))


async def subtasks_metrics(request: Request) -> Response:
    record, v = _vertex(request)
    return JSONResponse(views.subtasks_metrics(record, v, request.query_params.get("get")))


async def backpressure(request: Request) -> Response:
    return JSONResponse(views.backpressure(*_vertex(request)))


async def watermarks(request: Request) -> Response:
    return JSONResponse(views.watermarks(*_vertex(request)))


async def trigger_savepoint(request: Request) -> Response:
    record = _job(request)
    body = await _json_body(request)
    target = _field(body, "target-directory", str, None)
    cancel_job = _field(body, "cancel-job", bool, False)
    req = _dispatcher(request).trigger_savepoint(record.job_id, target, bool(cancel_job))
    return JSONResponse({"request-id": req.request_id}, status_code=202)


async def stop(request: Request) -> Response:
    record = _job(request)
    body = await _json_body(request)
    target = _field(body, "targetDirectory", str, None)
    drain = _field(body, "drain", bool, False)
    req = _dispatcher(request).stop_with_savepoint(record.job_id, target, bool(drain))
    return JSONResponse({"request-id": req.request_id}, status_code=202)


async def savepoint_status(request: Request) -> Response:
    req = _dispatcher(request).savepoint_status(request.path_params["jobid"],
                                                request.path_params["triggerid"])
    return JSONResponse(views.savepoint_status(req))


async def submit(request: Request) -> Response:
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != CONTENT_TYPE:
        raise BadRequest(f"POST /jobs expects a body of type {CONTENT_TYPE} (a cloudpickled "
                         f"job submission), got {kind or 'none'!r}; hint: submit with "
                         "`strom run -d job.py`")
    payload = await request.body()
    try:
        record = _dispatcher(request).submit(payload)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return JSONResponse({"jobUrl": f"/jobs/{record.job_id}", "jid": record.job_id},
                        status_code=202)


async def prometheus_metrics(request: Request) -> Response:
    """``GET /metrics``: Prometheus' text format (``strom.cluster.prometheus``)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(request.app.state.prometheus),
                    media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_schema())


# -- errors and authentication ----------------------------------------------------------------

async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error(404, f"Not found: {request.url.path}")
    if exc.status_code == 405:
        response = error(405, f"{request.method} is not allowed on {request.url.path}")
        response.headers.update(exc.headers or {})  # Allow: the methods the path takes
        return response
    return error(exc.status_code, str(exc.detail))


async def _cluster_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ClusterError)
    return error(exc.status or 500, str(exc))


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error(500, "Internal server error.",
                 f"{request.method} {request.url.path}: {type(exc).__name__}: {exc}")


class _BearerToken(BaseHTTPMiddleware):
    """Refuses requests without the configured bearer token (401)."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(),
                                                                   self.token.encode()):
            why = "no bearer token was sent" if not given else "the bearer token is wrong"
            response = error(401, f"Unauthorized: {why}; hint: send 'Authorization: Bearer "
                                  f"<token>' (strom reads it from {TOKEN_ENV} or rest.token)")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return await call_next(request)


def _by_method(**handlers: Any) -> Any:
    """One endpoint for a path several methods share (so a 405 lists them all in Allow)."""
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return endpoint


def create_app(dispatcher: Dispatcher, token: str | None = None,
               extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The REST API over ``dispatcher``; with ``token`` every request must carry it.
    ``extra_routes`` are served behind the same token (the dashboard's demo feed)."""
    jid, vid = "/jobs/{jobid}", "/jobs/{jobid}/vertices/{vertexid}"
    routes = [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/metrics", prometheus_metrics, methods=["GET"]),
        Route("/config", config, methods=["GET"]),
        Route("/overview", overview, methods=["GET"]),
        Route("/taskmanagers", taskmanagers, methods=["GET"]),
        Route("/taskmanagers/{taskmanagerid}", taskmanager, methods=["GET"]),
        Route("/taskmanagers/{taskmanagerid}/metrics", taskmanager_metrics, methods=["GET"]),
        Route("/jobmanager/config", jobmanager_config, methods=["GET"]),
        Route("/jobs", _by_method(GET=jobs, POST=submit), methods=["GET", "POST"]),
        Route("/jobs/overview", jobs_overview, methods=["GET"]),
        Route(jid, _by_method(GET=job, PATCH=cancel), methods=["GET", "PATCH"]),
        Route(f"{jid}/plan", plan, methods=["GET"]),
        Route(f"{jid}/config", job_config, methods=["GET"]),
        Route(f"{jid}/checkpoints", checkpoints, methods=["GET"]),
        Route(f"{jid}/checkpoints/config", checkpoint_config, methods=["GET"]),
        Route(f"{jid}/exceptions", exceptions, methods=["GET"]),
        Route(f"{jid}/metrics", job_metrics, methods=["GET"]),
        Route(f"{jid}/savepoints", trigger_savepoint, methods=["POST"]),
        Route(f"{jid}/savepoints/{{triggerid}}", savepoint_status, methods=["GET"]),
        Route(f"{jid}/stop", stop, methods=["POST"]),
        Route(vid, vertex, methods=["GET"]),
        Route(f"{vid}/metrics", vertex_metrics, methods=["GET"]),
        Route(f"{vid}/subtasks/metrics", subtasks_metrics, methods=["GET"]),
        Route(f"{vid}/backpressure", backpressure, methods=["GET"]),
        Route(f"{vid}/watermarks", watermarks, methods=["GET"]),
        *extra_routes,
    ]
    middleware = [Middleware(_BearerToken, token=token)] if token else []
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: _http_error, ClusterError: _cluster_error,
                                        Exception: _internal_error})
    app.state.dispatcher = dispatcher
    app.state.prometheus = registry_for(dispatcher)
    return app


class RestServer:
    """The API served by uvicorn on a background thread (``strom run --web``, tests).

    Args:
        app: the Starlette app.
        host: the address to bind (default 127.0.0.1).
        port: the port (0: any free port; :attr:`port` says which after :meth:`start`).
    """

    def __init__(self, app: Starlette, host: str = DEFAULT_BIND_ADDRESS,
                 port: int = DEFAULT_PORT) -> None:
        import uvicorn

        self.host = host
        self.port = port
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port,
                                                     log_level="warning", access_log=False,
                                                     lifespan="off"))
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> RestServer:
        """Start serving; returns once the socket listens (raises ``ClusterError`` if not)."""
        self._thread = threading.Thread(target=self._server.run, name="strom rest",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ClusterError(f"the REST API could not listen on {self.host}:{self.port} "
                                   "(is the port in use?); hint: choose another with "
                                   "-D rest.port=<port>")
            time.sleep(0.01)
        for server in getattr(self._server, "servers", []):
            for sock in server.sockets:
                self.port = sock.getsockname()[1]
                break
        return self

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait for the server thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
