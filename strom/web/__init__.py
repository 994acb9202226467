"""The web dashboard: Flink's web UI for strom, served on the REST API's port.

:func:`create_app` puts the dashboard (``/`` and its files under ``/web/``) in front of the
REST API of ``strom.cluster.rest``; the page reads everything through that API, polling it
every 3 s (the server's ``refresh-interval``; ``?refresh=<ms>`` in the address overrides it):
the overview, the job list, a job's graph laid out as a DAG and coloured by busy /
backpressured time, records in/out rates and watermark lag over time, a vertex's subtasks,
checkpoints, exceptions, TaskManagers, and buttons to cancel a job or trigger a savepoint. With a demo
feed (``strom demo --web``) it also shows the demo's alerts and metrics as they arrive.

The page's own files need no token; with a token the API does, and the page asks for it once
(or takes it from ``http://host:port/#token=...``).

Example:
    >>> from strom.cluster.dispatcher import Dispatcher
    >>> from strom.cluster.rest import RestServer
    >>> server = RestServer(create_app(Dispatcher()), port=8081).start()  # doctest: +SKIP
"""
from __future__ import annotations

from strom.web.app import create_app

__all__ = ["create_app"]
