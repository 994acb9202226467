"""The log-analysis demo application: a real-time security and usage analysis of web logs.

Not part of strom's core: it uses only strom's public PyFlink API (``strom.datastream``,
``strom.common``) and the ``FileSink`` connector, as a user's job would.

* :mod:`strom.demo.generator`: :class:`~strom.demo.generator.LogGenerator`, a seeded, resumable
  source of JSON log lines (out-of-order, late and malformed lines, attack bursts and
  stale sessions included).
* :mod:`strom.demo.pipeline`: :func:`~strom.demo.pipeline.build` wires the analysis (security
  and anomaly alerts, per-user metrics, sessions, dead letters, late events);
  ``strom run strom/demo/pipeline.py --events N`` runs it.
"""
