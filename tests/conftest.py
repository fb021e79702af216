"""Suite-wide settings: hypothesis without wall-clock deadlines.

The machines that run this suite are shared and noisy, so no test may depend
on how long an example takes; property tests set their own example counts.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "autoops", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("autoops")
