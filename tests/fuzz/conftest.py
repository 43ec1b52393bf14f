"""Hypothesis profiles: "ci" (the default: a few hundred examples per parser, well under a minute in all) and
"fuzz" (`make fuzz`: many more). S3D_FUZZ_PROFILE picks one; no example database is written."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=5000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("S3D_FUZZ_PROFILE", "ci"))
