"""Streaming readers and atomic writers for :mod:`geocrime.enrichment` (private).

* :func:`scan_input` — one pass over the input bytes: SHA-256 (for the manifest and resume) and, for
  CSV, a strict decode check so a wrongly encoded file fails *before* any work, naming the line.
* :func:`iter_chunks` — CSV (``pyarrow.csv.open_csv`` streaming, strict about ragged rows, every value
  read as text so input columns are written back unchanged; re-batched to ``chunksize`` rows) or Parquet (``pyarrow.parquet.ParquetFile.iter_batches``), one
  chunk at a time, so memory does not grow with the input size.
* :func:`atomic_write_bytes` / :func:`write_parquet_atomic` — write ``.tmp`` then ``os.replace``.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ..errors import FileFormatError, InputError, MissingColumnsError

_BLOCK = 1 << 20
_DELIMS = {";": "semicolon", "\t": "tab", "|": "pipe", ",": "comma"}


def file_format(path: str | Path, fmt: str | None = None) -> str:
    """``csv`` or ``parquet`` from ``fmt`` or the file suffix (``.csv``/``.txt``/``.tsv``/``.parquet``/``.pq``)."""
    if fmt:
        if fmt not in ("csv", "parquet"):
            raise InputError(f"format must be 'csv' or 'parquet', not {fmt!r}")
        return fmt
    suf = "".join(Path(path).suffixes[-2:]).lower()
    if suf.endswith((".parquet", ".pq", ".geoparquet")):
        return "parquet"
    if suf.endswith((".csv", ".txt", ".tsv", ".csv.gz")):
        return "csv"
    raise InputError(f"cannot tell the format of {path} from its name: use a .csv or .parquet suffix, or pass format=")


def scan_input(path: Path, fmt: str, encoding: str | None) -> dict[str, Any]:
    """SHA-256 and size of ``path``; for CSV also check that it decodes with ``encoding``.

    ``encoding=None`` means strict UTF-8 (a byte-order mark is accepted). A file that does not
    decode raises :class:`FileFormatError` naming the line and byte offset and suggesting
    ``encoding="cp1252"`` — geocrime never guesses an encoding silently.
    """
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    h = hashlib.sha256()
    size = 0
    dec = codecs.getincrementaldecoder(encoding or "utf-8-sig")("strict") if fmt == "csv" else None
    line = 1
    with open(path, "rb") as f:
        while True:
            b = f.read(_BLOCK)
            if not b:
                break
            h.update(b)
            if dec is not None:
                try:
                    dec.decode(b)
                except UnicodeDecodeError as e:
                    bad = size + e.start
                    line += b[: e.start].count(b"\n")
                    if size == 0 and b[:2] in (b"\xff\xfe", b"\xfe\xff"):
                        raise FileFormatError(
                            f"{path} starts with a UTF-16 byte-order mark (Excel 'Unicode text'): pass encoding='utf-16' "
                            f"(CLI: --encoding utf-16), or re-save it as UTF-8 CSV; nothing was written."
                        ) from None
                    raise FileFormatError(
                        f"{path} is not valid {encoding or 'UTF-8'}: byte 0x{b[e.start]:02x} at offset {bad} (line {line}). "
                        f"Files exported from Excel on Windows are often cp1252: pass encoding='cp1252' "
                        f"(CLI: --encoding cp1252) if that is what it is; nothing was written."
                    ) from None
                line += b.count(b"\n")
            size += len(b)
    if dec is not None:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileFormatError(f"{path} ends in the middle of a {encoding or 'UTF-8'} character (truncated file?); "
                                  "nothing was written") from None
    return {"sha256": h.hexdigest(), "bytes": size}


@dataclass
class Reader:
    """An opened input: ``columns`` (names, in file order), ``schema`` (arrow schema of the input columns)."""

    path: Path
    fmt: str
    columns: list[str]
    schema: pa.Schema
    chunksize: int
    sep: str = ","
    encoding: str | None = None
    n_rows: int | None = None

    def __iter__(self) -> Iterator[tuple[pd.DataFrame, pa.Table]]:
        """Yield ``(frame, arrow table of the input columns)`` per chunk, in input order."""
        if self.fmt == "parquet":
            pf = pq.ParquetFile(self.path)
            for batch in pf.iter_batches(batch_size=self.chunksize):
                t = pa.Table.from_batches([batch])
                yield t.to_pandas(), t
            return

        bad: list[Any] = []
        try:
            reader = _open_csv(self.path, self.sep, self.encoding, self.columns, bad)
        except pa.ArrowInvalid as e:
            raise _ragged(self.path, e, bad, len(self.columns)) from None
        pending: list[pa.RecordBatch] = []
        n_pending = 0
        start = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as e:
                raise _ragged(self.path, e, bad, len(self.columns)) from None
            pending.append(batch)
            n_pending += batch.num_rows
            while n_pending >= self.chunksize:
                t = pa.Table.from_batches(pending, schema=self.schema)
                head, rest = t.slice(0, self.chunksize), t.slice(self.chunksize)
                yield self._frame(head, start), head
                start += self.chunksize
                pending, n_pending = rest.to_batches(), rest.num_rows
        if n_pending:
            t = pa.Table.from_batches(pending, schema=self.schema)
            yield self._frame(t, start), t

    @staticmethod
    def _frame(t: pa.Table, start: int) -> pd.DataFrame:
        df = t.to_pandas()
        df.index = pd.RangeIndex(start, start + len(df))
        return df


def _open_csv(path: Path, sep: str, encoding: str | None, columns: list[str] | None, bad: list[Any]) -> Any:
    def handler(row: Any) -> str:
        bad.append(row)
        return "error"

    ro = pcsv.ReadOptions(encoding=encoding or "utf8", block_size=1 << 22)
    po = pcsv.ParseOptions(delimiter=sep, newlines_in_values=True, invalid_row_handler=handler)
    co = pcsv.ConvertOptions(column_types={c: pa.string() for c in columns} if columns else None,
                             strings_can_be_null=False, quoted_strings_can_be_null=False)
    if columns is None:  # header only: read it as text
        co = pcsv.ConvertOptions(strings_can_be_null=False)
    return pcsv.open_csv(path, read_options=ro, parse_options=po, convert_options=co)


def _ragged(path: Path, e: Exception, bad: list[Any], ncols: int) -> FileFormatError:
    if bad:
        r = bad[-1]
        where = f"row {r.number}" if r.number is not None else "a row"
        return FileFormatError(
            f"{path}: ragged row: {where} has {r.actual_columns} field(s), the header has {r.expected_columns} "
            f"({(r.text or '')[:120]!r}). Quote fields that contain the delimiter, or fix the row; no output was written."
        )
    return FileFormatError(f"{path}: cannot parse the CSV ({e}); no output was written")


def open_input(path: Path, fmt: str, chunksize: int, required: list[str], sep: str = ",",
               encoding: str | None = None, text_columns: list[str] | None = None) -> Reader:
    """Open ``path`` and check the header: ``required`` columns present (else
    :class:`MissingColumnsError`, or :class:`FileFormatError` when the header looks split by another
    delimiter), Parquet readable with string-typed ``text_columns``."""
    if chunksize < 1:
        raise InputError(f"chunksize must be >= 1, got {chunksize}")
    if fmt == "parquet":
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise FileFormatError(f"{path} is not a readable Parquet file ({e}); nothing was written") from None
        schema = pf.schema_arrow
        cols = list(schema.names)
        miss = [c for c in required if c not in cols]
        if miss:
            raise MissingColumnsError(miss, cols, f"Parquet file {path}")
        for c in text_columns or ():
            t = schema.field(c).type
            if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)
                    or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type))):
                raise FileFormatError(f"Parquet file {path}: address column {c!r} has type {t}, expected text (string); "
                                      "cast it to string before enriching, or name the right column")
        return Reader(path, fmt, cols, schema, chunksize, n_rows=pf.metadata.num_rows)
    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    if not first.strip():
        raise FileFormatError(f"{path} is empty: no header row")
    try:
        # decode as text, not by splitting bytes at b"\n" (which cuts a UTF-16 line in half)
        with open(path, encoding=encoding or "utf-8-sig", newline="") as fh:
            text = fh.readline(1 << 20)
    except (UnicodeError, LookupError) as e:
        raise FileFormatError(f"{path}: cannot decode the header with {encoding or 'UTF-8'} ({e})") from None
    try:
        names = next(csv.reader(io.StringIO(text), delimiter=sep))
    except (csv.Error, StopIteration) as e:
        raise FileFormatError(f"{path}: cannot read the CSV header ({e})") from None
    cols = [str(c).strip("\r\n") for c in names]
    if len(set(cols)) != len(cols):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        raise FileFormatError(f"{path}: duplicate column names in the header: {dup}")
    miss = [c for c in required if c not in cols]
    if miss:
        if len(cols) <= 2:
            for d, name in _DELIMS.items():
                if d != sep and any(d in c for c in cols):
                    raise FileFormatError(
                        f"{path}: the header has {len(cols)} column(s) and contains {name}s ({cols[0][:80]!r}...): "
                        f"the file looks {name}-delimited, not {_DELIMS.get(sep, repr(sep))}-delimited; "
                        f"pass sep={d!r} (CLI: --sep {d!r})"
                    )
        raise MissingColumnsError(miss, cols, f"CSV file {path}")
    schema = pa.schema([pa.field(c, pa.string()) for c in cols])
    return Reader(path, fmt, cols, schema, chunksize, sep=sep, encoding=encoding)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via ``path.tmp`` + fsync + ``os.replace`` (never a half-written file)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write one Parquet part file atomically (``.tmp`` then ``os.replace``)."""
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
