"""strom: Apache Flink's DataStream model in pure Python.

Layering (imports point one way): ``api -> {graph, runtime}``, ``runtime -> graph`` (it deploys
the plan), ``runtime -> {checkpoint, window, state, time}``, ``checkpoint -> state``,
``window -> {state, time}``, ``state -> time``. ``datastream`` and ``common`` are PyFlink-path
façades over ``api``; no core package imports ``connectors``, ``cluster``, ``web`` or ``cli``
(``tests/test_layering.py`` checks it; docs/architecture.md, "Layers").

Example:
    >>> from strom.datastream import StreamExecutionEnvironment
    >>> env = StreamExecutionEnvironment.get_execution_environment()
    >>> env.from_collection([1, 2, 3]).map(lambda x: x * 2).execute_and_collect(limit=3)
    [2, 4, 6]
"""
from strom.api.environment import StreamExecutionEnvironment
from strom.api.typeinfo import Types
from strom.errors import StromError

__version__ = "0.1.0"

__all__ = ["StreamExecutionEnvironment", "StromError", "Types", "__version__"]
