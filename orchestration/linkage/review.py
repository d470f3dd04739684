"""Clerical review of the person linkage: pairs exported for people to judge, and their
decisions read back as a reviewed precision.

An export holds a sample of scored pairs from the uncertain band (match probability 0.1 to
0.9, from ``linkage.person_candidates`` when the person index keeps it) or, when the band is
empty, the accepted links of lowest probability. Each row shows the two records' compared
values side by side, each comparison's match weight and an empty ``reviewer_decision``
(``match``, ``non-match`` or ``unsure``). Record ids are pseudonymised (keyed HMAC, keeping
the department and dataset) and NINO and NHS numbers masked (``AB****56C``).
"""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration import governance
from orchestration.linkage.source_pairs import (
    CANDIDATES,
    LINKS,
    RECORDS,
    UNCERTAIN_BAND,
    table_exists,
)
from orchestration.privacy import pseudonym

DECISIONS = ("match", "non-match", "unsure")
"""What a reviewer may decide of a pair (an empty decision: not reviewed)."""

DECISION_FIELD = "reviewer_decision"

COMPARED = ("given_name", "family_name", "date_of_birth", "sex", "postcode", "uprn")
"""Record attributes shown side by side, when the unioned records hold them."""

MASKED = ("nino", "nhs_number")
"""Direct identifiers shown masked: first two and last three characters."""

REVIEW_DOMAIN = "linkage_review"
"""Pseudonym domain of the record ids in a review file."""


class ReviewFileError(ValueError):
    """A reviewed file that cannot be read back: names the file, row and field."""

    def __init__(self, path: Path, row: int, field: str, message: str):
        self.path, self.row, self.field = path, row, field
        super().__init__(f"{path}: row {row}, field {field}: {message}")


@dataclass
class ReviewExport:
    """A review sample written to disk.

    Attributes:
        csv_path: The CSV for reviewers to fill in.
        html_path: The same pairs as a static HTML table.
        pairs: Pairs written.
        band: ``uncertain`` or ``lowest accepted`` (where the pairs came from).
    """

    csv_path: Path
    html_path: Path
    pairs: int
    band: str


@dataclass
class ReviewOutcome:
    """The decisions of a reviewed file.

    Attributes:
        matches: Pairs decided ``match``.
        non_matches: Pairs decided ``non-match``.
        unsure: Pairs decided ``unsure``.
        undecided: Rows left without a decision.
    """

    matches: int
    non_matches: int
    unsure: int
    undecided: int

    @property
    def reviewed_pairs(self) -> int:
        """Pairs decided match or non-match."""
        return self.matches + self.non_matches

    @property
    def reviewed_precision(self) -> float | None:
        """Share of the decided pairs decided ``match`` (None when none is decided)."""
        return self.matches / self.reviewed_pairs if self.reviewed_pairs else None


def mask_identifier(value: object) -> str:
    """``AB123456C`` -> ``AB****56C``: the first two and last three characters kept, the
    rest starred (at least four stars); empty for a missing value."""
    if value is None or str(value) == "":
        return ""
    text = str(value)
    if len(text) <= 5:
        return "*" * 4
    return f"{text[:2]}{'*' * max(4, len(text) - 5)}{text[-3:]}"


def review_id(record_id: str, key: str) -> str:
    """A record id pseudonymised for review: ``department:dataset:`` and 16 hex characters
    of the keyed HMAC of the whole id."""
    department, dataset = (record_id.split(":") + ["", ""])[:2]
    return f"{department}:{dataset}:{pseudonym(key, REVIEW_DOMAIN, record_id)[:16]}"


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[str]:
    schema, name = qualified.split(".")
    return [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ? and table_catalog = current_database() order by ordinal_position",
            [schema, name],
        ).fetchall()
    ]


