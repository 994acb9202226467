"""PyFlink's ``pyflink.datastream.formats``: file and message formats, re-exports in the submodules."""
