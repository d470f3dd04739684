"""A small hand-made person index: two sources, known links and one uncertain candidate.

``dwp:benefit_awards`` (A1-A4) and ``hmrc:paye_income`` (B1-B6). Persons: A1+B1, A2+B2,
A3+A4 (a duplicate within DWP), and B3, B4, B5, B6 alone. Links: A1-B1 (weight 10,
probability 0.999), A2-B2 (5, 0.97), A3-A4 (8, 0.99). Candidates below the threshold: A1-B3
(0, 0.5: uncertain, though A1's best candidate in HMRC is B1) and A4-B4 (-5, 0.03: below the
band).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

RECORDS = [
    ("dwp", "benefit_awards", "A1", "JOHN", "SMITH", "1980-01-02", "AB123456C", None),
    ("dwp", "benefit_awards", "A2", "MARY", "JONES", "1975-05-06", None, None),
    ("dwp", "benefit_awards", "A3", "ALI", "KHAN", "1990-03-04", None, None),
    ("dwp", "benefit_awards", "A4", "ALI", "KHAN", "1990-04-03", None, None),
    ("hmrc", "paye_income", "B1", "JOHN", "SMITH", "1980-01-02", None, "9434765919"),
    ("hmrc", "paye_income", "B2", "MARY", "JONES", "1975-05-06", None, None),
    ("hmrc", "paye_income", "B3", "JON", "SMYTH", "1980-01-02", "CD654321A", None),
    ("hmrc", "paye_income", "B4", "ALAN", "KAHN", "1990-03-04", None, None),
    ("hmrc", "paye_income", "B5", "EVE", "STONE", "1965-07-08", None, None),
    ("hmrc", "paye_income", "B6", "TOM", "BROWN", "2001-09-10", None, None),
]
PERSONS = {"A1": 1, "B1": 1, "A2": 2, "B2": 2, "A3": 3, "A4": 3, "B3": 4, "B4": 5, "B5": 6}
LINKS = [("A1", "B1", 10.0, 0.999), ("A2", "B2", 5.0, 0.97), ("A3", "A4", 8.0, 0.99)]
CANDIDATES = [("A1", "B3", 0.0, 0.5), ("A4", "B4", -5.0, 0.03)]


def record_id(short: str) -> str:
    """The warehouse record id of a short name (``A1`` -> ``dwp:benefit_awards:A1``)."""
    return f"{'dwp:benefit_awards' if short[0] == 'A' else 'hmrc:paye_income'}:{short}"


def build_warehouse(path: Path, candidates: bool = True) -> Path:
    """Writes the hand-made index to a DuckDB file at ``path``."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create schema intermediate; create schema linkage;"
            "create table intermediate.int_person_records_unioned (person_record_id varchar, "
            "department varchar, dataset varchar, source_record_id varchar, given_name varchar,"
            " family_name varchar, date_of_birth date, postcode varchar, nino varchar, "
            "nhs_number varchar);"
            "create table linkage.person_matches (person_record_id varchar, person_key varchar);"
            "create table linkage.person_links (person_record_id_l varchar, "
            "person_record_id_r varchar, match_weight double, match_probability double, "
            "match_weight_given_name double, match_weight_date_of_birth double);"
        )
        for dep, ds, short, given, family, dob, nino, nhs in RECORDS:
            con.execute(
                "insert into intermediate.int_person_records_unioned values "
                "(?, ?, ?, ?, ?, ?, ?, 'AB1 2CD', ?, ?)",
                [record_id(short), dep, ds, short, given, family, dob, nino, nhs],
            )
            con.execute(
                "insert into linkage.person_matches values (?, ?)",
                [record_id(short), f"key{PERSONS.get(short, short)}"],
            )
        for left, right, weight, probability in LINKS:
            con.execute(
                "insert into linkage.person_links values (?, ?, ?, ?, ?, ?)",
                [record_id(left), record_id(right), weight, probability, weight / 2, weight / 2],
            )
        if candidates:
            con.execute(
                "create table linkage.person_candidates (person_record_id_l varchar, "
                "person_record_id_r varchar, match_weight double, match_probability double, "
                "match_weight_given_name double)"
            )
            for left, right, weight, probability in CANDIDATES:
                con.execute(
                    "insert into linkage.person_candidates values (?, ?, ?, ?, ?)",
                    [record_id(left), record_id(right), weight, probability, -1.5],
                )
    return path


@pytest.fixture
def index_builder():
    """:func:`build_warehouse`, for tests that put the index somewhere of their own."""
    return build_warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """The hand-made index with scored candidates below the threshold."""
    return build_warehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def warehouse_without_candidates(tmp_path: Path) -> Path:
    """The hand-made index as the person index writes it today: links only."""
    return build_warehouse(tmp_path / "warehouse.duckdb", candidates=False)
