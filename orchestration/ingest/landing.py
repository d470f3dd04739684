"""The landing zone's rules for files, checked before any parser sees a byte.

A delivered file is accepted for loading only when its path stays inside the landing zone
(no symbolic links, no ``..``), its name is plain (letters, digits, ``.``, ``_``, ``-``), it
is finished (see below), it is not larger than the platform's bounds, and its text is UTF-8
without a byte-order mark. Rows are then counted here, independently of DuckDB's parsers, so
that every load reconciles: ``rows_in = rows_loaded + rows_quarantined``.

A file still being written:
    Departments (and the sample generator) deliver by writing ``<name>.part`` (or ``.tmp``,
    ``.partial``, ``.filepart``, ``.crdownload``) and renaming it when complete; such files,
    Excel lock files (``~$...``) and hidden files are never loaded. A file whose size or
    modification time changes while it is being read is rejected (and retried on the next
    run, since its bytes differ). The landing sensor also waits until a file's size and
    modification time are unchanged between two ticks before it starts a run.

Hashing:
    A file's SHA-256 is its identity in the ingestion log. Files already dealt with are
    hashed again on every run to tell whether their bytes changed, so their digests are
    remembered by their stat (:func:`landing_hashes`): a run with nothing new reads no
    landing file, while a file rewritten in place (same name, new bytes) is hashed again.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestration.state import DigestCache

IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".partial", ".filepart", ".crdownload", ".upload")
SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
MAX_FILE_BYTES = 4 * 1024**3
MAX_ROWS = 50_000_000
MAX_UNCOMPRESSED_BYTES = 16 * 1024**3
MAX_COMPRESSION_RATIO = 200
BLOCK = 8 * 1024 * 1024
HASHES_FILE = "landing_hashes.json"
"""The landing files' remembered digests, in the data directory's ``state`` folder."""


class FileProblem(Exception):
    """A delivered file breaks a landing-zone rule.

    Attributes:
        reason: Short code of the rule broken (``unsafe_path``, ``encoding``, ...).
        retryable: Whether the same bytes may load later (a file still being written).
    """

    def __init__(self, reason: str, message: str, retryable: bool = False):
        self.reason = reason
        self.retryable = retryable
        super().__init__(message)


@dataclass(frozen=True)
class FileStamp:
    """Size and modification time of a file, to tell whether it changed while being read."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        """The stamp of ``path`` now (without following symbolic links)."""
        st = path.lstat()
        return cls(st.st_size, st.st_mtime_ns)


def check_path(path: Path, landing_dir: Path) -> None:
    """Refuses symbolic links, paths escaping the landing zone and odd file names.

    Raises:
        FileProblem: The path breaks one of the rules.
    """
    if path.is_symlink():
        raise FileProblem(
            "unsafe_path", "is a symbolic link; deliver the file itself into the landing zone"
        )
    root = landing_dir.resolve()
    resolved = path.resolve()
    if root not in resolved.parents:
        raise FileProblem("unsafe_path", f"resolves outside the landing zone ({resolved})")
    for part in path.relative_to(landing_dir).parts[:-1]:
        if (path.parent / part).is_symlink():
            raise FileProblem("unsafe_path", f"folder {part!r} is a symbolic link")
    if not SAFE_FILE_NAME.match(path.name) or ".." in path.name:
        raise FileProblem(
            "file_name",
            f"name {path.name!r} may only hold letters, digits, '.', '_' and '-' "
            "(no spaces, quotes or other characters); rename the file and deliver it again",
        )


def is_in_progress(path: Path) -> bool:
    """Whether a file's name says it is still being written (or is a lock or hidden file)."""
    name = path.name.lower()
    return name.startswith((".", "~$")) or name.endswith(IN_PROGRESS_SUFFIXES)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def landing_hashes(state_dir: Path, landing_dir: Path) -> DigestCache:
    """The remembered SHA-256 of the landing files (``<state dir>/landing_hashes.json``).

    A file is hashed with :func:`file_sha256` unless its size, times and inode are what they
    were when it was last hashed (:class:`~orchestration.state.DigestCache`). Call ``save()``
    to keep what was hashed for the next run.
    """
    return DigestCache(state_dir / HASHES_FILE, landing_dir, hasher=lambda p: file_sha256(p))


