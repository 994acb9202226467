"""PyFlink's ``pyflink.common.input_dependency_constraint``: re-exports only."""
from strom.api.configuration import InputDependencyConstraint

__all__ = ["InputDependencyConstraint"]
