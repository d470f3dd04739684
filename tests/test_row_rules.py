"""Row rules at the door agree with the staging macros: a value is quarantined exactly when
staging could not parse it.

Each value is run through the real dbt macro (rendered once by ``dbt compile --inline``) and
through the row rule of a column of the same type; a non-blank value must parse in both or
in neither.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.contracts import Column, pattern_date_sql
from orchestration.ingest.row_rules import column_rules, nulled_columns, quarantining
from orchestration.project import DBT_PROJECT_DIR

pytestmark = pytest.mark.xdist_group("dbt")

VALUES = {
    "date": [
        "01/02/1980",
        "1/2/1980",
        " 01/02/1980 ",
        "31/02/1980",
        "01/02/80",
        "1/ 2/1980",
        "01-02-1980",
        "01.02.1980",
        "1980/02/01",
        "1980-02-01",
        "1980-2-1",
        "1980-02-01T10:00",
        "1980-02-01 00:00:00",
        "1980-13-01",
        "45123",
        "45123.5",
        "1234567",
        "yesterday",
        "01/02/1980x",
        "+1/02/1980",
        "02020-01-02",
    ],
    "money": [
        "£1,234.50",
        "1234.5",
        "-12",
        "(12.00)",
        "£ 12",
        "GBP 12.00",
        "12gbp",
        "£12k",
        "1e5",
        ".5",
        "5.",
        "1,2,3",
        "£-1",
        "--1",
        "12.345",
        " 7 ",
        "£",
    ],
    "number": ["12", "1,234.5", "-0.5", "1 234", "1e3", "abc", ".5", "12.", "(1)"],
    "flag": ["Y", "n", "Yes", "TRUE", "0", "1", " y ", "maybe", "T", "x"],
    "nino": ["AB 12 34 56 C", "ab123456c", "GB123456A", "DA123456A", "AB123456E", "AB12345C"],
    "nhs_number": ["943 476 5919", "401-023-2137", "9434765918", "94347659190", "abcdefghij"],
    "upn": ["A12345678901B", "a 123456789012", "112345678901B", "A1234567890"],
    "uprn": ["100023336956", "12.0", "1234567890123", "12a", "-1"],
    "postcode": ["ls14ab", "LS1  4AB", " sw1a 1aa ", "B11AA", "LS1", "12345", "LS1 4ABX"],
    # Patterns: valid and impossible dates, other shapes, padding, month names in any case.
    "pattern": [
        "19890213",
        "19890231",
        "19891301",
        "1989021",
        " 19890213 ",
        "13.02.1989",
        "31.02.1989",
        "3.2.1989",
        "03/02/1989",
        "02/13/1989",
        "13/02/1989",
        "3 Feb 1989",
        "03 feb 1989",
        "3 FEB 1989",
        "30 Feb 1989",
        "3 Febr 1989",
        "3 Feb 89",
        "3-Feb-1989",
        "1989-02-13",
        "890213",
        "abcdefgh",
    ],
}
PATTERNS = ("yyyymmdd", "dd.mm.yyyy", "d MMM yyyy", "mm/dd/yyyy", "d.m.yyyy", "yymmdd")

CASES = (
    [
        ("date", "time.date", "date", {"format": fmt}, f"parse_date('v', '{fmt}')")
        for fmt in ("dd/mm/yyyy", "yyyy-mm-dd", "excel", "any")
    ]
    + [
        ("money", "money.gbp", "number", {}, "parse_money('v')"),
        ("number", "measure.number", "number", {}, "parse_number('v')"),
        ("flag", "flag.yes_no", "boolean", {}, "parse_flag('v')"),
    ]
    + [
        ("pattern", "time.date", "date", {"format": fmt}, f"parse_date('v', '{fmt}')")
        for fmt in PATTERNS
    ]
    + [
        # Identifiers get a format rule when their column declares onInvalid.
        ("nino", "person.nino", "string", {}, "clean_nino('v')"),
        ("nhs_number", "person.nhs_number", "string", {}, "clean_nhs_number('v')"),
        ("upn", "person.pupil_number", "string", {}, "clean_upn('v')"),
        ("uprn", "property.uprn", "string", {}, "clean_uprn('v')"),
        ("postcode", "address.postcode", "string", {}, "clean_postcode('v')"),
    ]
)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@pytest.fixture(scope="module")
def staging_parses(tmp_path_factory) -> dict[tuple[int, str], bool]:
    """(case index, value) -> whether the staging macro returns a value."""

    workdir = tmp_path_factory.mktemp("row_rules")
    selects = [
        f"select {i} as case_id, {_literal(value)} as v_text, "
        f"(({{{{ {call} }}}}) is not null) as parses from (select {_literal(value)} as v) as t"
        for i, (kind, _, _, _, call) in enumerate(CASES)
        for value in VALUES[kind]
    ]
    compiled = _compile_inline("\nunion all\n".join(selects), workdir)
    return {(i, v): p for i, v, p in duckdb.connect().execute(compiled).fetchall()}


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{c[0]}:{c[4]}" for c in CASES])
def test_type_rule_matches_the_staging_macro(index, staging_parses):
    kind, attribute, logical, options, _ = CASES[index]
    column = _column(attribute, logical, options, declared=True)
    [rule] = [r for r in column_rules(column) if r.rule in {"type", "format"}]
    con = duckdb.connect()
    disagreements = []
    for value in VALUES[kind]:
        broken = con.execute(f"select {rule.broken} from (select ? as v)", [value]).fetchone()[0]
        if broken == staging_parses[(index, value)]:
            disagreements.append((value, "quarantined" if broken else "loaded"))
    assert not disagreements, disagreements


@pytest.fixture(scope="module")
def staging_dates(tmp_path_factory) -> dict[tuple[str, str], str | None]:
    """(pattern, value) -> the date the staging macro ``parse_date`` returns, as text."""

    workdir = tmp_path_factory.mktemp("pattern_dates")
    selects = [
        f"select {_literal(fmt)} as fmt, {_literal(value)} as v_text, "
        f"cast(({{{{ parse_date('v', '{fmt}') }}}}) as varchar) as got "
        f"from (select {_literal(value)} as v) as t"
        for fmt in PATTERNS
        for value in VALUES["pattern"]
    ]
    compiled = _compile_inline("\nunion all\n".join(selects), workdir)
    return {(f, v): g for f, v, g in duckdb.connect().execute(compiled).fetchall()}


@pytest.mark.parametrize("fmt", PATTERNS)
def test_a_date_pattern_gives_the_same_dates_in_python_and_in_the_macro(fmt, staging_dates):
    """The Python translation (row rules) and the Jinja one (staging) return the same date
    for every value, and an impossible date is null in both, never a different date."""
    con = duckdb.connect()
    for value in VALUES["pattern"]:
        python = con.execute(
            f"select cast(({pattern_date_sql('trim(v)', fmt)}) as varchar) from (select ? as v)",
            [value],
        ).fetchone()[0]
        assert python == staging_dates[(fmt, value)], (fmt, value)


def test_yyyymmdd_reads_dates_and_refuses_impossible_ones(staging_dates):
    assert staging_dates[("yyyymmdd", "19890213")] == "1989-02-13"
    assert staging_dates[("yyyymmdd", " 19890213 ")] == "1989-02-13"
    assert staging_dates[("yyyymmdd", "19890231")] is None
    assert staging_dates[("mm/dd/yyyy", "02/13/1989")] == "1989-02-13"
    assert staging_dates[("mm/dd/yyyy", "13/02/1989")] is None
    assert staging_dates[("d MMM yyyy", "3 FEB 1989")] == "1989-02-03"
    assert staging_dates[("d MMM yyyy", "3 Febr 1989")] is None
    assert staging_dates[("d.m.yyyy", "3.2.1989")] == "1989-02-03"
    assert staging_dates[("dd.mm.yyyy", "3.2.1989")] is None


def test_an_impossible_date_is_quarantined_by_default_and_counted_when_nulled():
    """19890231 breaks the type rule: it quarantines the row unless onInvalid is null, when
    the row loads and the value is counted instead (never a silent null)."""
    con = duckdb.connect()
    for on_invalid, quarantined in (("quarantine", True), ("null", False)):
        column = _column("time.date", "date", {"format": "yyyymmdd"}, on_invalid)
        rules = column_rules(column)
        [rule] = [r for r in rules if r.rule == "type"]
        assert con.execute(f"select {rule.broken} from (select '19890231' as v)").fetchone()[0]
        assert bool(quarantining(rules)) is quarantined
        if not quarantined:
            assert set(nulled_columns(rules)) == {"v"}


def _column(attribute, logical, options, on_invalid="quarantine", declared=False) -> Column:
    return Column(
        name="v",
        physical_name="v",
        logical_type=logical,
        description="",
        required=False,
        unique=False,
        primary_key=False,
        classification="official",
        standard_attribute=attribute,
        options=options,
        on_invalid=on_invalid,
        on_invalid_declared=declared,
    )


def test_an_identifier_format_is_a_row_rule_only_when_its_column_declares_on_invalid():
    """Without onInvalid, staging nulls an invalid NINO as it always has (demo unchanged)."""
    plain = _column("person.nino", "string", {})
    assert not [r for r in column_rules(plain) if r.rule == "format"]
    declared = Column(**{**plain.__dict__, "on_invalid_declared": True})
    [rule] = [r for r in column_rules(declared) if r.rule == "format"]
    assert not rule.nulls and rule.message == "not a valid nino"


def _compile_inline(sql: str, workdir: Path) -> str:
    """The SQL of an inline dbt query as dbt compiles it with the project's macros."""
    from dbt.cli.main import dbtRunner  # dbt is slow to import; only the tests that compile

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COMMONGROUND_WAREHOUSE", str(workdir / "w.duckdb"))
        result = dbtRunner().invoke(
            [
                "compile",
                "--quiet",
                "--no-partial-parse",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(workdir / "target"),
                "--log-path",
                str(workdir / "logs"),
                "--inline",
                sql,
            ]
        )
    assert result.success, result.exception
    return result.result.results[0].node.compiled_code
