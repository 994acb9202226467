"""PyFlink's ``pyflink.common.watermark_strategy``: re-exports only."""
from strom.api.java_wrappers import AssignerWithPeriodicWatermarksWrapper
from strom.api.watermarks import (
    TimestampAssigner,
    Watermark,
    WatermarkGenerator,
    WatermarkGeneratorSupplier,
    WatermarkOutput,
    WatermarkStrategy,
)

__all__ = ["AssignerWithPeriodicWatermarksWrapper", "TimestampAssigner", "Watermark", "WatermarkGenerator", "WatermarkGeneratorSupplier",
           "WatermarkOutput", "WatermarkStrategy"]
