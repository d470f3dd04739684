"""A corpus of bad deliveries: each gets its outcome, and every file reconciles.

Every case writes one delivery (CSV, NDJSON, Parquet, Excel, or an odd path) next to a clean
file of the same dataset, ingests the dataset, and asserts the status and rule a department
would see. For every file the log must satisfy ``rows_in = rows_loaded + rows_quarantined``,
with ``rows_in`` checked against an independent count (Python's csv module, line counts,
the Parquet footer), and the raw and quarantine tables must hold exactly those rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter
import yaml

from orchestration.contracts import ContractError, load_contract
from orchestration.ingest import ingest_dataset
from orchestration.ingest import landing as lz
from orchestration.project import CONTRACTS_DIR

PAYE_HEADER = (
    "RECORD_ID,NINO,FORENAMES,SURNAME,DATE_OF_BIRTH,POSTCODE,EMPLOYER_PAYE_REF,TAX_YEAR,"
    "PERIOD_START,PERIOD_END,GROSS_PAY,TAX_DEDUCTED"
)


def paye_row(n: int, **changes: str) -> str:
    """One PAYE CSV line; ``changes`` replace fields by header name."""
    values = {
        "RECORD_ID": f"P{n}",
        "NINO": "AB 12 34 56 C",
        "FORENAMES": "JOHN",
        "SURNAME": "SMITH",
        "DATE_OF_BIRTH": "01/02/1980",
        "POSTCODE": "LS1 4AB",
        "EMPLOYER_PAYE_REF": "123/AB45678",
        "TAX_YEAR": "2025-26",
        "PERIOD_START": "06/04/2025",
        "PERIOD_END": "05/04/2026",
        "GROSS_PAY": '"£31,234.50"',
        "TAX_DEDUCTED": "£4.00",
    }
    values.update(changes)
    return ",".join(values.values())


def paye(*rows: str, header: str = PAYE_HEADER, end: str = "\n") -> str:
    return "\n".join([header, *rows]) + end


GOOD_PAYE = paye(paye_row(1), paye_row(2), paye_row(3))


def award(n: int, **changes) -> dict:
    record = {
        "award_id": f"A{n}",
        "nino": "AB123456C",
        "first_name": "John",
        "last_name": "Smith",
        "date_of_birth": "1980-02-01",
        "address_line_1": "1 Mill Lane",
        "postcode": "LS1 4AB",
        "uprn": "10000000001",
        "benefit_type": "UC",
        "award_start": "2025-01-01",
        "award_end": None,
        "weekly_amount": 85.9,
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v != "<drop>"}


def ndjson(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def gp_table(**changes) -> pa.Table:
    columns = {
        "registration_id": ["R1", "R2"],
        "nhs_number": ["9434765919", "9434765919"],
        "given_name": ["Ann", "Bo"],
        "family_name": ["Lee", "Wu"],
        "date_of_birth": pa.array([dt.date(1990, 5, 4), dt.date(1991, 6, 5)]),
        "sex_code": pa.array([2, 1], pa.int8()),
        "postcode": ["B1 1AA", "B1 1AB"],
        "practice_code": ["M85001", "M85001"],
        "registered_on": pa.array([dt.date(2020, 1, 2), dt.date(2021, 1, 2)]),
    }
    for key, value in changes.items():
        if value is None:
            columns.pop(key)
        else:
            columns[key] = value
    return pa.table(columns)


def council_book(path: Path, contract, rows: list[list]) -> None:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Register")
    sheet.write_row(0, 0, [c.physical_name for c in contract.columns])
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, row)
    book.close()


COUNCIL_ROW = [
    "CT1",
    100023336956,
    "1 Mill Lane, Leeds",
    "LS1 4AB",
    "C",
    "Ann",
    "Lee",
    "2019-04-03",
]


@dataclass
class Case:
    """One bad (or tricky) delivery and what must happen to it."""

    id: str
    dataset: str
    name: str
    write: Callable[[Path], None]
    status: str
    reason: str | None = None
    rows: tuple[int, int, int] | None = None
    quarantine: list[tuple[int, str | None, str]] | None = None
    words: str = ""


def text(body: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda p: p.write_bytes(body.encode(encoding))


def raw_bytes(body: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(body)


def parquet(table: pa.Table) -> Callable[[Path], None]:
    return lambda p: pq.write_table(table, p)


def _bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/workbook.xml", "<workbook/>")
        book.writestr("xl/worksheets/sheet1.xml", b"\0" * (80 * 1024 * 1024))


def _link_outside(path: Path) -> None:
    target = path.parents[4] / "outside.csv"
    target.write_text(GOOD_PAYE)
    path.symlink_to(target)


def _link_inside(path: Path) -> None:
    target = path.parents[2] / "elsewhere.csv"
    target.write_text(GOOD_PAYE.replace("P1", "Q1"))
    path.symlink_to(target)


CASES = [
    # CSV, row level
    Case(
        "csv_clean_crlf_blank_lines",
        "hmrc/paye_income",
        "crlf.csv",
        text(paye(paye_row(7), "", paye_row(8), end="\n\n").replace("\n", "\r\n")),
        "loaded",
        rows=(2, 2, 0),
    ),
    Case(
        "csv_quoted_newline",
        "hmrc/paye_income",
        "newline.csv",
        text(paye(paye_row(7, FORENAMES='"JO\nHN"'), paye_row(8))),
        "loaded",
        rows=(2, 2, 0),
    ),
    Case(
        "csv_impossible_date",
        "hmrc/paye_income",
        "date.csv",
        text(paye(paye_row(7), paye_row(8, DATE_OF_BIRTH="31/02/1980"))),
        "loaded",
        rows=(2, 1, 1),
        quarantine=[(2, "date_of_birth", "type")],
    ),
    Case(
        "csv_iso_date_where_contract_says_dmy",
        "hmrc/paye_income",
        "iso.csv",
        text(paye(paye_row(7, PERIOD_START="2025-04-06"))),
        "loaded",
        rows=(1, 0, 1),
        quarantine=[(1, "period_start", "type")],
    ),
    Case(
        "csv_required_value_missing",
        "hmrc/paye_income",
        "required.csv",
        text(paye(paye_row(7, NINO=""), paye_row(8))),
        "loaded",
        rows=(2, 1, 1),
        quarantine=[(1, "nino", "required")],
    ),
    Case(
        "csv_money_not_a_number",
        "hmrc/paye_income",
        "money.csv",
        text(paye(paye_row(7, GROSS_PAY="£12k"), paye_row(8))),
        "loaded",
        rows=(2, 1, 1),
        quarantine=[(1, "gross_pay", "type")],
    ),
    Case(
        "csv_two_rules_one_row",
        "hmrc/paye_income",
        "two.csv",
        text(paye(paye_row(7, SURNAME="", TAX_DEDUCTED="lots"))),
        "loaded",
        rows=(1, 0, 1),
        quarantine=[(1, "surname", "required"), (1, "tax_deducted", "type")],
    ),
    Case(
        "csv_too_many_fields",
        "hmrc/paye_income",
        "wide_row.csv",
        text(paye(paye_row(7), paye_row(8) + ",EXTRA", paye_row(9))),
        "loaded",
        rows=(3, 2, 1),
        quarantine=[(2, None, "malformed_row")],
    ),
    Case(
        "csv_too_few_fields",
        "hmrc/paye_income",
        "short_row.csv",
        text(paye(paye_row(7), "P8,AB 12 34 56 C", paye_row(9), paye_row(10, NINO=""))),
        "loaded",
        rows=(4, 2, 2),
        quarantine=[(2, "FORENAMES", "malformed_row"), (4, "nino", "required")],
    ),
    # CSV, file level
    Case(
        "csv_missing_required_column",
        "hmrc/paye_income",
        "missing.csv",
        text(
            paye(
                paye_row(7).replace(",AB 12 34 56 C", "", 1),
                header=PAYE_HEADER.replace("NINO,", ""),
            )
        ),
        "rejected",
        "schema_drift",
        words="'NINO'",
    ),
    Case(
        "csv_renamed_column",
        "hmrc/paye_income",
        "renamed.csv",
        text(paye(paye_row(7), header=PAYE_HEADER.replace("SURNAME", "SUR_NAME"))),
        "rejected",
        "schema_drift",
        words="renamed to 'SUR_NAME'",
    ),
    Case(
        "csv_extra_column_policy_reject",
        "hmrc/paye_income",
        "extra.csv",
        text(paye(paye_row(7) + ",x", header=PAYE_HEADER + ",NOTES")),
        "rejected",
        "schema_drift",
        words="'NOTES'",
    ),
    Case(
        "csv_duplicate_header",
        "hmrc/paye_income",
        "dup_header.csv",
        text(paye(paye_row(7) + ",x", header=PAYE_HEADER + ",NINO")),
        "rejected",
        "schema_drift",
        words="more than once",
    ),
    Case(
        "csv_latin1",
        "hmrc/paye_income",
        "latin1.csv",
        text(paye(paye_row(7, SURNAME="MÜLLER")), "latin-1"),
        "rejected",
        "encoding",
        words="not UTF-8",
    ),
    Case(
        "csv_utf16",
        "hmrc/paye_income",
        "utf16.csv",
        text(GOOD_PAYE, "utf-16"),
        "rejected",
        "encoding",
        words="UTF-16",
    ),
    Case(
        "csv_bom",
        "hmrc/paye_income",
        "bom.csv",
        text("\ufeff" + GOOD_PAYE),
        "rejected",
        "encoding",
        words="byte-order mark",
    ),
    Case(
        "csv_semicolons",
        "hmrc/paye_income",
        "semi.csv",
        text(GOOD_PAYE.replace(",", ";")),
        "rejected",
        "delimiter",
        words="';'",
    ),
    Case(
        "csv_tabs",
        "hmrc/paye_income",
        "tabs.csv",
        text(paye(header=PAYE_HEADER.replace(",", "\t"))),
        "rejected",
        "delimiter",
        words="tab",
    ),
    Case("csv_empty", "hmrc/paye_income", "empty.csv", text(""), "rejected", "empty"),
    Case(
        "csv_header_only",
        "hmrc/paye_income",
        "header.csv",
        text(PAYE_HEADER + "\n"),
        "rejected",
        "empty",
        words="no data rows",
    ),
    Case(
        "csv_truncated",
        "hmrc/paye_income",
        "truncated.csv",
        text(paye(paye_row(7), paye_row(8))[:-60]),
        "rejected",
        "truncated",
    ),
    Case(
        "csv_unterminated_quote",
        "hmrc/paye_income",
        "quote.csv",
        text(paye(paye_row(7), paye_row(8, FORENAMES='"JOHN'))),
        "rejected",
        "unterminated_quote",
    ),
    Case(
        "csv_wrong_extension",
        "hmrc/paye_income",
        "paye.txt",
        text(GOOD_PAYE),
        "rejected",
        "format",
        words="expected a csv file",
    ),
    Case(
        "csv_gzip_not_accepted",
        "hmrc/paye_income",
        "paye.csv.gz",
        raw_bytes(b"\x1f\x8b\x08\x00"),
        "rejected",
        "format",
    ),
    # paths and names
    Case(
        "still_being_written",
        "hmrc/paye_income",
        "paye.csv.part",
        text(GOOD_PAYE),
        "rejected",
        "in_progress",
        words="still being written",
    ),
    Case(
        "odd_name",
        "hmrc/paye_income",
        "paye 2025 (copy)';--.csv",
        text(GOOD_PAYE),
        "rejected",
        "file_name",
    ),
    Case(
        "symlink_outside",
        "hmrc/paye_income",
        "link.csv",
        _link_outside,
        "rejected",
        "unsafe_path",
        words="symbolic link",
    ),
    Case(
        "symlink_inside", "hmrc/paye_income", "link2.csv", _link_inside, "rejected", "unsafe_path"
    ),
    # NDJSON
    Case(
        "ndjson_bad_line",
        "dwp/benefit_awards",
        "bad_line.ndjson",
        text(ndjson(award(7), "{not json", award(8))),
        "loaded",
        rows=(3, 2, 1),
        quarantine=[(2, None, "malformed_json")],
    ),
    Case(
        "ndjson_array_line",
        "dwp/benefit_awards",
        "array.ndjson",
        text(ndjson(award(7), "[1, 2]")),
        "loaded",
        rows=(2, 1, 1),
        quarantine=[(2, None, "malformed_json")],
    ),
    Case(
        "ndjson_missing_required_key",
        "dwp/benefit_awards",
        "key.ndjson",
        text(ndjson(award(7), award(8, nino="<drop>"))),
        "loaded",
        rows=(2, 1, 1),
        quarantine=[(2, "nino", "required")],
    ),
    Case(
        "ndjson_wrong_date",
        "dwp/benefit_awards",
        "date.ndjson",
        text(ndjson(award(7, award_start="01/01/2025"))),
        "loaded",
        rows=(1, 0, 1),
        quarantine=[(1, "award_start", "type")],
    ),
    Case(
        "ndjson_hostile_extra_key_accepted",
        "dwp/benefit_awards",
        "hostile.ndjson",
        text(ndjson(award(7, **{'x"; drop table raw.dwp__benefit_awards; --': 1}))),
        "loaded",
        rows=(1, 1, 0),
    ),
    Case(
        "ndjson_no_objects",
        "dwp/benefit_awards",
        "nothing.ndjson",
        text("1\n2\n"),
        "rejected",
        "unreadable",
    ),
    Case(
        "ndjson_missing_required_key_everywhere",
        "dwp/benefit_awards",
        "drift.ndjson",
        text(ndjson(award(7, nino="<drop>"))),
        "rejected",
        "schema_drift",
        words="'nino'",
    ),
    # Parquet
    Case(
        "parquet_corrupt",
        "nhs/gp_registrations",
        "corrupt.parquet",
        raw_bytes(b"PAR1 this is not parquet PAR1"),
        "rejected",
        "corrupt",
    ),
    Case(
        "parquet_missing_column",
        "nhs/gp_registrations",
        "missing.parquet",
        parquet(gp_table(nhs_number=None)),
        "rejected",
        "schema_drift",
    ),
    Case(
        "parquet_bad_value",
        "nhs/gp_registrations",
        "bad.parquet",
        parquet(gp_table(registered_on=["2020-01-02", "yesterday"])),
        "loaded",
        rows=(2, 1, 1),
        quarantine=[(2, "registered_on", "type")],
    ),
    Case(
        "parquet_no_rows",
        "nhs/gp_registrations",
        "empty.parquet",
        parquet(gp_table().slice(0, 0)),
        "rejected",
        "empty",
    ),
    # Excel
    Case(
        "xlsx_corrupt",
        "council/council_tax",
        "broken.xlsx",
        raw_bytes(b"PK\x03\x04 not a workbook"),
        "rejected",
        "corrupt",
    ),
    Case("xlsx_bomb", "council/council_tax", "bomb.xlsx", _bomb, "rejected", "too_large"),
]


def _independent_rows(path: Path) -> int:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return sum(1 for row in csv.reader(handle) if row) - 1
    if suffix == ".ndjson":
        return sum(1 for line in path.read_text().splitlines() if line.strip())
    if suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    raise AssertionError(path)


def _reconciles(con: duckdb.DuckDBPyConnection, landing: Path, rel: str, table: str) -> None:
    status, rows_in, loaded, quarantined = con.execute(
        "select status, rows_in, rows_loaded, rows_quarantined from governance.ingestion_log "
        "where file_path = ?",
        [rel],
    ).fetchone()
    assert rows_in == loaded + quarantined, rel
    raw = con.execute(f"select count(*) from raw.{table} where _source_file = ?", [rel]).fetchone()
    held = con.execute(
        f"select count(distinct _row_number) from quarantine.{table} where _source_file = ?",
        [rel],
    ).fetchone()
    assert (raw[0], held[0]) == (loaded, quarantined), rel
    if status == "loaded":
        assert rows_in == _independent_rows(landing / rel), rel


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_corpus(case: Case, tmp_path: Path, contracts):
    landing = tmp_path / "data" / "landing"
    department, dataset = case.dataset.split("/")
    folder = landing / department / dataset
    folder.mkdir(parents=True)
    contract = contracts[f"{department}__{dataset}"]
    case.write(folder / case.name)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    outcomes = {o.file_path: o for o in ingest_dataset(con, contract, landing, "run-1")}
    rel = f"{department}/{dataset}/{case.name}"
    outcome = outcomes[rel]
    assert (outcome.status, outcome.reason or None) == (case.status, case.reason), outcome
    assert case.words in outcome.message, outcome.message
    if case.rows is not None:
        assert (outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined) == case.rows
    if case.quarantine is not None:
        got = con.execute(
            f"select _row_number, column_name, rule from quarantine.{contract.raw_table} "
            "where _source_file = ? order by 1, 2",
            [rel],
        ).fetchall()
        assert got == case.quarantine
        messages = con.execute(
            f"select message, raw_text from quarantine.{contract.raw_table}"
        ).fetchall()
        assert all(m and t for m, t in messages), messages
    _reconciles(con, landing, rel, contract.raw_table)
    if case.status == "rejected":
        assert not con.execute(
            f"select count(*) from raw.{contract.raw_table} where _source_file = ?", [rel]
        ).fetchone()[0]
    # Running again changes nothing: no new log rows, no rows loaded twice.
    before = con.execute("select count(*) from governance.ingestion_log").fetchone()[0]
    assert ingest_dataset(con, contract, landing, "run-2") == []
    assert con.execute("select count(*) from governance.ingestion_log").fetchone()[0] == before
    con.close()


def test_csv_rows_after_a_malformed_row_keep_their_file_row_number(tmp_path, contracts):
    landing = tmp_path / "landing"
    folder = landing / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    (folder / "f.csv").write_text(
        paye(paye_row(1), "broken", paye_row(3), paye_row(4) + ",x,y", paye_row(5))
    )
    con = duckdb.connect()
    ingest_dataset(con, contracts["hmrc__paye_income"], landing, "r")
    loaded = con.execute("select record_id, _row_number from raw.hmrc__paye_income order by 2")
    assert loaded.fetchall() == [("P1", 1), ("P3", 3), ("P5", 5)]
    held = con.execute("select _row_number, raw_text from quarantine.hmrc__paye_income order by 1")
    assert [r[0] for r in held.fetchall()] == [2, 4]


def test_same_bytes_are_a_duplicate_and_a_changed_file_is_a_new_delivery(tmp_path, contracts):
    landing = tmp_path / "landing"
    folder = landing / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(GOOD_PAYE)
    (folder / "b.csv").write_text(GOOD_PAYE)
    con = duckdb.connect()
    paye_contract = contracts["hmrc__paye_income"]
    first = ingest_dataset(con, paye_contract, landing, "r1")
    assert [(o.status, o.rows_loaded) for o in first] == [("loaded", 3), ("duplicate", 0)]
    (folder / "a.csv").write_text(paye(paye_row(1), paye_row(9)))
    second = ingest_dataset(con, paye_contract, landing, "r2")
    assert [(o.file_path, o.status, o.rows_loaded) for o in second] == [
        ("hmrc/paye_income/a.csv", "loaded", 2)
    ]
    assert con.execute("select count(*) from raw.hmrc__paye_income").fetchone()[0] == 5


def test_a_file_changing_while_loaded_is_rejected_and_retried(tmp_path, contracts, monkeypatch):
    landing = tmp_path / "landing"
    folder = landing / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    path = folder / "growing.csv"
    path.write_text(GOOD_PAYE)
    real = lz.FileStamp.of
    calls = {"n": 0}

    def stamp(p):
        calls["n"] += 1
        s = real(p)
        return s if calls["n"] == 1 else lz.FileStamp(s.size + 1, s.mtime_ns)

    monkeypatch.setattr(lz.FileStamp, "of", staticmethod(stamp))
    con = duckdb.connect()
    [outcome] = ingest_dataset(con, contracts["hmrc__paye_income"], landing, "r1")
    assert (outcome.status, outcome.reason) == ("rejected", "changed_while_reading")
    assert con.execute("select count(*) from raw.hmrc__paye_income").fetchone()[0] == 0
    monkeypatch.setattr(lz.FileStamp, "of", staticmethod(real))
    [again] = ingest_dataset(con, contracts["hmrc__paye_income"], landing, "r2")
    assert (again.status, again.rows_loaded) == ("loaded", 3)


def _variant(tmp_path: Path, mutate) -> Path:
    doc = yaml.safe_load((CONTRACTS_DIR / "hmrc" / "paye_income.yaml").read_text())
    mutate(doc)
    path = tmp_path / "contracts" / "hmrc" / "paye_income.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _prop(doc, name):
    return next(p for p in doc["schema"][0]["properties"] if p["name"] == name)


def test_length_pattern_and_allowed_values_rules(tmp_path):
    def mutate(doc):
        _prop(doc, "employer_paye_ref")["logicalTypeOptions"] = {"maxLength": 11}
        _prop(doc, "tax_year")["logicalTypeOptions"] = {"pattern": "[0-9]{4}-[0-9]{2}"}
        _prop(doc, "postcode")["customProperties"].append(
            {"property": "allowedValues", "value": ["LS1 4AB", "LS2 7EW"]}
        )

    contract = load_contract(_variant(tmp_path, mutate))
    landing = tmp_path / "landing"
    folder = landing / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    (folder / "f.csv").write_text(
        paye(
            paye_row(1),
            paye_row(2, EMPLOYER_PAYE_REF="123/AB456789"),
            paye_row(3, TAX_YEAR="2025/26"),
            paye_row(4, POSTCODE="ZZ9 9ZZ"),
            paye_row(5, POSTCODE=""),
        )
    )
    con = duckdb.connect()
    [outcome] = ingest_dataset(con, contract, landing, "r")
    assert (outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined) == (5, 2, 3)
    rows = con.execute(
        "select _row_number, column_name, rule, raw_value, message "
        "from quarantine.hmrc__paye_income order by 1"
    ).fetchall()
    assert [r[:4] for r in rows] == [
        (2, "employer_paye_ref", "max_length", "123/AB456789"),
        (3, "tax_year", "pattern", "2025/26"),
        (4, "postcode", "allowed_values", "ZZ9 9ZZ"),
    ]
    assert "longer than 11" in rows[0][4]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda d: _prop(d, "nino").update(physicalName='NINO"; drop table x; --'),
            "schema[0].properties[1].physicalName",
        ),
        (
            lambda d: _prop(d, "nino").update(physicalName="NINO -- comment"),
            "schema[0].properties[1].physicalName",
        ),
        (lambda d: d["schema"][0].update(name="paye'; drop"), "schema[0].name"),
        (
            lambda d: _prop(d, "tax_year").update(logicalTypeOptions={"pattern": "[unclosed"}),
            "schema[0].properties[7].logicalTypeOptions.pattern",
        ),
        (
            lambda d: _prop(d, "tax_year").update(logicalTypeOptions={"maxLength": "ten"}),
            "schema[0].properties[7].logicalTypeOptions.maxLength",
        ),
    ],
    ids=[
        "quote_in_physical_name",
        "comment_in_physical_name",
        "hostile_dataset",
        "bad_pattern",
        "bad_max_length",
    ],
)
def test_hostile_or_broken_contracts_are_refused(tmp_path, mutate, field):
    with pytest.raises(ContractError) as caught:
        load_contract(_variant(tmp_path, mutate))
    assert caught.value.field_path.startswith(field), caught.value.field_path


def test_row_count_bombs_are_bounded(tmp_path):
    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({"a": list(range(1000))}), path)
    with pytest.raises(lz.FileProblem) as caught:
        lz.check_parquet(path, max_rows=999)
    assert caught.value.reason == "too_many_rows"
    csv_path = tmp_path / "many.csv"
    csv_path.write_text("a\n" + "1\n" * 1000)
    with pytest.raises(lz.FileProblem):
        lz.scan_text(csv_path, b'"', max_rows=999)


def test_xlsx_bad_cell_is_quarantined_and_blank_rows_are_not_records(tmp_path, contracts):
    contract = contracts["council__council_tax"]
    landing = tmp_path / "landing"
    folder = landing / "council" / "council_tax"
    folder.mkdir(parents=True)
    council_book(
        folder / "register.xlsx",
        contract,
        [COUNCIL_ROW, [], ["CT2", *COUNCIL_ROW[1:7], "the third of April"]],
    )
    con = duckdb.connect()
    [outcome] = ingest_dataset(con, contract, landing, "r")
    assert (outcome.status, outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined) == (
        "loaded",
        2,
        1,
        1,
    )
    assert con.execute(
        "select _row_number, column_name, rule from quarantine.council__council_tax"
    ).fetchall() == [(3, "liability_start", "type")]
