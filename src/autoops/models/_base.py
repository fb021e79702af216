"""The base of every boundary model: frozen, strict about extras, masked, aware."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo
from typing_extensions import Self

from autoops._time import DEFAULT_TZ
from autoops.errors import InvalidInput

__all__ = ["Instant", "Record"]


def _require_aware(value: datetime, info: ValidationInfo) -> datetime:
    if value.tzinfo is not None and value.tzinfo.utcoffset(value) is not None:
        return value
    assume = (info.context or {}).get("assume_tz")
    if assume is None:
        msg = f"naive datetime; make it timezone-aware or pass assume_tz='{DEFAULT_TZ}'"
        raise ValueError(msg)
    from zoneinfo import ZoneInfo

    return value.replace(tzinfo=ZoneInfo(assume))


Instant = Annotated[datetime, AfterValidator(_require_aware)]
"""A timezone-aware instant; naive values need ``assume_tz`` in the validation context."""


class Record(BaseModel):
    """Base class of autoops's boundary models.

    Frozen, extra fields forbidden, input values hidden from error messages
    (they may be personal data), and personal fields masked in ``repr``.
    :meth:`from_rows` validates many rows and reports failures by row and field.

    Examples:
        >>> from typing import ClassVar
        >>> class Contact(Record):
        ...     _masked: ClassVar[dict[str, str]] = {"phone": "phone"}
        ...     phone: str
        >>> Contact(phone="13812345678")
        Contact(phone='138****5678')
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    _masked: ClassVar[dict[str, str]] = {}
    """field name → masking kind (``phone``, ``email``, ``id``, ``text``, or ``value``: by shape)."""

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        from autoops._masking import mask_email, mask_id, mask_phone, mask_value

        maskers = {
            "phone": mask_phone,
            "email": mask_email,
            "id": mask_id,
            "text": mask_id,
            "value": mask_value,
        }
        for name, value in super().__repr_args__():
            kind = self._masked.get(name or "")
            if kind is None or value is None:
                yield name, value
            else:
                yield name, maskers[kind](value)

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], *, assume_tz: str | None = None
    ) -> list[Self]:
        """Validate many rows; on failure raise one error naming rows and fields.

        Args:
            rows: mappings of field name to value.
            assume_tz: the zone to assume for naive datetimes (else they are refused).

        Raises:
            InvalidInput: lists up to five failing rows with their fields;
                ``.row`` holds every failing row index.

        Examples:
            >>> from autoops.models import Dealer
            >>> Dealer.from_rows([{"dealer_id": "D1", "name": "Pudong", "city": "Shanghai",
            ...                    "province": "Shanghai", "daily_capacity": -1}])
            Traceback (most recent call last):
            ...
            autoops.errors.InvalidInput: daily_capacity (rows [0]): Input should be greater than or equal to 0 [invalid_input]
        """
        context = {"assume_tz": assume_tz} if assume_tz else None
        out: list[Self] = []
        failures: list[tuple[int, str, str]] = []
        for i, row in enumerate(rows):
            try:
                out.append(cls.model_validate(row, context=context))
            except ValidationError as exc:
                for err in exc.errors(include_input=False, include_url=False):
                    loc = ".".join(str(part) for part in err["loc"]) or "(record)"
                    failures.append((i, loc, err["msg"]))
        if failures:
            fields = sorted({loc for _, loc, _ in failures})
            if len(failures) == 1 or len(fields) == 1:
                rows_at = sorted({i for i, _, _ in failures})
                raise InvalidInput(failures[0][2], field=fields[0], row=rows_at)
            listed = "; ".join(f"row {i} {loc}: {msg}" for i, loc, msg in failures[:5])
            more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
            rows_at = sorted({i for i, _, _ in failures})
            raise InvalidInput(f"{listed}{more}", field=", ".join(fields), row=rows_at)
        return out
