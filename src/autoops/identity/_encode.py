"""Dictionary encoding of short ASCII Arrow strings in numpy, by one sort of 64-bit keys.

Arrow's ``dictionary_encode`` hashes every row into one table of all the
distinct values; once that table is larger than the CPU caches (a million
distinct phones and more), nearly every row is a cache miss. :func:`encode_short`
does the same job for columns whose strings are ASCII and at most 32 bytes
long (phones, unionids, account and device ids): each value is packed into
up to four 64-bit words straight from Arrow's buffers and hashed; the top
bits of each row's hash, with the row number in the low bits, make one
64-bit key per row, and one ``np.sort`` of the keys (numpy's vectorised sort
of 64-bit integers, much faster than an ``argsort`` or a hash table in numpy)
brings the rows of equal hash bits together, in row order. Every row is
compared with the row before it in that order, so a hash collision can never
merge two values: the few runs of rows that hold several values are regrouped
exactly (``np.unique`` of their words). The codes are numbered in first-seen
order, exactly as Arrow's, and the distinct values come as the NUL-padded
fixed-width text :func:`~autoops.identity._prepare._ascii_text` gives.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from autoops.identity._normalize import mix64

__all__ = ["ShortCodes", "encode_short", "encode_words", "spread_codes"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

#: the longest string packed (four words); longer columns go to Arrow
MAX_BYTES = 32
#: rows per block of the passes that keep their temporaries in the L2 cache
BLOCK = 1 << 14
#: rows per block of the other passes over every row (temporaries the allocator recycles)
SPAN = 1 << 16
#: per number of valid bytes 0..8, the mask of a little-endian word's first bytes
_MASKS = np.array([(1 << (8 * b)) - 1 for b in range(9)], dtype=np.uint64)


@attrs.frozen
class ShortCodes:
    """The result of :func:`encode_short`.

    ``present`` the rows holding a value (None: every row) and ``present_codes``
    their codes; ``text`` the distinct values in first-seen order as fixed-width
    unicode; ``rows`` the row of each distinct value's first occurrence (to
    build Python strings when one is shown); :attr:`codes` the code of every
    row (``-1`` for null).
    """

    n: int
    present: I64 | None
    present_codes: I64
    text: npt.NDArray[np.str_]
    rows: I64

    @property
    def codes(self) -> I64:
        """The code of every row, ``-1`` for null."""
        return spread_codes(self.n, self.present, self.present_codes)


def spread_codes(n: int, present: I64 | None, codes: I64) -> I64:
    """The *codes* of the rows *present* (None: every row) as a code for each of *n* rows,
    ``-1`` for the others.

    >>> spread_codes(4, np.array([1, 3]), np.array([0, 1])).tolist()
    [-1, 0, -1, 1]
    """
    if present is None:
        return codes
    out = np.full(n, -1, dtype=np.int64)
    out[present] = codes
    return out


def _lengths(offsets: npt.NDArray[Any], rows: I64 | None, a: int, b: int) -> tuple[I64, I64]:
    """The start (in the data buffer) and the length of the valid rows a..b."""
    if rows is None:
        at = offsets[a:b].astype(np.int64)
        size = offsets[a + 1 : b + 1] - at
    else:
        r = rows[a:b]
        at = offsets[r].astype(np.int64)
        size = offsets[r + 1] - at
    return at, size


def _words(data: npt.NDArray[np.uint8]) -> U64:
    """The little-endian 64-bit word starting at each byte of *data* (but the last 7)."""
    words: U64 = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    return words


def _hash_rows(rows: U64) -> U64:
    """A 64-bit hash of each row of a matrix of words."""
    h: U64 = rows[:, 0] * np.uint64(0x9E3779B97F4A7C15)
    mix64(h, copy=False)
    for j in range(1, rows.shape[1]):
        h ^= rows[:, j]
        mix64(h, copy=False)
    return h


def _first_seen(mat: U64, key: U64, row_bits: int, *, exact: bool = False) -> tuple[I64, I64, I64]:
    """The code of each row of *mat* (equal rows, equal codes; numbered in first-seen
    order), the first row of each code, and the codes in the order of the sorted keys,
    from *key*: per row, the top bits of its hash above the row number in the low
    *row_bits* bits (sorted in place, then overwritten). *exact*: the top bits are the
    row itself (one word), not a hash, so rows of equal top bits are equal and are not
    compared."""
    m = len(key)
    low = np.uint64((1 << row_bits) - 1)
    # one sort (numpy's vectorised sort of 64-bit integers): rows of equal hash bits
    # follow one another, in row order, so a run's first row is its first occurrence
    key.sort()
    start_of = np.empty(m, dtype=bool)
    start_of[0] = True
    shift = np.uint64(row_bits)
    for a in range(1, m, SPAN):
        b = min(a + SPAN, m)
        hb = key[a - 1 : b] >> shift
        np.not_equal(hb[1:], hb[:-1], out=start_of[a:b])
    key &= low
    order: I64 = key.view(np.int64)  # the row at each sorted position (the key's low bits)
    del key
    # a run holds one value when each of its rows equals the one before it: compared
    # block by block of sorted positions (no sorted copy of the matrix)
    splits: list[I64] = []
    for a in range(1, 1 if exact else m, SPAN):
        b = min(a + SPAN, m)
        ms = np.take(mat, order[a - 1 : b], axis=0)
        same = np.equal(ms[1:, 0], ms[:-1, 0])
        for j in range(1, ms.shape[1]):
            same &= np.equal(ms[1:, j], ms[:-1, j])
        same |= start_of[a:b]
        if not same.all():
            splits.append(np.flatnonzero(~same) + a)
    runs = np.flatnonzero(start_of)
    first_row = order[runs]  # per run its first row
    bad: I64 | None = None
    if splits:  # a hash collision: the runs holding several values, regrouped exactly
        bad_run = np.zeros(len(runs), dtype=bool)
        bad_run[np.searchsorted(runs, np.concatenate(splits), side="right") - 1] = True
        bad = np.flatnonzero(np.repeat(bad_run, np.diff(np.append(runs, m))))
        _, at_first, sub = np.unique(np.take(mat, order[bad], axis=0), axis=0,
                                     return_index=True, return_inverse=True)  # fmt: skip
        first_row = np.concatenate([first_row, order[bad[at_first]]])
    # number the groups in first-seen order: a group's code is the rank of its first row
    # among the first rows (found through the code array, written over below)
    is_first = np.zeros(m, dtype=bool)
    is_first[first_row] = True
    dict_pos = np.flatnonzero(is_first)  # valid rows holding a first occurrence, in order
    del is_first
    codes_v = np.empty(m, dtype=np.int64)
    codes_v[dict_pos] = np.arange(len(dict_pos), dtype=np.int64)
    new_code = codes_v[first_row]
    # each sorted position takes its run's code, block by block
    seen = 0
    for a in range(0, m, SPAN):
        b = min(a + SPAN, m)
        run_of = np.cumsum(start_of[a:b], dtype=np.int64)
        run_of += seen - 1
        seen = int(run_of[-1]) + 1
        codes_v[order[a:b]] = new_code[run_of]
    if bad is not None:
        codes_v[order[bad]] = new_code[len(runs) :][sub.reshape(-1)]
    del order, start_of
    # the codes in sorted order: a run holding several values stands for none of them
    by_key = new_code if bad is None else np.concatenate([new_code[: len(runs)][~bad_run],
                                                          new_code[len(runs) :]])  # fmt: skip
    return codes_v, dict_pos, by_key


def encode_words(words: U64) -> tuple[I64, I64, I64]:
    """The code of each of *words* (64-bit values; equal values, equal codes, numbered in
    first-seen order), the first position of each code, and the codes in the order the
    values were sorted (ascending values when they fit above the positions, e.g.
    addresses; else by hash): what a hash table of the values gives, by the one sort
    of :func:`encode_short` (hashed in blocks whose temporaries stay in the L2 cache;
    a hash collision never merges two values).

    >>> codes, first, by_value = encode_words(np.array([7, 3, 7, 9, 3], dtype=np.uint64))
    >>> codes.tolist(), first.tolist(), by_value.tolist()
    ([0, 1, 0, 2, 1], [0, 1, 3], [1, 0, 2])
    """
    m = len(words)
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    mat = words.reshape(m, 1)
    row_bits = max(1, (m - 1).bit_length())
    low = np.uint64((1 << row_bits) - 1)
    key = np.empty(m, dtype=np.uint64)
    lo, hi = int(words.min()), int(words.max())
    # the trailing zero bits every value has (addresses of objects: 16-byte aligned), so
    # that the distinct values less the smallest, shifted, stay distinct
    every = int(np.bitwise_or.reduce(words))
    shift = (every & -every).bit_length() - 1 if every else 0
    # when they fit above the row numbers, the values themselves are the sort keys
    exact = ((hi - lo) >> shift).bit_length() + row_bits <= 64
    for a in range(0, m, BLOCK):
        b = min(a + BLOCK, m)
        if exact:  # the value itself (less the smallest, shifted) above the row number
            h = words[a:b] - np.uint64(lo)
            h >>= np.uint64(shift)
            h <<= np.uint64(row_bits)
        else:
            h = _hash_rows(mat[a:b])
            h &= ~low
        h |= np.arange(a, b, dtype=np.uint64)
        key[a:b] = h
    return _first_seen(mat, key, row_bits, exact=exact)


def encode_short(arrow: Any) -> ShortCodes | None:
    """Codes and distinct values of a pyarrow string array, or None when it does not qualify.

    Qualifies: a (large) string ``pyarrow.Array`` whose non-null values are
    ASCII, at most :data:`MAX_BYTES` bytes long, and not all empty. The codes
    are Arrow's ``dictionary_encode`` indices (first-seen order, ``-1`` for
    null) and ``text`` what
    :func:`~autoops.identity._prepare._ascii_text` makes of its dictionary.

    >>> import pyarrow as pa
    >>> out = encode_short(pa.array(["b", None, "a", "b", "ab"]))
    >>> out.codes.tolist(), out.text.tolist(), out.rows.tolist()
    ([0, -1, 1, 0, 2], ['b', 'a', 'ab'], [0, 2, 4])
    """
    import pyarrow as pa

    if not isinstance(arrow, pa.Array):
        return None
    large = pa.types.is_large_string(arrow.type)
    if not (large or pa.types.is_string(arrow.type)):
        return None
    n = len(arrow)
    _, off_buf, data_buf = arrow.buffers()
    if n == 0 or data_buf is None:
        return None
    offsets = np.frombuffer(off_buf, dtype=np.int64 if large else np.int32)
    offsets = offsets[arrow.offset : arrow.offset + n + 1]
    rows: I64 | None = None
    if arrow.null_count:
        rows = np.flatnonzero(np.asarray(arrow.is_valid()))
    m = n if rows is None else len(rows)
    if m == 0:
        return None
    # every pass over the rows works in blocks: no array of the rows' starts or lengths
    # (fresh memory is slow to touch; blocks of temporaries are recycled and stay cached)
    width = max(
        int(_lengths(offsets, rows, a, min(a + SPAN, m))[1].max()) for a in range(0, m, SPAN)
    )
    if width == 0 or width > MAX_BYTES:
        return None
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buf, dtype=np.uint8)
    if int(data[lo:hi].max()) >= 128:
        return None
    n_words = (width + 7) // 8
    # the words of a row are read straight from Arrow's buffer where the buffer holds
    # them whole (its bytes past a value are masked off); the last few rows, whose
    # words would run past the buffer, from a NUL-padded copy of their bytes
    limit = len(data) - 8 * n_words
    cut = 0
    if limit >= 0:
        # the limit in the offsets' own type (clamped: no offset is larger), as a Python
        # int would make numpy convert every offset to int64 first
        at = offsets.dtype.type(min(limit, int(np.iinfo(offsets.dtype).max)))
        cut = int(np.searchsorted(offsets[:-1], at, side="right"))
    if rows is not None:
        cut = int(np.searchsorted(rows, cut))
    segments: list[tuple[int, int, U64, int]] = []
    if cut:
        segments.append((0, cut, _words(data), 0))
    if cut < m:
        t_lo = int(_lengths(offsets, rows, cut, cut + 1)[0][0])
        tail = np.zeros(hi - t_lo + MAX_BYTES, dtype=np.uint8)
        tail[: hi - t_lo] = data[t_lo:hi]
        segments.append((cut, m, _words(tail), t_lo))
    # per valid row its words, one row of a matrix (the length in the last word's top
    # byte when no value reaches it, else a column of its own), and a sort key: the top
    # bits of the row's hash above the row number. Built in blocks whose temporaries stay
    # in the L2 cache
    fold = width < 8 * n_words
    mat = np.empty((m, n_words if fold else n_words + 1), dtype=np.uint64)
    row_bits = max(1, (m - 1).bit_length())
    low = np.uint64((1 << row_bits) - 1)
    key = np.empty(m, dtype=np.uint64)
    for s0, s1, words_of, base in segments:
        for a in range(s0, s1, BLOCK):
            b = min(a + BLOCK, s1)
            at, size = _lengths(offsets, rows, a, b)
            at -= base
            for j in range(n_words):
                if j:
                    at += 8
                w: U64 = words_of[at]
                w &= _MASKS[np.clip(size - 8 * j, 0, 8)]
                mat[a:b, j] = w
            if fold:
                mat[a:b, n_words - 1] |= size.astype(np.uint64) << np.uint64(56)
            else:
                mat[a:b, n_words] = size
            h = _hash_rows(mat[a:b])
            h &= ~low
            h |= np.arange(a, b, dtype=np.uint64)
            key[a:b] = h
    codes_v, dict_pos, _ = _first_seen(mat, key, row_bits)
    # the distinct values' bytes, NUL-padded to the width, as code points
    packed = np.take(mat, dict_pos, axis=0)[:, :n_words]
    cps = np.ascontiguousarray(packed).view(np.uint8)[:, :width].astype(np.uint32)
    text: npt.NDArray[np.str_] = np.ascontiguousarray(cps).view(f"<U{width}").reshape(-1)
    if rows is None:
        return ShortCodes(n, None, codes_v, text, dict_pos)
    return ShortCodes(n, rows, codes_v, text, rows[dict_pos])
