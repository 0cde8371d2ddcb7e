"""Test-suite settings.

Property-based tests (hypothesis) explore new examples on every run on a developer's machine; under CI (the
environment variable ``CI`` set, as ``.ci/run`` runs) they draw a fixed, reproducible set of examples instead, so
that a green or red CI run can be replayed exactly (``CI=true python -m pytest ...``).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
