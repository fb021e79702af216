from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from autoops.errors import ConfigError, InvalidInput
from autoops.leads import GRADE_DEFINITIONS, GradeProfile, next_followup_due
from autoops.models import Lead, LeadGrade

T0 = datetime(2026, 5, 1, 10, tzinfo=timezone.utc)


def test_presets() -> None:
    common, three = GradeProfile.common(), GradeProfile.three_week()
    assert common.horizons == {"H": 7, "A": 15, "B": 30, "C": 90}
    assert three.horizons == {"H": 7, "A": 14, "B": 21, "C": 90}
    assert [three.followup_interval(g).days for g in "HAB"] == [2, 5, 7]  # type: ignore[union-attr]
    for g in "ODTF":
        assert common.followup_interval(g) is None and three.followup_interval(LeadGrade(g)) is None
    assert set(GRADE_DEFINITIONS) == {g.value for g in LeadGrade}
    # horizon edges are inclusive
    days = np.array([0, 7, 8, 15, 16, 30, 31, 90, 91, -1])
    assert common.horizon_grades(days).tolist() == [
        "H",
        "H",
        "A",
        "A",
        "B",
        "B",
        "C",
        "C",
        "C",
        None,
    ]
    assert [common.grade_for_horizon(int(d)) for d in days[:-1]] == common.horizon_grades(
        days[:-1]
    ).tolist()


def test_next_followup_due_scalar_and_columns() -> None:
    lead = Lead(lead_id="L1", created_at=T0, touchpoint="app", grade="H")
    assert next_followup_due(lead) == T0 + timedelta(days=2)
    assert next_followup_due(lead, last_contact_at=T0 + timedelta(days=1)) == T0 + timedelta(days=3)
    closed = Lead(lead_id="L2", created_at=T0, touchpoint="app", grade="O")
    assert next_followup_due(closed) is None
    ungraded = Lead(lead_id="L3", created_at=T0, touchpoint="app")
    assert next_followup_due(ungraded) == T0 + timedelta(days=1)
    cols = {
        "lead_id": ["a", "b", "c"],
        "created_at": [T0, T0, T0],
        "grade": ["B", "F", None],
        "last_contact_at": [T0 + timedelta(days=1), None, None],
    }
    due = next_followup_due(cols, profile=GradeProfile.three_week())
    base = np.datetime64(T0.replace(tzinfo=None), "us")
    assert due[0] == base + np.timedelta64(8, "D")
    assert np.isnat(due[1]) and due[2] == base + np.timedelta64(1, "D")
    with pytest.raises(InvalidInput, match="naive"):
        next_followup_due(lead, last_contact_at=datetime(2026, 1, 1))


def test_profile_validation_and_json() -> None:
    good = {"H": 7, "A": 15, "B": 30, "C": 90}
    follow = {"H": "2d", "A": "4d", "B": "7d", "C": "14d", "N": "1d"}
    with pytest.raises(ConfigError, match="horizons"):
        GradeProfile("x", {"H": 7, "A": 7, "B": 30, "C": 90}, follow)
    with pytest.raises(ConfigError, match="horizons"):
        GradeProfile("x", {"H": 7}, follow)
    with pytest.raises(ConfigError, match="followup"):
        GradeProfile("x", good, {**follow, "O": "1d"})
    with pytest.raises(ConfigError, match=r"followup\.H"):
        GradeProfile("x", good, {**follow, "H": "-1d"})
    with pytest.raises(ConfigError, match="grade"):
        GradeProfile("x", {**good, "Z": 3}, follow)
    with pytest.raises(ConfigError, match="unknown key"):
        GradeProfile.from_json('{"name": "x", "colour": 1}')
    for profile in GradeProfile.presets().values():
        assert GradeProfile.from_json(profile.to_json()) == profile
