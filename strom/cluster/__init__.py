"""The JobManager side of strom (Flink's Dispatcher, JobMaster, ResourceManager) and its REST API.

Sits between ``JobClient`` and the outside world: ``dispatcher`` keeps the registry of jobs
(submitted over REST or started in this process by ``env.execute()``) and the TaskManagers that
offered slots; ``rest`` serves Flink's REST API over it; ``standalone`` is the session cluster
process (``strom cluster start``); ``remote`` is the ``execution.target: remote`` executor that
submits a script's jobs to such a cluster. The core packages never import this one: the
executors registry names its executors as ``"module:Class"`` strings.

Modules are imported on use (``from strom.cluster.dispatcher import Dispatcher``); this package
loads nothing by itself.
"""
