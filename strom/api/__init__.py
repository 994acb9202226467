"""The DataStream API (PyFlink-compatible). Users import it through ``strom.datastream`` and
``strom.common``; this package holds the implementation."""
