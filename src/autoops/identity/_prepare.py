"""From a table of records to tokenised link candidates (one row per record × type).

Every present identifier becomes an *edge* ``(record row, type, token)`` with a
:class:`~autoops.identity._normalize.Status`: OK, or the reason it will never
link (invalid, blocked, staff, kiosk, scope, consent, unverified, forgotten).
A token is a 64-bit hash of (type, scope, normalised value), or a keyed
HMAC-SHA256 when a secret is given, so nothing downstream needs raw values.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops._factorize import Addresses, factorize_u64
from autoops._optional import available
from autoops._parallel import parallel_map, take_into
from autoops._tabular import arrow_dictionary, arrow_strings, columns, encode, source_columns
from autoops.errors import ConfigError, InvalidInput
from autoops.identity._encode import encode_short, encode_words, spread_codes
from autoops.identity._normalize import (
    Status,
    combine,
    fnv_strings,
    hash_strings,
    mix64,
    normalize_forms,
    present,
)
from autoops.identity._rules import IdType, MergeRules

__all__ = [
    "Prepared",
    "Secret",
    "prepare",
    "record_tokens",
    "registry_tokens",
    "rekey_tokens",
    "token_of",
]

ID_COLUMNS = ("record_id", "event_id", "lead_id", "id")
TIME_COLUMNS = ("ts", "created_at", "timestamp")
NAT = np.iinfo(np.int64).max


@attrs.frozen(slots=True)
class Prepared:
    """Tokenised records: edges in long form plus per-record facts."""

    n: int
    record_id: npt.NDArray[Any]
    rid_token: npt.NDArray[np.uint64]
    #: microseconds UTC; NAT (int64 max) when unknown (without a time column: one NAT
    #: broadcast over the records, a read-only view that holds no memory)
    ts: npt.NDArray[np.int64]
    #: per edge, its record's row: 32-bit from :func:`prepare` when the rows fit (less
    #: fresh memory to fault in and to read), 64-bit from the graph's store
    e_rec: npt.NDArray[np.int32] | npt.NDArray[np.int64]
    e_type: npt.NDArray[np.int16]
    #: the edges' tokens (see :attr:`e_tok`); None: ``key_tok[e_key]``, made when asked
    _e_tok: npt.NDArray[np.uint64] | None
    e_status: npt.NDArray[np.int8]
    e_detail: npt.NDArray[np.int16]  # index into details; -1 none
    details: tuple[str, ...]
    #: the distinct raw values by type name, indexed by ``e_raw`` (for masked display only)
    raw: Mapping[str, npt.NDArray[Any]]
    issues: tuple[tuple[str, str, npt.NDArray[np.int64]], ...]  # (code, message, rows)
    e_verified: npt.NDArray[np.bool_] | None = None  # the record's <column>_verified flag
    #: dense key id per edge (-1 where the token is 0): equal ids <=> equal tokens, so
    #: :func:`~autoops.identity._solve.solve` need not hash the edges' tokens again;
    #: 32-bit from :func:`prepare` when the records and keys together fit (solve numbers
    #: the keys after the records), 64-bit from the graph's store
    e_key: npt.NDArray[np.int32] | npt.NDArray[np.int64] | None = None
    n_keys: int = 0
    #: per edge, the index of its raw value in ``raw[type name]`` (empty with ``raw``;
    #: 32-bit from :func:`prepare` when the codes fit)
    e_raw: npt.NDArray[np.int32] | npt.NDArray[np.int64] = attrs.Factory(
        lambda: np.zeros(0, dtype=np.int64)
    )
    #: with ``e_key``: the token and the type of each key (None: read them off the edges)
    key_tok: npt.NDArray[np.uint64] | None = None
    key_type: npt.NDArray[np.int16] | None = None

    @property
    def e_tok(self) -> npt.NDArray[np.uint64]:
        """The token of each edge (0 where its value never links by shape).

        :func:`prepare` leaves it out (``e_tok=None``: an array of 8 bytes per edge
        that :func:`~autoops.identity._solve.solve` never reads when it has the keys);
        it is then the token of each edge's key, ``key_tok[e_key]`` (0 where the key is
        -1), made on the first access.
        """
        tok = self._e_tok
        if tok is None:
            if self.e_key is None or self.key_tok is None:  # pragma: no cover - prepare gives both
                raise ValueError("a Prepared without e_tok needs e_key and key_tok")
            tok = np.take(np.append(self.key_tok, np.uint64(0)), self.e_key)
            object.__setattr__(self, "_e_tok", tok)  # (frozen: set once, same value)
        return tok


class _LazyRaw(Mapping[str, npt.NDArray[Any]]):
    """Distinct raw values by type name, made Python strings only when one is looked up."""

    def __init__(self, make: Mapping[str, Callable[[], npt.NDArray[Any]]]) -> None:
        self._make = dict(make)
        self._done: dict[str, npt.NDArray[Any]] = {}

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        if name not in self._done:
            self._done[name] = self._make[name]()
        return self._done[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._make)

    def __len__(self) -> int:
        return len(self._make)


def _ascii_text(dictionary: Any) -> npt.NDArray[np.str_] | None:
    """An Arrow string array without nulls as a fixed-width unicode array, straight from its
    buffers (no Python string per value): exactly ``to_text(dictionary.to_numpy())`` when
    every byte is ASCII; None otherwise (the caller converts through Python strings)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    m = len(dictionary)
    large = pa.types.is_large_string(dictionary.type)
    if m == 0 or dictionary.null_count or not (large or pa.types.is_string(dictionary.type)):
        return None
    _, off_buf, data_buf = dictionary.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64 if large else np.int32)
    offsets = offsets[dictionary.offset : dictionary.offset + m + 1].astype(np.int64)
    start, end = int(offsets[0]), int(offsets[-1])
    if data_buf is None or end == start:
        return None
    data = np.frombuffer(data_buf, dtype=np.uint8)[start:end]
    if int(data.max()) >= 128:
        return None
    width = int(np.diff(offsets).max())
    if not large and m * width >= 2**31:  # the padded bytes need 64-bit offsets
        dictionary, large = dictionary.cast(pa.large_string()), True
    # padded with NULs to one width, the bytes are an (m, width) matrix; numpy's unicode
    # arrays pad with NULs too, so the code points are exactly those of the Python strings
    padded = pc.utf8_rpad(dictionary, width=width, padding="\x00")
    _, off_buf, data_buf = padded.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64 if large else np.int32)
    offsets = offsets[padded.offset : padded.offset + m + 1].astype(np.int64)
    if int(offsets[-1] - offsets[0]) != m * width:  # pragma: no cover - not seen
        return None
    data = np.frombuffer(data_buf, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
    cps = data.reshape(m, width).astype(np.uint32)
    text: npt.NDArray[np.str_] = cps.view(f"<U{width}").reshape(m)
    return text


def _object_strings(values: Any) -> Any:
    """A numpy or pandas object column of Python strings (and None) as an Arrow string array,
    or None when it holds anything else or pyarrow is missing.

    Arrow copies the strings' UTF-8 bytes (holding the GIL, about as long as one
    ``pandas.factorize`` pass takes to hash them), and its dictionary encoding
    then runs without the GIL, so the columns of a resolution are factorised
    side by side; the distinct values come as fixed-width text straight from
    Arrow's buffers. Arrow infers the type: any value that is not a string or
    None (bytes, numbers, NaN, ...) gives another type or an error, and the
    column keeps :func:`~autoops._tabular.encode`'s path, so the codes and
    distinct values are those ``pandas.factorize`` gives (first-seen order,
    None missing).
    """
    values = _object_objects(values)
    if values is None:
        return None
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is optional
        return None
    try:
        arrow = pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        return None
    return arrow


def _object_objects(values: Any) -> npt.NDArray[np.object_] | None:
    """A numpy or pandas object column as a one-dimensional numpy object array (pandas'
    missing values as None, what encode reads), or None for any other column."""
    module = type(values).__module__.split(".")[0]
    if module == "pandas" and str(values.dtype) == "object":
        values = values.to_numpy(dtype=object, na_value=None)  # what encode reads
    if not isinstance(values, np.ndarray) or values.dtype != object or values.ndim != 1:
        return None
    return values


#: references sampled per column to judge whether its objects repeat
_SAMPLE = 1 << 16


def _repeats(refs: npt.NDArray[np.uint64]) -> bool:
    """Whether an object column's references (*refs*, their addresses) hold fewer than
    half as many distinct objects as rows, None aside: exactly up to twice
    :data:`_SAMPLE` rows, else estimated from an evenly spaced sample of them (in a
    sample of s of n rows holding d distinct objects alike often, about s*s/(2*d)
    references repeat one before them)."""
    n = len(refs)
    step = max(1, n // _SAMPLE) if n > 2 * _SAMPLE else 1
    sample = refs[::step]
    sample = sample[sample != np.uint64(id(None))]
    s = len(sample)
    if s == 0:
        return True
    dups = s - len(np.unique(sample))
    if step == 1:
        return 2 * dups > s
    rows = n * s / len(refs[::step])  # the rows holding something other than None
    return dups * rows > s * s


def _read_objects(values: npt.NDArray[np.object_], refs: npt.NDArray[np.uint64]) -> _Column | None:
    """An object column of Python strings (and None) read through its distinct *objects*
    (*refs*: the addresses of its references), or None when it holds anything else.

    A column of strings often holds each string object many times (pandas'
    ``read_csv`` of object columns reuses one object per distinct string, and
    so does indexing an array of values). The references are
    numbered first (:func:`~autoops.identity._encode.encode_words` on their
    addresses: numpy, without the GIL), and only one object of each is copied
    into Arrow (the copy of Python strings holds the GIL) and encoded as
    :func:`_read_column` encodes Arrow columns. Objects are numbered in the
    order of their first row, so the values are too: codes and distinct values
    are exactly those of the copy of every row (and of ``pandas.factorize``).
    When the objects seldom repeat (:func:`_repeats`: e.g. strings made one per
    row by a JSON or CSV reader), :func:`_read_column` copies every row instead.
    """
    n = len(values)
    # the rows holding None are left out first (no code to find for them)
    held = refs != np.uint64(id(None))
    rows: npt.NDArray[np.int64] | None = None
    if not held.all():
        rows = np.flatnonzero(held)
        refs = np.compress(held, refs)
    del held
    if len(refs) == 0:
        return None
    ref_codes, first, by_address = encode_words(refs)
    # one reference per distinct object, copied into Arrow in the order of their addresses
    # (the objects' memory read in order, not at random), then put in first-seen order by
    # Arrow's take (which does not hold the GIL)
    at = first[by_address]
    objects = values[at if rows is None else rows[at]]
    arrow = _object_strings(objects)
    if arrow is None:
        return None
    to_first_seen = np.empty(len(by_address), dtype=np.int64)
    to_first_seen[by_address] = np.arange(len(by_address), dtype=np.int64)
    by_object = _arrow_column(_one_array(arrow).take(to_first_seen))
    codes = np.empty(len(ref_codes), dtype=np.int64)
    take_into(by_object.all_codes(), ref_codes, codes)
    if by_object.present is not None:  # pragma: no cover - an object Arrow reads as null
        return _present(spread_codes(n, rows, codes), by_object.distinct, by_object.raw_of)
    return _Column(rows, codes, by_object.distinct, by_object.raw_of, n)


def _one_array(arrow: Any) -> Any:
    """An Arrow string (chunked) array as one array, as
    :func:`~autoops._tabular.arrow_dictionary` reads it."""
    import pyarrow as pa

    if isinstance(arrow, pa.ChunkedArray) and arrow.num_chunks == 1:
        return arrow.chunk(0)
    if isinstance(arrow, pa.ChunkedArray):
        if arrow.type == pa.string():
            # one copy of the chunks while their bytes fit 32-bit offsets (else Arrow
            # refuses), not a 64-bit-offset copy of every chunk and then another
            try:
                return arrow.combine_chunks()
            except (pa.ArrowInvalid, pa.ArrowCapacityError, OverflowError):
                arrow = arrow.cast(pa.large_string())
        return arrow.combine_chunks()
    return arrow


@attrs.frozen(slots=True)
class _Column:
    """One raw column, factorised: the rows holding a value, their codes, the distinct values."""

    present: npt.NDArray[np.int64] | None  # the rows holding a value (None: every row)
    codes: npt.NDArray[np.int64]  # the code of each of those rows
    distinct: npt.NDArray[Any]
    raw_of: Callable[[], npt.NDArray[Any]]  # the distinct values as Python strings
    n: int

    def all_codes(self) -> npt.NDArray[np.int64]:
        """The code of every row, ``-1`` where it holds no value."""
        return spread_codes(self.n, self.present, self.codes)


def _read_column(values: Any) -> _Column:
    """:func:`~autoops._tabular.encode` of one column, and how to get its distinct raw values.

    For an Arrow-backed column of ASCII strings the distinct values come as a
    fixed-width unicode array read from Arrow's buffers (normalisation reads
    them so), and the Python strings are made only if a raw value is shown.
    """
    arrow = arrow_strings(values)
    objects = _object_objects(values) if arrow is None else None
    if objects is not None and len(objects) and available("pyarrow"):
        # an object column: of strings, copied into Arrow, one object of each when they
        # repeat (else every row)
        refs: npt.NDArray[np.uint64] = np.asarray(Addresses(objects))
        if _repeats(refs):
            column = _read_objects(objects, refs)
            if column is not None:
                return column
        else:
            arrow = _object_strings(objects)
    if arrow is not None:
        return _arrow_column(_one_array(arrow))
    coded = encode(values)
    return _present(coded[0], coded[1], lambda: coded[1])


def _arrow_column(arrow: Any) -> _Column:
    """:func:`_read_column` of one Arrow string array."""
    short = encode_short(arrow)
    if short is not None:
        # short ASCII values: Arrow's codes and _ascii_text's text, by one sort of
        # 64-bit keys instead of one hash table of every distinct value
        first_rows = short.rows

        def first_seen() -> npt.NDArray[Any]:
            out: npt.NDArray[Any] = arrow.take(first_rows).to_numpy(zero_copy_only=False)
            return out

        return _Column(short.present, short.present_codes, short.text, first_seen, len(arrow))
    # what encode does with it, the distinct values' Python strings made later or never
    codes, dictionary = arrow_dictionary(arrow)
    text = _ascii_text(dictionary)
    distinct = dictionary.to_numpy(zero_copy_only=False) if text is None else text

    def raw() -> npt.NDArray[Any]:
        out: npt.NDArray[Any] = dictionary.to_numpy(zero_copy_only=False)
        return out

    return _present(codes.astype(np.int64), distinct, raw)


def _present(
    codes: npt.NDArray[np.int64], distinct: npt.NDArray[Any], raw: Callable[[], npt.NDArray[Any]]
) -> _Column:
    rows = np.flatnonzero(codes >= 0)
    if len(rows) == len(codes):
        return _Column(None, codes, distinct, raw, len(codes))
    return _Column(rows, codes[rows], distinct, raw, len(codes))


def _encode_column(values: Any) -> tuple[tuple[npt.NDArray[np.int64], npt.NDArray[Any]], Any]:
    """:func:`~autoops._tabular.encode` of one column (its codes and distinct values) and how
    to get the distinct values as Python strings (see :func:`_read_column`)."""
    col = _read_column(values)
    return (col.all_codes(), col.distinct), col.raw_of


def _salt(idtype: IdType) -> int:
    return int(hash_strings(np.array([f"type:{idtype.name}"], dtype=object))[0])


#: one key, or the chain of keys left by key rotation (oldest first)
Secret = bytes | tuple[bytes, ...]


def rekey_tokens(tokens: npt.NDArray[np.uint64], key: bytes) -> npt.NDArray[np.uint64]:
    """``HMAC-SHA256(key, token)`` truncated to 64 bits (odd), per token (key rotation)."""
    out = np.empty(len(tokens), dtype=np.uint64)
    for i, t in enumerate(tokens.tolist()):
        digest = hmac.new(key, int(t).to_bytes(8, "little"), hashlib.sha256).digest()
        out[i] = int.from_bytes(digest[:8], "little") | 1
    return out


def _hmac_tokens(
    secret: Secret, idtype: IdType, values: npt.NDArray[Any]
) -> npt.NDArray[np.uint64]:
    """Keyed tokens, one HMAC per distinct value (the per-value loop of the hashed mode)."""
    key = secret[0] if isinstance(secret, tuple) else secret
    out = np.empty(len(values), dtype=np.uint64)
    for i, v in enumerate(values.tolist()):
        digest = hmac.new(key, f"{idtype.name}\x1f{v}".encode(), hashlib.sha256).digest()
        out[i] = int.from_bytes(digest[:8], "little") | 1
    return out


def chain_tokens(tokens: npt.NDArray[np.uint64], secret: Secret | None) -> npt.NDArray[np.uint64]:
    """Apply the rotated keys of a key chain (all but the first) to final tokens (0 stays 0)."""
    if not isinstance(secret, tuple) or len(secret) < 2 or len(tokens) == 0:
        return tokens
    has = tokens != 0
    codes, uniq = factorize_u64(tokens[has])
    for key in secret[1:]:
        uniq = rekey_tokens(uniq, key)
    out = tokens.copy()
    out[has] = uniq[codes]
    result: npt.NDArray[np.uint64] = out
    return result


@attrs.frozen(slots=True)
class _Values:
    """One raw column, tokenised: the rows holding a value (any status) and per row its facts."""

    rows: npt.NDArray[np.int64]
    tok: npt.NDArray[np.uint64]  # 0 where the value never links by shape (invalid, blocked)
    status: npt.NDArray[np.int8]
    detail: npt.NDArray[np.int32]  # index into names, -1 none
    names: tuple[str, ...]
    key: npt.NDArray[np.int64]  # dense id 0..n_keys-1 of the token, -1 where it is 0
    n_keys: int
    raw: npt.NDArray[np.int64]  # index of the row's value in the distinct raw values
    key_tok: npt.NDArray[np.uint64]  # the token of each key


@attrs.frozen(slots=True)
class _Distinct:
    """The facts of a column's distinct raw values (indexed by their codes)."""

    tok: npt.NDArray[np.uint64]  # 0 where the value never links by shape (invalid, blocked)
    status: npt.NDArray[np.int8]
    detail: npt.NDArray[np.int32]  # index into names, -1 none
    names: tuple[str, ...]
    key: npt.NDArray[np.int64]  # dense id 0..n_keys-1 of the token, -1 where it is 0
    key_tok: npt.NDArray[np.uint64]  # the token of each key


def _distinct_facts(
    idtype: IdType, uniq_raw: npt.NDArray[Any], *, block_defaults: bool, secret: Secret | None
) -> _Distinct:
    """Tokens, statuses, details and keys of a column's distinct raw values."""
    # per normalised form (several raw phones share one), then spread over the raw values
    form, text_f, status_f, detail_f = normalize_forms(idtype, uniq_raw,
                                                       block_defaults=block_defaults)  # fmt: skip
    norm_present = status_f == Status.OK
    tok_f = np.zeros(len(text_f), dtype=np.uint64)
    if norm_present.any():
        # every form usable (common): the forms themselves, not a copy of their text
        every = bool(norm_present.all())
        text_ok = text_f if every else text_f[norm_present]
        if secret is not None:
            tok_ok = _hmac_tokens(secret, idtype, text_ok)
        else:
            # one hash per form (raw values that normalise alike hash alike anyway)
            tok_ok = combine(fnv_strings(text_ok), _salt(idtype))
        if every:
            tok_f = tok_ok
        else:
            tok_f[norm_present] = tok_ok
    # details as small integer codes: no object array per record
    has = present(detail_f)
    names, inv = np.unique(detail_f[has].astype(str), return_inverse=True)
    local_f = np.full(len(detail_f), -1, dtype=np.int32)
    local_f[has] = inv.reshape(-1)
    if form is None:
        tok_u, status_u, local = tok_f, status_f.copy(), local_f
    else:
        tok_u, status_u, local = tok_f[form], status_f[form], local_f[form]
    key_u = np.full(len(tok_u), -1, dtype=np.int64)
    has_tok = tok_u != 0
    key_u[has_tok], distinct_tok = factorize_u64(tok_u[has_tok])
    return _Distinct(tok_u, status_u, local, tuple(names.tolist()), key_u, distinct_tok)


def _value_tokens(
    idtype: IdType,
    coded: tuple[npt.NDArray[np.int64], npt.NDArray[Any]],
    *,
    block_defaults: bool,
    secret: Secret | None,
) -> _Values:
    """Tokens, statuses, details and keys of the rows of a raw column that hold a value.

    The column comes factorised (*coded* is :func:`~autoops._tabular.encode`'s
    codes and distinct values): normalisation, blocking, hashing and the keys
    (dense ids of the tokens) are found once per distinct raw value, then
    gathered for the rows holding a value only.
    """
    codes, uniq_raw = coded
    d = _distinct_facts(idtype, uniq_raw, block_defaults=block_defaults, secret=secret)
    absent = np.append(d.status == Status.ABSENT, True)  # code -1: None
    rows = np.flatnonzero(~absent[codes])
    c = codes[rows]
    return _Values(rows, d.tok[c], d.status[c], d.detail[c],
                   d.names, d.key[c], len(d.key_tok), c, d.key_tok)  # fmt: skip


@attrs.frozen(slots=True)
class _TypeEdges:
    """The edges of one identifier type, before they are laid end to end.

    Per edge: its row, and its value's code ``raw`` in the distinct values;
    the token, status and key of an edge are its value's (``facts``) unless
    per-edge arrays replace them (scopes and verification act per record).
    """

    ti: int
    rows: npt.NDArray[np.int64]
    raw: npt.NDArray[np.int64]
    facts: _Distinct
    n_keys: int
    key_tok: npt.NDArray[np.uint64]
    raw_of: Callable[[], npt.NDArray[Any]]  # the column's distinct raw values, when asked
    tok: npt.NDArray[np.uint64] | None = None
    status: npt.NDArray[np.int8] | None = None
    key: npt.NDArray[np.int64] | None = None
    verified: npt.NDArray[np.bool_] | None = None  # None: none verified


def token_of(idtype: IdType, value: Any, scope: Any = None, *, secret: Secret | None = None) -> int:
    """The token of one raw identifier (0 when it is absent, invalid or blocked-by-shape)."""
    values = _value_tokens(
        idtype, encode(np.array([value], dtype=object)), block_defaults=False, secret=secret
    )
    if len(values.rows) == 0 or values.tok[0] == 0:
        return 0
    t = values.tok[:1]
    if idtype.scope is not None:
        t = combine(
            t,
            _scope_hash(
                encode(np.array([scope], dtype=object)),
                np.zeros(1, dtype=np.int64),
                idtype.default_scope,
            ),
        )
    return int(chain_tokens(t, secret)[0])


def registry_tokens(
    tables: Any, rules: MergeRules, *, secret: Secret | None
) -> dict[int, npt.NDArray[np.uint64]]:
    """Value tokens (before scoping) of every registry value, by type index."""
    out: dict[int, list[npt.NDArray[np.uint64]]] = {}
    if tables is None:
        return {}
    items: Iterable[Any]
    items = tables if isinstance(tables, (list, tuple)) else [tables]
    for table in items:
        if isinstance(table, Mapping) and all(
            isinstance(v, (list, tuple, set)) for v in table.values()
        ):
            source: Mapping[str, Any] = {
                k: np.array(list(v), dtype=object) for k, v in table.items()
            }
        else:
            source = source_columns(table)
        for ti, idtype in enumerate(rules.types):
            if idtype.column in source:
                coded = encode(source[idtype.column])
                tok = _value_tokens(idtype, coded, block_defaults=False, secret=secret).tok
                out.setdefault(ti, []).append(tok[tok != 0])
    return {k: np.unique(np.concatenate(v)) for k, v in out.items()}


_RID_SALT = np.uint64(0x5BD1E995)
#: values per block of the passes that keep their temporaries in the L2 cache
_BLOCK = 1 << 16


def record_tokens(values: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """Tokens of record ids (ints or strings).

    >>> tokens = record_tokens(np.array([0, 1, 2]))
    >>> bool((tokens & np.uint64(1)).all()), len(set(tokens.tolist()))
    (True, 3)
    """
    if values.dtype.kind in "iu":
        ids = values.astype(np.int64, copy=False).view(np.uint64)
        out: npt.NDArray[np.uint64] = np.empty(len(ids), dtype=np.uint64)
        # in blocks whose temporaries stay in the L2 cache (mix64 is five passes)
        for a in range(0, len(ids), _BLOCK):
            block = out[a : a + _BLOCK]
            np.bitwise_xor(ids[a : a + _BLOCK], _RID_SALT, out=block)
            mix64(block, copy=False)
            block |= np.uint64(1)
        return out
    return hash_strings(np.asarray(values, dtype=object).astype(str).astype(object), salt=7)


def _unmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The inverse of :func:`~autoops.identity._normalize.mix64`.

    >>> v = np.array([0, 1, 2**63 + 5], dtype=np.uint64)
    >>> _unmix64(mix64(v)).tolist() == v.tolist()
    True
    """
    x = x.astype(np.uint64, copy=True)
    x ^= (x >> np.uint64(31)) ^ (x >> np.uint64(62))
    x *= np.uint64(pow(0x94D049BB133111EB, -1, 1 << 64))
    x ^= (x >> np.uint64(27)) ^ (x >> np.uint64(54))
    x *= np.uint64(pow(0xBF58476D1CE4E5B9, -1, 1 << 64))
    x ^= (x >> np.uint64(30)) ^ (x >> np.uint64(60))
    return x


def _bit0_partner(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Per integer id, the id whose :func:`record_tokens` token is the same (its mix64
    differs only in bit 0, which the token sets)."""
    flipped = mix64(ids.view(np.uint64) ^ _RID_SALT)
    flipped ^= np.uint64(1)
    other: npt.NDArray[np.int64] = (_unmix64(flipped) ^ _RID_SALT).view(np.int64)
    return other


def _int_tokens_unique(ids: npt.NDArray[Any], slack: int = 1024) -> bool:
    """True when the :func:`record_tokens` of integer *ids* are proven distinct without a
    sort: the ids lie within a span of at most ``4 * len(ids) + slack`` values, are
    distinct (one mark each), and no id's token is another's with bit 0 flipped (the
    tokens are ``mix64(id ^ salt) | 1``, mix64 a bijection, so the id whose token would
    collide is found by inverting it and looked up among the marks). False: unknown
    (not integers, a wide span) or not distinct; the caller then sorts the tokens.

    >>> _int_tokens_unique(np.arange(5)), _int_tokens_unique(np.array([3, 1, 3]))
    (True, False)
    """
    if ids.dtype.kind not in "iu" or len(ids) == 0:
        return False
    ids = ids.astype(np.int64, copy=False)
    lo, hi = int(ids.min()), int(ids.max())
    span = hi - lo + 1
    if span > 4 * len(ids) + slack:
        return False
    seen = np.zeros(span, dtype=bool)
    for a in range(0, len(ids), _BLOCK):
        seen[ids[a : a + _BLOCK] - lo] = True
    if int(np.count_nonzero(seen)) != len(ids):
        return False
    # in blocks whose temporaries stay in the L2 cache (a dozen passes over each)
    for a in range(0, len(ids), _BLOCK):
        other = _bit0_partner(ids[a : a + _BLOCK])
        inside = np.flatnonzero((other >= lo) & (other <= hi))
        if seen[other[inside] - lo].any():
            return False
    return True


def _scope_hash(
    scope: tuple[npt.NDArray[np.int64], npt.NDArray[Any]] | None,
    rows: npt.NDArray[np.int64],
    default: str | None,
) -> npt.NDArray[np.uint64]:
    """Hash of each row's scope (the *default* where it is missing; 0 if that is None too)."""
    codes, distinct = scope if scope is not None else (None, np.zeros(0, dtype=object))
    # hashes of the distinct scopes, then the default's for code -1
    h = hash_strings(np.append(distinct, np.array([default], dtype=object)))
    if codes is None:
        return np.full(len(rows), h[-1], dtype=np.uint64)
    out: npt.NDArray[np.uint64] = h[codes[rows]]
    return out


def _ts_column(
    source: Mapping[str, npt.NDArray[Any]], name: str | None, n: int, assume_tz: str | None
) -> npt.NDArray[np.int64]:
    if name is None:
        # one value for every record: a read-only view, no memory to fill (or fault in)
        return np.broadcast_to(np.int64(NAT), (n,))
    col = source[name]
    if col.dtype.kind != "M":
        from autoops._time import to_utc_us

        col = to_utc_us(col, field=name, assume_tz=assume_tz)
    us = col.astype("datetime64[us]")
    out: npt.NDArray[np.int64] = us.view(np.int64).copy()
    out[np.isnat(us)] = NAT
    return out


def _attempt(task: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """``(task(), None)``, or ``(None, the exception it raised)``."""
    try:
        return task(), None
    except Exception as error:  # raised by prepare in the order of the tasks
        return None, error


def prepare(
    records: Any,
    rules: MergeRules,
    *,
    columns_map: Mapping[str, str] | None = None,
    id_column: str | None = None,
    time_column: str | None = None,
    staff: Any = None,
    kiosks: Any = None,
    consent: Any = None,
    secret: Secret | None = None,
    tombstones: npt.NDArray[np.uint64] | None = None,
    assume_tz: str | None = None,
) -> Prepared:
    """Read, normalise and tokenise *records*; see the module docstring."""
    mapping = dict(columns_map or {})
    names = rules.names
    for col, tname in mapping.items():
        if tname not in names:
            raise ConfigError(
                f"column {col!r} is mapped to unknown identifier type {tname!r}; "
                f"known: {', '.join(names)}",
                key=col,
            )
    type_cols = {t.name: t.column for t in rules.types}
    for col, tname in mapping.items():
        type_cols[tname] = col
    source = source_columns(records)
    string_cols = set(type_cols.values()) | {t.scope for t in rules.types if t.scope}
    string_names = [c for c in sorted(string_cols) if c in source]
    wanted = {f"{c}_verified" for c in type_cols.values()}
    wanted |= set(ID_COLUMNS) | set(TIME_COLUMNS)
    for extra in (id_column, time_column):
        if extra is not None:
            wanted.add(extra)
    src = columns(
        source,
        [c for c in (id_column, time_column) if c],
        optional=sorted(wanted - set(string_names)),
        what="records",
        assume_tz=assume_tz,
    )
    lengths = {len(v) for v in src.values()} | {len(source[c]) for c in string_names}
    if not lengths:
        raise InvalidInput("records hold no identifier column", code="no_identifier_columns")
    if len(lengths) > 1:
        raise InvalidInput(f"records columns differ in length: {sorted(lengths)}", code="ragged")
    n = lengths.pop()
    present_types = [i for i, t in enumerate(rules.types) if type_cols[t.name] in string_names]
    if not present_types:
        known = ", ".join(sorted(type_cols.values()))
        raise InvalidInput(
            f"records hold none of the identifier columns ({known}); map others with columns=",
            code="no_identifier_columns",
        )
    if id_column is None:
        id_column = next((c for c in ID_COLUMNS if c in src), None)
    if time_column is None:
        time_column = next((c for c in TIME_COLUMNS if c in src), None)
    record_id = src[id_column] if id_column else np.arange(n, dtype=np.int64)

    def record_facts() -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        """The record-id tokens (checked unique) and the times: a task of its own."""
        rid_token = record_tokens(record_id)
        if _int_tokens_unique(np.asarray(record_id)):
            return rid_token, _ts_column(src, time_column, n, assume_tz)
        srt = np.sort(rid_token)
        if (srt[1:] == srt[:-1]).any():
            order = np.argsort(rid_token, kind="stable")
            dup = np.flatnonzero(rid_token[order][1:] == rid_token[order][:-1])
            bad = sorted({int(order[d]) for d in dup} | {int(order[d + 1]) for d in dup})[:20]
            raise InvalidInput(
                f"{len(dup)} duplicate record ids",
                field=id_column,
                row=bad,
                code="duplicate_record_id",
            )
        return rid_token, _ts_column(src, time_column, n, assume_tz)

    staff_tok = registry_tokens(staff, rules, secret=secret)
    kiosk_tok = registry_tokens(kiosks, rules, secret=secret)
    # scope columns first: they are read by the types they scope
    scope_names = sorted({t.scope for t in rules.types if t.scope} & set(string_names))
    scoped = parallel_map(lambda c: _encode_column(source[c])[0], scope_names)
    coded = dict(zip(scope_names, scoped, strict=True))

    def type_edges(ti: int) -> _TypeEdges:
        idtype = rules.types[ti]
        col = type_cols[idtype.name]
        # an identifier column is read factorised: an Arrow-backed string column never
        # becomes one Python string per row (see autoops._tabular.encode)
        column = _read_column(source[col])
        facts = _distinct_facts(idtype, column.distinct, block_defaults=rules.block_defaults,
                                secret=secret)  # fmt: skip
        rows = np.arange(column.n, dtype=np.int64) if column.present is None else column.present
        c = column.codes
        absent = facts.status == Status.ABSENT
        if absent.any():
            keep = ~absent[c]
            if not keep.all():
                rows, c = rows[keep], c[keep]
        # registries act on the distinct values (an edge's status is its value's)
        status_u = facts.status
        if ti in staff_tok:
            status_u[(status_u == Status.OK) & np.isin(facts.tok, staff_tok[ti])] = Status.STAFF
        if ti in kiosk_tok:
            status_u[(status_u == Status.OK) & np.isin(facts.tok, kiosk_tok[ti])] = Status.KIOSK
        tok: npt.NDArray[np.uint64] | None = None
        status: npt.NDArray[np.int8] | None = None
        vkey: npt.NDArray[np.int64] | None = None
        key_tok = facts.key_tok
        if idtype.scope is not None:
            tok, status = facts.tok[c], status_u[c]
            scope_h = _scope_hash(coded.get(idtype.scope), rows, idtype.default_scope)
            status[(status == Status.OK) & (scope_h == 0)] = Status.SCOPE
            tok = np.where(tok != 0, combine(tok, scope_h), tok)
            # the same value under two scopes is two keys: factorise the scoped tokens
            has = tok != 0
            vkey = np.full(len(rows), -1, dtype=np.int64)
            vkey[has], key_tok = factorize_u64(tok[has])
        ver = src.get(f"{col}_verified")
        verified = (
            None
            if ver is None
            else np.asarray(np.where(present(ver), ver, False), dtype=bool)[rows]
        )
        if idtype.needs_verification:
            if status is None:
                status = status_u[c]
            if verified is None:
                status[status == Status.OK] = Status.UNVERIFIED
            else:
                status[(status == Status.OK) & ~verified] = Status.UNVERIFIED
        return _TypeEdges(ti, rows, c, facts, len(key_tok), key_tok, column.raw_of,
                          tok, status, vkey, verified)  # fmt: skip

    # the types are independent (reading, encoding, normalising, hashing) until their
    # edges are laid end to end: numpy and Arrow release the GIL, so they run on
    # several threads. The longest tasks start first (phones, with their normalisation,
    # then the other columns, the short record facts last), but the record facts'
    # errors (duplicate ids, bad times) are raised first, then the columns' in order.
    tasks: list[Callable[[], Any]] = [record_facts]
    tasks += [functools.partial(type_edges, ti) for ti in present_types]
    longest_first = sorted(
        range(1, len(tasks)), key=lambda i: rules.types[present_types[i - 1]].normalizer != "phone"
    )
    start = [*longest_first, 0]  # fmt: skip
    attempts = parallel_map(_attempt, [tasks[i] for i in start])
    done: list[Any] = [None] * len(tasks)
    errors: list[BaseException | None] = [None] * len(tasks)
    for i, (value, error) in zip(start, attempts, strict=True):
        done[i], errors[i] = value, error
    for error in errors:
        if error is not None:
            raise error
    rid_token, ts = done[0]
    parts: list[_TypeEdges] = done[1:]
    details: dict[str, int] = {}
    offsets = [0]
    key_offsets = [0]
    gmaps = []
    for part in parts:
        gmaps.append(np.array([details.setdefault(d, len(details)) for d in part.facts.names] + [-1],
                              dtype=np.int16))  # fmt: skip
        offsets.append(offsets[-1] + len(part.rows))
        key_offsets.append(key_offsets[-1] + part.n_keys)
    m = offsets[-1]
    n_keys = key_offsets[-1]
    # rows and raw codes (each below n) in 32 bits when they fit: a third less of the
    # largest allocation of prepare, memory that is fresh (slow to fault in) on every call
    narrow = np.int32 if n < 2**31 else np.int64
    rec = np.empty(m, dtype=narrow)
    etype = np.empty(m, dtype=np.int16)
    # the edges' tokens are their keys' (key_tok[e_key]): made only for consent and
    # tombstones, which read them here; otherwise Prepared.e_tok makes them when asked
    need_tok = consent is not None or (tombstones is not None and len(tombstones) > 0)
    etok = np.empty(m if need_tok else 0, dtype=np.uint64)
    # no <column>_verified column: no flags at all (recycle then has nothing to do)
    any_verified = any(p.verified is not None for p in parts)
    estatus = np.empty(m, dtype=np.int8)
    e_detail = np.empty(m, dtype=np.int16)
    e_ver = np.empty(m if any_verified else 0, dtype=bool)
    e_raw = np.empty(m, dtype=narrow)
    # the keys too, when the records and the keys together fit in 32 bits (solve numbers
    # the keys after the records, n + key): the largest array laid out, half of it
    key_dtype = np.int32 if n + n_keys < 2**31 else np.int64
    e_key = np.empty(m, dtype=key_dtype)
    has_any = np.zeros(n, dtype=bool)  # the records holding an identifier

    def lay(j: int) -> None:
        """Per edge of type *j*: its facts, gathered through its value's code where the
        value decides them (no per-type copy to lay out again), straight into the laid-out
        arrays (:func:`~autoops._parallel.take_into`: the codes index the distinct values)."""
        part, a, b = parts[j], offsets[j], offsets[j + 1]
        facts, c = part.facts, part.raw
        rec[a:b] = part.rows
        # (types on other threads may mark the same records: every write is True)
        has_any[part.rows] = True
        etype[a:b] = part.ti
        if need_tok:
            if part.tok is None:
                take_into(facts.tok, c, etok[a:b])
            else:
                etok[a:b] = part.tok
        if part.status is None:
            take_into(facts.status, c, estatus[a:b])
        else:
            estatus[a:b] = part.status
        take_into(gmaps[j][facts.detail], c, e_detail[a:b])
        if any_verified:
            e_ver[a:b] = False if part.verified is None else part.verified
        e_raw[a:b] = c
        if part.key is None:
            glob = np.where(facts.key >= 0, facts.key + key_offsets[j], -1).astype(key_dtype)
            take_into(glob, c, e_key[a:b])
        else:
            keys = e_key[a:b]
            np.add(part.key, key_offsets[j], out=keys)
            keys[part.key < 0] = -1

    parallel_map(lay, range(len(parts)))
    raw_cols = _LazyRaw({rules.types[p.ti].name: p.raw_of for p in parts})
    if consent is not None:
        _apply_consent(consent, rules, rec, etype, etok, estatus, secret=secret)
    if need_tok:
        etok = chain_tokens(etok, secret)
    key_tok = chain_tokens(np.concatenate([p.key_tok for p in parts]), secret)
    key_type = np.repeat(np.array([p.ti for p in parts], dtype=np.int16),
                         [p.n_keys for p in parts])  # fmt: skip
    if tombstones is not None and len(tombstones):
        estatus[(estatus == Status.OK) & np.isin(etok, tombstones)] = Status.FORGOTTEN
    issues = []
    empty_rows = np.flatnonzero(~has_any)
    if len(empty_rows):
        issues.append(("no_identifiers", "record holds no identifier", empty_rows))
    return Prepared(
        n=n,
        record_id=np.asarray(record_id),
        rid_token=rid_token,
        ts=ts,
        e_rec=rec,
        e_type=etype,
        e_tok=etok if need_tok else None,
        e_status=estatus,
        e_detail=e_detail,
        details=tuple(details),
        raw=raw_cols,
        issues=tuple(issues),
        e_verified=e_ver if any_verified else None,
        e_key=e_key,
        n_keys=n_keys,
        e_raw=e_raw,
        key_tok=key_tok,
        key_type=key_type,
    )


def _apply_consent(
    consent: Any,
    rules: MergeRules,
    rec: npt.NDArray[np.integer[Any]],
    etype: npt.NDArray[np.int16],
    etok: npt.NDArray[np.uint64],
    estatus: npt.NDArray[np.int8],
    *,
    secret: Secret | None,
) -> None:
    """Mark every edge of a record whose phone lacks ``identity_merge`` consent."""
    names: Sequence[str] = rules.names
    if "phone" not in names:
        raise ConfigError(
            "consent is keyed by phone, but the rules have no 'phone' type", key="consent"
        )
    ti = names.index("phone")
    idtype = rules.types[ti]
    cols = columns(consent, ["phone", "identity_merge"], optional=["revoked_at"], what="consent")
    values = _value_tokens(idtype, encode(cols["phone"]), block_defaults=False, secret=secret)
    tok = np.zeros(len(cols["phone"]), dtype=np.uint64)
    tok[values.rows] = values.tok
    allowed = np.asarray(cols["identity_merge"], dtype=bool)
    if "revoked_at" in cols:
        allowed &= np.isnat(cols["revoked_at"].astype("datetime64[us]"))
    known = tok[tok != 0]
    denied = np.unique(tok[(tok != 0) & ~allowed])
    # a phone with both an allowing and a denying row is denied
    phone_edge = etype == ti
    bad_rec = phone_edge & np.isin(etok, denied)
    if rules.consent_required:
        bad_rec |= phone_edge & ~np.isin(etok, known)
    bad_rows = np.unique(rec[bad_rec])
    hit = np.isin(rec, bad_rows) & (estatus == Status.OK)
    estatus[hit] = Status.CONSENT
