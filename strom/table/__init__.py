"""PyFlink's ``pyflink.table`` names, so jobs that import them still load.

strom provides the DataStream API only; creating a table environment raises an error that says
so (nothing here pretends to work).
"""
from strom.errors import UnsupportedError

__all__ = ["StreamTableEnvironment"]


class StreamTableEnvironment:
    """Importable; ``create`` raises ``UnsupportedError``: strom has no Table API/SQL."""

    @staticmethod
    def create(*args: object, **kwargs: object) -> "StreamTableEnvironment":
        raise UnsupportedError(
            "StreamTableEnvironment: strom provides the DataStream API only, not the Table API or "
            "SQL. Hint: express the query with DataStream operations (key_by, window, process).")


TableEnvironment = StreamTableEnvironment
