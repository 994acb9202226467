"""PyFlink's ``pyflink.common.watermark_strategy``: re-exports only."""
from strom.api.watermarks import (
    TimestampAssigner,
    Watermark,
    WatermarkGenerator,
    WatermarkGeneratorSupplier,
    WatermarkOutput,
    WatermarkStrategy,
)

__all__ = ["TimestampAssigner", "Watermark", "WatermarkGenerator", "WatermarkGeneratorSupplier",
           "WatermarkOutput", "WatermarkStrategy"]