def sample_pairs(
    con: duckdb.DuckDBPyConnection, sample: int, key: str, seed: int = 0
) -> tuple[list[dict], str]:
    """Up to ``sample`` pairs for review, as rows ready to write.

    Args:
        con: Connection to the warehouse.
        sample: Pairs wanted.
        key: Pseudonymisation key for the record ids.
        seed: Varies which uncertain pairs are drawn (the draw is repeatable).

    Returns:
        ``(rows, band)``: the rows and ``uncertain`` or ``lowest accepted``.
    """
    weights = sorted(
        {c for c in _columns(con, LINKS) if c.startswith("match_weight_")}
        | (
            {c for c in _columns(con, CANDIDATES) if c.startswith("match_weight_")}
            if table_exists(con, CANDIDATES)
            else set()
        )
    )
    low, high = UNCERTAIN_BAND
    pairs: list[dict] = []
    band = "uncertain"
    if table_exists(con, CANDIDATES):
        pairs = con.execute(
            f"select * from (select * from {LINKS} union all by name select * from {CANDIDATES}) "
            "where match_probability >= ? and match_probability < ? "
            "order by hash(person_record_id_l || '|' || person_record_id_r || ?::varchar) "
            "limit ?",
            [low, high, seed, sample],
        )
        pairs = _dicts(pairs)
    if not pairs:
        band = "lowest accepted"
        pairs = con.execute(
            f"select * from {LINKS} order by match_probability, person_record_id_l, "
            "person_record_id_r limit ?",
            [sample],
        )
        pairs = _dicts(pairs)
    available = set(_columns(con, RECORDS))
    shown = [c for c in (*COMPARED, *MASKED) if c in available]
    values = {}
    ids = sorted(
        {p["person_record_id_l"] for p in pairs} | {p["person_record_id_r"] for p in pairs}
    )
    if ids:
        select = ", ".join(["person_record_id", *shown])
        for row in con.execute(
            f"select {select} from {RECORDS} where list_contains(?, person_record_id)", [ids]
        ).fetchall():
            values[row[0]] = dict(zip(shown, row[1:], strict=True))
    rows = []
    for pair in pairs:
        row = {
            "pair": len(rows) + 1,
            "record_l": review_id(pair["person_record_id_l"], key),
            "record_r": review_id(pair["person_record_id_r"], key),
            "match_probability": round(float(pair["match_probability"]), 4),
            "match_weight": round(float(pair["match_weight"]), 3),
        }
        left = values.get(pair["person_record_id_l"], {})
        right = values.get(pair["person_record_id_r"], {})
        for name in shown:
            show = mask_identifier if name in MASKED else _text
            row[f"{name}_l"], row[f"{name}_r"] = show(left.get(name)), show(right.get(name))
        for name in weights:
            weight = pair.get(name)
            row[name] = "" if weight is None else round(float(weight), 3)
        row[DECISION_FIELD] = ""
        rows.append(row)
    return rows, band


def _dicts(result: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def write_review(rows: list[dict], directory: Path, band: str) -> ReviewExport:
    """Writes the rows to ``directory/pairs.csv`` and ``directory/pairs.html``."""
    directory.mkdir(parents=True, exist_ok=True)
    fields = list(rows[0]) if rows else ["pair", "record_l", "record_r", DECISION_FIELD]
    csv_path = directory / "pairs.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    head = "".join(f"<th>{html.escape(f)}</th>" for f in fields)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r[f]))}</td>" for f in fields) + "</tr>"
        for r in rows
    )
    html_path = directory / "pairs.html"
    html_path.write_text(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Person linkage: clerical review</title>"
        "<style>table{border-collapse:collapse;font-family:sans-serif;font-size:13px}"
        "td,th{border:1px solid #999;padding:2px 6px}tr:nth-child(even){background:#f3f3f3}"
        "</style></head><body>\n<h1>Person linkage: clerical review</h1>\n"
        f"<p>{len(rows)} pairs ({html.escape(band)}). Record ids are pseudonymised and NINO "
        "and NHS numbers masked. Record each decision (match, non-match or unsure) in the "
        f"column {DECISION_FIELD} of pairs.csv, then run "
        "<code>commonground linkage review --import pairs.csv</code>.</p>\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"
        "</body></html>\n",
        encoding="utf-8",
    )
    return ReviewExport(csv_path, html_path, len(rows), band)


def read_review(path: Path) -> ReviewOutcome:
    """The decisions of a reviewed CSV.

    Raises:
        ReviewFileError: The file lacks the decision column or a decision is not one of
            ``match``, ``non-match``, ``unsure`` or empty (rows counted as in a spreadsheet:
            the header is row 1).
    """
    counts = dict.fromkeys((*DECISIONS, ""), 0)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if DECISION_FIELD not in (reader.fieldnames or []):
            raise ReviewFileError(path, 1, DECISION_FIELD, "the column is missing")
        for number, row in enumerate(reader, start=2):
            decision = (row.get(DECISION_FIELD) or "").strip().lower()
            if decision not in counts:
                raise ReviewFileError(
                    path,
                    number,
                    DECISION_FIELD,
                    f"{row.get(DECISION_FIELD)!r} is not a decision: write match, non-match "
                    "or unsure, or leave it empty",
                )
            counts[decision] += 1
    return ReviewOutcome(counts["match"], counts["non-match"], counts["unsure"], counts[""])


def record_review(con: duckdb.DuckDBPyConnection, outcome: ReviewOutcome, run_id: str) -> None:
    """Appends the review's reviewed pairs and precision to ``governance.linkage_metrics``
    (entity ``person``), adding those columns to a table made before they existed."""
    governance.ensure(con, "linkage_metrics")
    present = set(_columns(con, "governance.linkage_metrics"))
    for column in governance.table("linkage_metrics").columns:
        if column.name not in present:
            con.execute(
                f'alter table governance.linkage_metrics add column "{column.name}" {column.type}'
            ).complete()
    con.execute(
        "insert into governance.linkage_metrics (run_id, entity, reviewed_pairs, "
        "reviewed_precision) values (?, 'person', ?, ?)",
        [run_id, outcome.reviewed_pairs, outcome.reviewed_precision],
    ).complete()
