"""The DataStream API (PyFlink-compatible): the implementation behind ``strom.datastream`` and
``strom.common``, which users import.

Each DataStream call appends a ``Transformation`` to the environment (``strom.graph``);
``execute()`` builds the job graph and hands it to a runtime executor. The api is the top of
the core: it uses ``strom.graph``, ``strom.runtime``, ``strom.window``, ``strom.state`` and
``strom.time``, and nothing below imports it (enforced by ``tests/test_layering.py``).

Public surface (``__all__``), loaded on first access so that importing one api module does not
import them all: :class:`StreamExecutionEnvironment`, :class:`RuntimeExecutionMode`,
:class:`DataStream`, :class:`KeyedStream`, :class:`ConnectedStreams`, :class:`DataStreamSink`,
:class:`WindowedStream`, :class:`AllWindowedStream`, :class:`WatermarkStrategy` and
:class:`Types`; the function base classes are in :mod:`strom.api.functions`.
"""
from importlib import import_module

_EXPORTS = {
    "ConnectedStreams": "datastream", "DataStream": "datastream", "DataStreamSink": "datastream",
    "KeyedStream": "datastream", "RuntimeExecutionMode": "environment",
    "StreamExecutionEnvironment": "environment", "Types": "typeinfo",
    "WatermarkStrategy": "watermarks", "AllWindowedStream": "windowing",
    "WindowedStream": "windowing",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'strom.api' has no attribute {name!r}")
    return getattr(import_module(f"strom.api.{module}"), name)
