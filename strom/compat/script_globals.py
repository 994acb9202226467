"""PyFlink names the article's programs use without importing them.

The article (shared/seed) calls ``TimeCharacteristic.EventTime`` and ``MapStateDescriptor``
without an import; ``strom run`` pre-defines these names in the script's globals so those
programs run unchanged. A script's own imports and definitions override them.
"""
from __future__ import annotations

from typing import Any

ARTICLE_GLOBALS = ("TimeCharacteristic", "MapStateDescriptor", "ValueStateDescriptor",
                   "ListStateDescriptor", "BoundedOutOfOrdernessTimestampExtractor",
                   "AscendingTimestampExtractor", "Types", "Time", "StreamExecutionEnvironment",
                   "KeyedProcessFunction")


def article_globals() -> dict[str, Any]:
    """The names of :data:`ARTICLE_GLOBALS` that strom provides, bound to strom's objects."""
    import strom.datastream as ds
    import strom.datastream.functions as fn
    import strom.datastream.state as st
    from strom.api.typeinfo import Types
    from strom.time.durations import Time

    pool: dict[str, Any] = {"Types": Types, "Time": Time}
    for module in (ds, fn, st):
        pool.update({n: getattr(module, n) for n in ARTICLE_GLOBALS if hasattr(module, n)})
    return {n: pool[n] for n in ARTICLE_GLOBALS if n in pool}
