"""PyFlink's ``pyflink.common.config_options``: re-exports only."""
from strom.api.config_options import ConfigOption, ConfigOptions

__all__ = ["ConfigOption", "ConfigOptions"]
