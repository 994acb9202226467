"""The unified sink API's Python side (PyFlink's ``pyflink.datastream.connectors.base``):
:class:`Sink`, and :class:`SupportsPreprocessing` / :class:`StreamTransformer` for a sink that
reshapes the stream before it is written.

``ds.sink_to(sink)`` first applies ``sink.get_transformer()`` when the sink supports
preprocessing (PyFlink's Kafka sink maps records to its topic selector this way), then adds the
sink.

Example::

    >>> class Upper(StreamTransformer):
    ...     def apply(self, ds):
    ...         return ds.map(str.upper)
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from strom.errors import UnsupportedError, describe


class Sink:
    """Base of unified-API sinks. strom's connector sinks (``FileSink``, ``KafkaSink``) build
    their operator with ``create_operator(name)``; a subclass does the same.

    PyFlink's constructor takes a Java sink (or its class name); strom has no JVM, so passing
    one raises :class:`~strom.errors.UnsupportedError`.
    """

    def __init__(self, sink: Any = None) -> None:
        if sink is not None:
            msg = (f"Sink({describe(sink)}): strom cannot load Java sinks; hint: use a strom "
                   f"connector sink (FileSink, KafkaSink) or a SinkFunction with ds.add_sink")
            raise UnsupportedError(msg)


class StreamTransformer(ABC):
    """Reshapes a stream before a sink writes it."""

    @abstractmethod
    def apply(self, ds: Any) -> Any:
        """The stream to write, made from ``ds``."""


class SupportsPreprocessing(ABC):
    """A sink that transforms the stream before writing it (``sink_to`` applies it)."""

    @abstractmethod
    def get_transformer(self) -> StreamTransformer | None:
        """The transformer to apply, or ``None`` for none."""


def preprocessed(ds: Any, sink: Any) -> Any:
    """``ds`` after ``sink``'s transformer, if it supports preprocessing and has one."""
    if isinstance(sink, SupportsPreprocessing):
        transformer = sink.get_transformer()
        if transformer is not None:
            return transformer.apply(ds)
    return ds
