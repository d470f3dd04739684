"""Ingest: landing files of every format load as text with lineage; bad files are rejected."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from orchestration.ingest import ingest_dataset

PAYE_HEADER = (
    "RECORD_ID,NINO,FORENAMES,SURNAME,DATE_OF_BIRTH,POSTCODE,EMPLOYER_PAYE_REF,TAX_YEAR,"
    "PERIOD_START,PERIOD_END,GROSS_PAY,TAX_DEDUCTED"
)
PAYE_ROWS = [
    "P1,AB 12 34 56 C,JOHN,SMITH,01/02/1980,LS1 4AB,123/AB45678,2025-26,06/04/2025,"
    '05/04/2026,"£31,234.50",£4.00',
    "P2,CE 65 43 21 A,MARY,JONES,,ls14ab,123/AB45678,2025-26,06/04/2025,30/09/2025,£900.00,",
]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def _write(landing: Path, department: str, dataset: str, name: str, content) -> Path:
    folder = landing / department / dataset
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _log(con):
    return con.execute(
        "select file_path, status, rows_in, rows_loaded, rows_quarantined, message "
        "from governance.ingestion_log order by file_path"
    ).fetchall()


def test_csv_loads_values_as_delivered_with_lineage(con, landing, contracts):
    _write(landing, "hmrc", "paye_income", "paye.csv", "\n".join([PAYE_HEADER, *PAYE_ROWS]) + "\n")
    outcomes = ingest_dataset(con, contracts["hmrc__paye_income"], landing, "run-1")
    assert [(o.status, o.rows_in, o.rows_loaded) for o in outcomes] == [("loaded", 2, 2)]
    rows = con.execute(
        "select record_id, nino, gross_pay, date_of_birth, tax_deducted, _source_file, "
        "_row_number, _batch_id, length(_file_sha256) from raw.hmrc__paye_income order by 1"
    ).fetchall()
    assert rows[0] == (
        "P1",
        "AB 12 34 56 C",
        "£31,234.50",
        "01/02/1980",
        "£4.00",
        "hmrc/paye_income/paye.csv",
        1,
        "run-1",
        64,
    )
    assert rows[1][3] is None and rows[1][4] is None
    assert _log(con) == [("hmrc/paye_income/paye.csv", "loaded", 2, 2, 0, None)]


def test_the_same_bytes_under_another_name_are_a_duplicate(con, landing, contracts):
    body = "\n".join([PAYE_HEADER, *PAYE_ROWS]) + "\n"
    _write(landing, "hmrc", "paye_income", "a.csv", body)
    _write(landing, "hmrc", "paye_income", "b.csv", body)
    outcomes = ingest_dataset(con, contracts["hmrc__paye_income"], landing, "run-1")
    assert [o.status for o in outcomes] == ["loaded", "duplicate"]
    assert con.execute("select count(*) from raw.hmrc__paye_income").fetchone()[0] == 2
    again = ingest_dataset(con, contracts["hmrc__paye_income"], landing, "run-2")
    assert again == []
    assert con.execute("select count(*) from raw.hmrc__paye_income").fetchone()[0] == 2


def test_bad_files_are_rejected_with_a_message_and_the_run_goes_on(con, landing, contracts):
    good = _write(
        landing, "hmrc", "paye_income", "c_good.csv", "\n".join([PAYE_HEADER, *PAYE_ROWS]) + "\n"
    )
    _write(
        landing,
        "hmrc",
        "paye_income",
        "a_missing_column.csv",
        PAYE_HEADER.replace("NINO,", "") + "\nP9,X,Y,01/01/1990,,1/A,2025-26,,,£1,\n",
    )
    _write(landing, "hmrc", "paye_income", "b_header_only.csv", PAYE_HEADER + "\n")
    _write(landing, "hmrc", "paye_income", "d_wrong_type.txt", "hello")
    outcomes = {
        o.file_path: o
        for o in ingest_dataset(con, contracts["hmrc__paye_income"], landing, "run-1")
    }
    assert outcomes["hmrc/paye_income/c_good.csv"].status == "loaded"
    missing = outcomes["hmrc/paye_income/a_missing_column.csv"]
    assert missing.status == "rejected" and "'NINO'" in missing.message
    assert "no data rows" in outcomes["hmrc/paye_income/b_header_only.csv"].message
    assert "expected a csv file" in outcomes["hmrc/paye_income/d_wrong_type.txt"].message
    assert con.execute("select count(*) from raw.hmrc__paye_income").fetchone()[0] == 2
    assert good.exists()


def test_ndjson_keeps_json_text_and_tolerates_extra_keys(con, landing, contracts):
    records = [
        {
            "award_id": "A1",
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
            "extra": "accepted by drift policy",
        },
    ]
    _write(
        landing,
        "dwp",
        "benefit_awards",
        "awards.ndjson",
        "\n".join(json.dumps(r) for r in records) + "\n",
    )
    outcomes = ingest_dataset(con, contracts["dwp__benefit_awards"], landing, "run-1")
    assert [o.status for o in outcomes] == ["loaded"]
    row = con.execute(
        "select award_id, weekly_amount, award_end, uprn from raw.dwp__benefit_awards"
    ).fetchone()
    assert row == ("A1", "85.9", None, "10000000001")


def test_parquet_is_read_and_corrupt_parquet_rejected(con, landing, contracts):
    folder = landing / "nhs" / "gp_registrations"
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "registration_id": ["R1"],
            "nhs_number": ["9434765919"],
            "given_name": ["Ann"],
            "family_name": ["Lee"],
            "date_of_birth": pa.array([dt.date(1990, 5, 4)]),
            "sex_code": pa.array([2], pa.int8()),
            "postcode": ["B1 1AA"],
            "practice_code": ["M85001"],
            "registered_on": pa.array([dt.date(2020, 1, 2)]),
        }
    )
    pq.write_table(table, folder / "gp.parquet")
    (folder / "gp_corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    outcomes = {
        o.file_path.rsplit("/", 1)[1]: o
        for o in ingest_dataset(con, contracts["nhs__gp_registrations"], landing, "run-1")
    }
    assert outcomes["gp.parquet"].status == "loaded"
    assert outcomes["gp_corrupt.parquet"].status == "rejected"
    row = con.execute(
        "select date_of_birth, sex_code, registered_on from raw.nhs__gp_registrations"
    ).fetchone()
    assert row == ("1990-05-04", "2", "2020-01-02")


def test_xlsx_dates_arrive_as_iso_text(con, landing, contracts):
    folder = landing / "council" / "council_tax"
    folder.mkdir(parents=True)
    book = xlsxwriter.Workbook(str(folder / "register.xlsx"))
    sheet = book.add_worksheet("Register")
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    headers = [c.physical_name for c in contracts["council__council_tax"].columns]
    sheet.write_row(0, 0, headers)
    sheet.write_row(1, 0, ["CT1", 100023336956, "1 Mill Lane, Leeds", "LS1 4AB", "C", "Ann", "Lee"])
    sheet.write_datetime(1, 7, dt.datetime(2019, 4, 3), date_format)
    sheet.write(1, 9, "Y")
    sheet.write_row(
        2, 0, ["CT2", 100023336957, "2 Mill Lane, Leeds", "LS1 4AB", "D", "Bo", "Wu", "03/04/2019"]
    )
    book.close()
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    outcomes = {
        o.file_path.rsplit("/", 1)[1]: o.status
        for o in ingest_dataset(con, contracts["council__council_tax"], landing, "run-1")
    }
    assert outcomes == {"broken.xlsx": "rejected", "register.xlsx": "loaded"}
    rows = con.execute(
        "select account_ref, uprn, liability_start, liability_end, single_person_discount "
        "from raw.council__council_tax order by 1"
    ).fetchall()
    assert rows == [
        ("CT1", "100023336956", "2019-04-03", None, "Y"),
        ("CT2", "100023336957", "03/04/2019", None, None),
    ]


def test_a_large_csv_keeps_every_rows_file_position(con, landing, contracts):
    # Big enough (about 24 MB) for DuckDB to parse it on several threads and write the rows
    # out of file order unless the loader keeps order where it numbers them.
    rows, every = 600_000, 997
    folder = landing / "hmrc" / "paye_income"
    folder.mkdir(parents=True)
    path = folder / "paye_large.csv"
    duckdb.sql(
        "select 'P' || lpad(i::varchar, 7, '0') as RECORD_ID, 'AB 12 34 56 C' as NINO, "
        "'JOHN' as FORENAMES, 'SMITH' as SURNAME, '01/02/1980' as DATE_OF_BIRTH, "
        "'LS1 4AB' as POSTCODE, '123/AB45678' as EMPLOYER_PAYE_REF, '2025-26' as TAX_YEAR, "
        "'06/04/2025' as PERIOD_START, '05/04/2026' as PERIOD_END, "
        f"case when i % {every} = 0 then 'lots' else '£' || (i % 5000) || '.50' end "
        "as GROSS_PAY, '£4.00' as TAX_DEDUCTED from range(1, "
        f"{rows + 1}) r(i)"
    ).write_csv(str(path))
    [outcome] = ingest_dataset(con, contracts["hmrc__paye_income"], landing, "run-1")
    bad = rows // every
    assert (outcome.status, outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined) == (
        "loaded",
        rows,
        rows - bad,
        bad,
    )
    # Each row's number is its position in the file, which its record id also encodes.
    misplaced = con.execute(
        "select count(*) from raw.hmrc__paye_income "
        "where record_id <> 'P' || lpad(_row_number::varchar, 7, '0')"
    ).fetchone()[0]
    assert misplaced == 0
    quarantined = con.execute(
        "select _row_number, raw_value from quarantine.hmrc__paye_income order by 1"
    ).fetchall()
    assert quarantined == [(n, "lots") for n in range(every, rows + 1, every)]
