"""Test-wide settings: Hypothesis profiles.

``dev`` (default) explores new random examples each run; ``ci`` (selected when the ``CI``
environment variable is set, as in .ci/run) is derandomized so a CI run is reproducible. Neither
has a per-example deadline: many properties run whole jobs, and a loaded 2-core machine would
turn timing noise into failures.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")
