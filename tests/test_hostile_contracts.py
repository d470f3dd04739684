"""Hostile contracts (issue 12): each one is refused with a message naming what is wrong.

A contract comes from a department: its names end up in SQL and file names, its ``sql``
quality rules run in the warehouse and its YAML is parsed by the platform. Every contract
below is the small valid contract :data:`BASE` with one hostile change, written as YAML text.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.contracts import ContractError, load_contract, load_contracts, onboard
from orchestration.contracts.safe_yaml import parse_yaml
from orchestration.contracts.sql_rules import check_rule_sql

BASE = """\
apiVersion: v3.1.0
kind: DataContract
id: urn:commonground:nhs:data_opt_outs
name: National data opt-out list
version: 1.0.0
status: active
description:
  purpose: NHS numbers of patients who have registered a national data opt-out.
  customProperties:
    - property: legalBasis
      value: National Data Opt-out Policy (NHS England)
team:
  name: NHS England
  members:
    - username: pds-data@nhs.example.uk
      role: owner
servers:
  - server: landing
    type: local
    format: parquet
    path: landing/nhs/data_opt_outs
slaProperties:
  - property: frequency
    value: 30
    unit: d
  - property: latency
    value: 5
    unit: d
customProperties:
  - property: department
    value: nhs
  - property: classification
    value: personal
schema:
  - name: data_opt_outs
    physicalName: nhs__data_opt_outs
    physicalType: table
    properties:
      - name: nhs_number
        physicalName: nhs_number
        logicalType: string
        required: true
        primaryKey: true
        primaryKeyPosition: 1
        classification: personal
        customProperties:
          - property: standardAttribute
            value: person.nhs_number
      - name: opted_out_on
        physicalName: opted_out_on
        logicalType: date
        classification: official
        logicalTypeOptions:
          format: yyyy-mm-dd
        customProperties:
          - property: standardAttribute
            value: time.date
    quality:
      - name: opt_outs_dated
        type: sql
        query: "select count(*) from ${table} where opted_out_on is null"
        mustBe: 0
        dimension: completeness
        severity: error
