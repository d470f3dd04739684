"""Row rules at the door agree with the staging macros: a value is quarantined exactly when
staging could not parse it.

Each value is run through the real dbt macro (rendered once by ``dbt compile --inline``) and
through the row rule of a column of the same type; a non-blank value must parse in both or
in neither.
"""

from __future__ import annotations

import duckdb
import pytest

from orchestration.contracts import Column
from orchestration.ingest.row_rules import column_rules
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
}

CASES = [
    ("date", "time.date", "date", {"format": fmt}, f"parse_date('v', '{fmt}')")
    for fmt in ("dd/mm/yyyy", "yyyy-mm-dd", "excel", "any")
] + [
    ("money", "money.gbp", "number", {}, "parse_money('v')"),
    ("number", "measure.number", "number", {}, "parse_number('v')"),
    ("flag", "flag.yes_no", "boolean", {}, "parse_flag('v')"),
]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@pytest.fixture(scope="module")
def staging_parses(tmp_path_factory) -> dict[tuple[int, str], bool]:
    """(case index, value) -> whether the staging macro returns a value."""
    from dbt.cli.main import dbtRunner

    workdir = tmp_path_factory.mktemp("row_rules")
    selects = [
        f"select {i} as case_id, {_literal(value)} as v_text, "
        f"(({{{{ {call} }}}}) is not null) as parses from (select {_literal(value)} as v) as t"
        for i, (kind, _, _, _, call) in enumerate(CASES)
        for value in VALUES[kind]
    ]
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
                "\nunion all\n".join(selects),
            ]
        )
    assert result.success, result.exception
    compiled = result.result.results[0].node.compiled_code
    return {(i, v): p for i, v, p in duckdb.connect().execute(compiled).fetchall()}


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{c[0]}:{c[4]}" for c in CASES])
def test_type_rule_matches_the_staging_macro(index, staging_parses):
    kind, attribute, logical, options, _ = CASES[index]
    column = Column(
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
    )
    [rule] = [r for r in column_rules(column) if r.rule == "type"]
    con = duckdb.connect()
    disagreements = []
    for value in VALUES[kind]:
        broken = con.execute(f"select {rule.broken} from (select ? as v)", [value]).fetchone()[0]
        if broken == staging_parses[(index, value)]:
            disagreements.append((value, "quarantined" if broken else "loaded"))
    assert not disagreements, disagreements