def check_size(path: Path, size: int, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuses empty files and files above the size bound."""
    if size == 0:
        raise FileProblem("empty", "the file is empty (0 bytes)")
    if size > max_bytes:
        raise FileProblem(
            "too_large", f"the file is {size:,} bytes; the limit is {max_bytes:,}; split it"
        )


@dataclass(frozen=True)
class TextScan:
    """What an independent byte-level pass found in a text file.

    Attributes:
        record_starts: Byte offset of every non-blank record (the header first, for CSV).
        header: The first record's bytes (CSV header line), without its line ending.
        ends_with_newline: Whether the last record is terminated.
    """

    record_starts: np.ndarray
    header: bytes
    ends_with_newline: bool

    @property
    def records(self) -> int:
        """Number of non-blank records, header included."""
        return int(self.record_starts.size)


def _record_ends(block: bytes, quote: bytes | None, quotes_before: int) -> tuple[np.ndarray, int]:
    """Offsets in ``block`` of the line feeds that end a record, and the quotes it holds.

    A line feed ends a record unless it is inside quotes: ``quote`` doubles to escape itself,
    so the parity of the quotes before it (``quotes_before`` of them in earlier blocks) tells.
    With no ``quote`` (NDJSON) every line feed ends a record.
    """
    data = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    if quote is None:
        return newlines, 0
    quote_pos = np.flatnonzero(data == quote[0])
    parity = (quotes_before + np.searchsorted(quote_pos, newlines)) & 1
    return newlines[parity == 0], int(quote_pos.size)


def scan_text(path: Path, quote: bytes | None, max_rows: int = MAX_ROWS) -> TextScan:
    """Checks encoding and counts records of a text file without a CSV or JSON parser.

    Records end at a line feed outside quotes (``quote`` doubles to escape itself, so the
    parity of quotes before a line feed tells whether it is inside a quoted value). Blank
    lines (empty or a lone carriage return) are not records.

    Args:
        path: The file.
        quote: The quote byte (CSV) or None (NDJSON: a record is a line).
        max_rows: Bound on the number of records.

    Raises:
        FileProblem: Byte-order mark, UTF-16, text that is not UTF-8 (with the byte offset),
            an unterminated quote at the end of the file, or too many rows.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    terminators: list[np.ndarray] = []
    offset = 0
    quotes_before = 0
    first = b""
    last_byte = b""
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            if offset == 0:
                first = block[:4096]
                if block.startswith(codecs.BOM_UTF8):
                    raise FileProblem(
                        "encoding",
                        "starts with a UTF-8 byte-order mark; save as UTF-8 without BOM",
                    )
                if block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
                    b"\x00" in block[:4096]
                ):
                    raise FileProblem(
                        "encoding", "is UTF-16 (or holds NUL bytes); save it as UTF-8"
                    )
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise FileProblem(
                    "encoding",
                    f"is not UTF-8 (invalid byte 0x{block[exc.start]:02x} at byte "
                    f"{offset + exc.start:,}; Latin-1 or Windows-1252?); save it as UTF-8",
                ) from exc
            newlines, quotes = _record_ends(block, quote, quotes_before)
            quotes_before += quotes
            terminators.append(newlines + offset)
            offset += len(block)
            last_byte = block[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise FileProblem("encoding", "ends inside a UTF-8 character; save it as UTF-8") from exc
    if quote is not None and quotes_before % 2:
        raise FileProblem(
            "unterminated_quote",
            "a quoted value is never closed (unterminated quote, or the file is truncated)",
        )
    ends = np.concatenate([*terminators, np.empty(0, np.int64)]).astype(np.int64)
    ends_with_newline = last_byte == b"\n"
    if not ends_with_newline and offset:
        ends = np.append(ends, offset)
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    length = ends - starts
    blank = length == 0
    ones = np.flatnonzero(length == 1)
    if ones.size:
        blank[ones] = np.memmap(path, dtype=np.uint8, mode="r")[starts[ones]] == 13
    starts = starts[~blank]
    if starts.size > max_rows + 1:
        raise FileProblem("too_many_rows", f"holds more than {max_rows:,} rows; split it")
    header = b""
    if starts.size:
        end = int(ends[~blank][0])
        header = (
            first[int(starts[0]) : end] if end <= len(first) else _read_range(path, starts[0], end)
        )
    return TextScan(starts, header.rstrip(b"\r"), ends_with_newline)


def first_record(path: Path, quote: bytes | None, limit: int = 4 * 1024 * 1024) -> bytes:
    """The first non-blank record of a text file (a CSV header), without its line ending.

    Records end as in :func:`scan_text` (a line feed outside quotes), so this is the header
    :func:`scan_text` reports, read from the start of the file alone so that the file can be
    parsed while the full scan runs. Reads at most ``limit`` bytes; a longer first record is
    returned cut at the limit (the full scan then disagrees and the file is refused).
    """
    with path.open("rb") as handle:
        head = handle.read(limit)
    newlines, _ = _record_ends(head, quote, 0)
    start = 0
    for end in [*newlines.tolist(), len(head)]:
        record = head[start:end].rstrip(b"\r")
        if record:
            return record
        start = end + 1
    return b""


def _read_range(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(int(start))
        return handle.read(int(end) - int(start))


def check_parquet(path: Path, max_rows: int = MAX_ROWS) -> tuple[int, list[str]]:
    """Rows and column names of a Parquet file from its footer, bounded.

    Raises:
        FileProblem: The footer cannot be read, or the file would decompress beyond bounds.
    """
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:
        raise FileProblem("corrupt", f"is not a readable Parquet file ({exc})") from exc
    rows = meta.num_rows
    uncompressed = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if rows > max_rows:
        raise FileProblem("too_many_rows", f"holds {rows:,} rows; the limit is {max_rows:,}")
    if uncompressed > MAX_UNCOMPRESSED_BYTES:
        raise FileProblem(
            "too_large",
            f"decompresses to {uncompressed:,} bytes; the limit is {MAX_UNCOMPRESSED_BYTES:,}",
        )
    names = [meta.schema.column(i).path.split(".")[0] for i in range(meta.num_columns)]
    return rows, list(dict.fromkeys(names))


_SHEET = re.compile(rb"<sheet\b[^>]*?r:id=\"([^\"]+)\"")
_REL = re.compile(rb"<Relationship\b[^>]*?>")


def _tag_positions(data: np.ndarray, opens: np.ndarray, token: bytes) -> np.ndarray:
    """Offsets (sorted) of the ``<`` in ``opens`` that start ``token`` (vectorized)."""
    hit = opens[opens + len(token) <= data.size]
    for i, byte in enumerate(token[1:], start=1):
        hit = hit[data[hit + i] == byte]
    return hit


def _rows_with_values(sheet: bytes) -> int:
    """Rows of a sheet's XML holding at least one cell value (``<v>`` or inline ``<is>``)."""
    data = np.frombuffer(sheet, dtype=np.uint8)
    opens = np.flatnonzero(data[:-1] == ord("<"))
    # Sorting the tags by their first letter once keeps the per-token checks to few offsets.
    letter = data[opens + 1]
    row_opens = opens[letter == ord("r")]
    value_opens = opens[(letter == ord("v")) | (letter == ord("i"))]
    rows = np.sort(
        np.concatenate(
            [_tag_positions(data, row_opens, b"<row "), _tag_positions(data, row_opens, b"<row>")]
        )
    )
    values = np.sort(
        np.concatenate(
            [_tag_positions(data, value_opens, b"<v>"), _tag_positions(data, value_opens, b"<is>")]
        )
    )
    if not rows.size or not values.size:
        return 0
    owner = np.searchsorted(rows, values, side="right") - 1
    owner = owner[owner >= 0]
    return int(owner.size and np.count_nonzero(np.diff(owner)) + 1)


def _check_zip_bounds(book: zipfile.ZipFile) -> None:
    infos = book.infolist()
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNCOMPRESSED_BYTES or (
        total > 64 * 1024**2 and total / packed > MAX_COMPRESSION_RATIO
    ):
        raise FileProblem(
            "too_large", f"decompresses to {total:,} bytes (ratio {total / packed:.0f}:1)"
        )


def check_xlsx_bounds(path: Path) -> None:
    """Refuses an xlsx workbook that is not a zip or would decompress beyond bounds (a bomb).

    Reads only the zip's directory, so it is cheap enough to run before any reader opens it.

    Raises:
        FileProblem: Not a zip workbook, or a decompression bomb.
    """
    try:
        with zipfile.ZipFile(path) as book:
            _check_zip_bounds(book)
    except FileProblem:
        raise
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileProblem("corrupt", f"is not a readable xlsx workbook ({exc})") from exc


def check_xlsx(path: Path, max_rows: int = MAX_ROWS) -> int:
    """Counts the non-empty rows of an xlsx workbook's first sheet from its XML, bounded.

    The count (header included) is taken from the sheet's XML, not from the Excel reader.

    Raises:
        FileProblem: Not a zip workbook, a decompression bomb, or too many rows.
    """
    try:
        with zipfile.ZipFile(path) as book:
            _check_zip_bounds(book)
            workbook = book.read("xl/workbook.xml")
            rels = book.read("xl/_rels/workbook.xml.rels")
            sheet_id = _SHEET.search(workbook).group(1)
            target = next(
                re.search(rb'Target="([^"]+)"', r).group(1).decode()
                for r in _REL.findall(rels)
                if re.search(rb'Id="' + re.escape(sheet_id) + rb'"', r)
            )
            name = target.lstrip("/") if target.startswith("/") else "xl/" + target
            sheet = book.read(name)
    except FileProblem:
        raise
    except (zipfile.BadZipFile, KeyError, AttributeError, StopIteration, OSError) as exc:
        raise FileProblem("corrupt", f"is not a readable xlsx workbook ({exc})") from exc
    rows = _rows_with_values(sheet)
    if rows > max_rows + 1:
        raise FileProblem("too_many_rows", f"holds more than {max_rows:,} rows; split it")
    return rows
