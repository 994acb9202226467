"""Flink's datagen connector (``org.apache.flink.connector.datagen.source``) at a PyFlink-style
path; PyFlink 2.x has no Python datagen, so this is strom's addition: re-exports only."""
from strom.connectors.datagen import (
    LONG_MAX,
    DataGeneratorSource,
    GeneratorFunction,
    RateLimiterStrategy,
)

__all__ = [
    "DataGeneratorSource", "GeneratorFunction", "LONG_MAX", "RateLimiterStrategy",
]
