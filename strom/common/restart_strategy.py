"""PyFlink's ``pyflink.common.restart_strategy``: re-exports only."""
from strom.api.configuration import RestartStrategies, RestartStrategyConfiguration

__all__ = ["RestartStrategies", "RestartStrategyConfiguration"]
