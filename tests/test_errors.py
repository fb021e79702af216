"""The error hierarchy: one root, builtin bases, stable codes, each documented."""

from __future__ import annotations

from pathlib import Path

import pytest

import autoops.errors as errors

DOCS = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text(encoding="utf-8")
CLASSES = [getattr(errors, name) for name in errors.__all__]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_rooted_and_documented(cls: type[errors.AutoOpsError]) -> None:
    assert issubclass(cls, errors.AutoOpsError)
    assert f"## {cls.code}\n" in DOCS
    assert f"`autoops.errors.{cls.__name__}`" in DOCS


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in CLASSES]
    assert len(codes) == len(set(codes))


def test_builtin_bases_let_callers_catch_broadly() -> None:
    with pytest.raises(ValueError):
        raise errors.InvalidInput("bad", field="phone", row=2)
    with pytest.raises(ImportError):
        raise errors.MissingExtraError("pandas", "pandas")
    with pytest.raises(LookupError):
        raise errors.UnknownTransaction("no such transaction")


def test_messages_name_field_row_and_docs() -> None:
    err = errors.InvalidInput("naive datetime", field="ts", row=[3, 7])
    assert (err.field, err.row) == ("ts", [3, 7])
    assert str(err) == "ts (rows [3, 7]): naive datetime [invalid_input]"
    assert err.docs_url.endswith("#invalid_input")
    channel = errors.RateLimited("45009", channel="wecom", retry_after=2.0, request_id="r1")
    assert channel.retryable and channel.retry_after == 2.0
    assert str(channel).startswith("request r1: wecom: 45009")