"""
RULE = '"select count(*) from ${table} where opted_out_on is null"'
RULE_FIELD = "schema[0].quality[0].query"


def _write(root: Path, text: str, department: str = "nhs", dataset: str = "data_opt_outs"):
    path = root / "contracts" / department / f"{dataset}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _rule(query: str) -> str:
    return BASE.replace(RULE, query)


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n" + BASE


# (contract text, field named in the error, words of the message)
HOSTILE = {
    "path_traversal_in_dataset_name": (
        BASE.replace("  - name: data_opt_outs", "  - name: ../../etc/passwd"),
        "schema[0].name",
        "is not a safe lower_snake_case name",
    ),
    "path_traversal_in_landing_path": (
        BASE.replace("path: landing/nhs/data_opt_outs", "path: landing/nhs/../../etc"),
        "servers[landing].path",
        "must be 'landing/nhs/data_opt_outs'",
    ),
    "sql_injection_in_column_name": (
        BASE.replace("- name: nhs_number", '- name: "nhs_number; drop table raw.x"'),
        "schema[0].properties[0].name",
        "is not a safe lower_snake_case name",
    ),
    "sql_injection_in_physical_name": (
        BASE.replace(
            "physicalName: nhs_number", """physicalName: 'nhs_number"); drop table raw.x; --'"""
        ),
        "schema[0].properties[0].physicalName",
        "holds characters a delivered column name may not hold",
    ),
    "injection_in_quality_rule": (
        _rule('"select count(*) from ${table}; drop table raw.hmrc__paye_income"'),
        RULE_FIELD,
        "multiple statements are refused",
    ),
    "multiple_statements": (
        _rule('"select 1 from ${table}; select 2 from ${table}"'),
        RULE_FIELD,
        "multiple statements are refused",
    ),
    "table_function_read_csv": (
        _rule("\"select count(*) from ${table}, read_csv('/etc/passwd')\""),
        RULE_FIELD,
        "table function read_csv",
    ),
    "table_function_glob": (
        _rule("\"select count(*) from ${table} where exists (select * from glob('/etc/*'))\""),
        RULE_FIELD,
        "table function glob",
    ),
    "read_text_of_the_environment": (
        _rule("\"select (select content from read_text('/proc/self/environ')) from ${table}\""),
        RULE_FIELD,
        "table function read_text",
    ),
    "getenv_in_a_rule": (
        _rule("\"select count(*) from ${table} where getenv('COMMONGROUND_PSEUDONYM_KEY') > ''\""),
        RULE_FIELD,
        "function getenv",
    ),
    "attach": (
        _rule("\"attach '/tmp/other.duckdb' as ${table}\""),
        RULE_FIELD,
        "ATTACH (a rule is one SELECT)",
    ),
    "copy": (
        _rule("\"copy (select * from ${table}) to '/tmp/leak.csv'\""),
        RULE_FIELD,
        "COPY (a rule is one SELECT)",
    ),
    "pragma": (
        _rule("\"pragma table_info('${table}')\""),
        RULE_FIELD,
        "PRAGMA (a rule is one SELECT)",
    ),
    "another_table": (
        _rule('"select count(*) from ${table} join raw.hmrc__paye_income using (nhs_number)"'),
        RULE_FIELD,
        "table raw.hmrc__paye_income in another schema or database",
    ),
    "a_comment_escaping_the_wrapper": (
        _rule('"select count(*) from ${table} --"'),
        RULE_FIELD,
        "is not a self-contained query",
    ),
    "yaml_bomb": (_bomb(), "(file)", "more than 20 aliases"),
    "a_list_where_a_string_is_expected": (
        BASE.replace("    value: nhs\n", "    value: [nhs]\n"),
        "customProperties.department",
        "must be a string, not list",
    ),
    "a_number_as_a_name": (
        BASE.replace("    value: nhs\n", "    value: 42\n"),
        "customProperties.department",
        "must be a string, not int",
    ),
    "a_date_as_a_name": (
        BASE.replace("    value: nhs\n", "    value: 2022-10-03\n"),
        "customProperties.department",
        "'2022-10-03' is not a safe name",
    ),
    "trailing_newline_in_column_name": (
        BASE.replace("- name: nhs_number", '- name: "nhs_number\\n"'),
        "schema[0].properties[0].name",
        "holds the control character '\\n'",
    ),
    "trailing_newline_in_physical_name": (
        BASE.replace("physicalName: nhs_number", 'physicalName: "nhs_number\\n"'),
        "schema[0].properties[0].physicalName",
        "holds the control character '\\n'",
    ),
    "tab_in_id": (
        BASE.replace("id: urn:commonground:nhs:data_opt_outs", 'id: "urn:commonground:nhs\\t:x"'),
        "id",
        "holds the control character '\\t'",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_contract_is_refused_naming_file_field_and_construct(tmp_path, case):
    text, field, words = HOSTILE[case]
    path = _write(tmp_path, text)
    started = time.perf_counter()
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    assert time.perf_counter() - started < 1.0
    assert caught.value.field_path == field
    assert str(path) in str(caught.value) and words in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value).replace("\\n", "")


def test_the_base_contract_is_valid(tmp_path):
    contract = load_contract(_write(tmp_path, BASE))
    assert contract.quality[0].query == "select count(*) from ${table} where opted_out_on is null"


def test_a_trailing_newline_is_refused_even_where_the_location_is_not_checked(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text(BASE.replace("  - name: data_opt_outs", '  - name: "data_opt_outs\\n"'))
    with pytest.raises(ContractError, match=re.escape("holds the control character")):
        load_contract(path, check_location=False)


def test_a_date_is_kept_as_the_string_written(tmp_path):
    # The official ODCS examples write contractCreatedTs: 2022-10-03; YAML would read a date,
    # which the ODCS schema refuses.
    text = BASE.replace("status: active\n", "status: active\ncontractCreatedTs: 2022-10-03\n")
    contract = load_contract(_write(tmp_path, text))
    assert contract.document["contractCreatedTs"] == "2022-10-03"


def test_a_2_mib_contract_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = _write(tmp_path, BASE + "#" + "x" * (2 * 1024 * 1024) + "\n")

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_text", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(ContractError, match="a contract may be at most 1048576"):
        load_contract(path)


def test_twenty_aliases_are_fine_and_a_bomb_fails_fast(tmp_path):
    text = "x: &x {a: 1}\n" + "".join(f"y{i}: *x\n" for i in range(20))
    assert parse_yaml(tmp_path, text)["y19"] == {"a": 1}
    with pytest.raises(ContractError, match="more than 20 aliases"):
        parse_yaml(tmp_path, text + "y20: *x\n")
    started = time.perf_counter()
    with pytest.raises(ContractError, match="refused as a possible YAML bomb"):
        load_contract(_write(tmp_path, _bomb(9)))
    assert time.perf_counter() - started < 1.0


def test_onboarding_reads_only_contracts_dir_department_dataset_yaml(tmp_path):
    contracts_dir = tmp_path / "contracts"
    inside = _write(tmp_path, BASE)
    elsewhere = tmp_path / "elsewhere" / "nhs" / "data_opt_outs.yaml"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_text(BASE, encoding="utf-8")
    dotted = contracts_dir / "nhs" / ".." / "nhs" / "data_opt_outs.yaml"
    for path, words in [
        (elsewhere, "a contract must be"),
        (dotted, "may not hold '..'"),
    ]:
        with pytest.raises(ContractError, match=re.escape(words)):
            onboard(path, contracts_dir, tmp_path / "dbt", check=True)
    assert onboard(inside, contracts_dir, tmp_path / "dbt", check=True)


def test_a_symlink_leaving_the_contracts_folder_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "data_opt_outs.yaml"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_text(BASE, encoding="utf-8")
    link = tmp_path / "contracts" / "nhs" / "data_opt_outs.yaml"
    link.parent.mkdir(parents=True)
    os.symlink(elsewhere, link)
    with pytest.raises(ContractError, match="may not be a symlink"):
        load_contracts(tmp_path / "contracts")
    with pytest.raises(ContractError, match="symlink"):
        onboard(link, tmp_path / "contracts", tmp_path / "dbt", check=True)
    with pytest.raises(ContractError, match="symlink"):
        load_contract(link)


def test_onboard_refuses_a_contract_outside_the_folder_in_one_line(tmp_path):
    outside = tmp_path / "nhs" / "data_opt_outs.yaml"
    outside.parent.mkdir(parents=True)
    outside.write_text(BASE, encoding="utf-8")
    result = CliRunner().invoke(app, ["onboard", "--check", str(outside)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "a contract must be" in lines[0], result.output


@pytest.mark.parametrize(
    "query",
    [
        "select count(*) from ${table}",
        "select 100.0 * count(*) filter (where x is null) / greatest(count(*), 1) from ${table}",
        "with t as (select * from ${table}) select count(*) from t "
        "where x in (select x from ${table})",
        "select count(*) from (select distinct x from ${table}) as d",
    ],
)
def test_a_select_over_the_contract_table_is_accepted(query):
    check_rule_sql(query)
