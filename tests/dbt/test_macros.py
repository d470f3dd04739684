"""Unit tests of the dbt macros that implement the shared standard attributes.

Every test expression is rendered once per session by ``dbt compile --inline`` (so the
real macros, dispatch and all, produce the SQL) and the compiled query is run in an
in-memory DuckDB. Each case states the raw text and the value the macro must return.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
from pathlib import Path

import duckdb
import pytest

from orchestration.privacy.pseudonyms import register_pseudonym_function

pytestmark = pytest.mark.xdist_group("dbt")

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
PSEUDONYM_KEY = "test-key with 'quotes' and ü"


def _nhs_number_with_remainder(target_remainder: int) -> str:
    """A nine-digit stem whose weighted sum leaves ``target_remainder`` modulo 11."""
    for stem in range(100000000, 999999999):
        digits = str(stem)
        total = sum(int(d) * (10 - i) for i, d in enumerate(digits))
        if total % 11 == target_remainder:
            return digits
    raise AssertionError("no stem found")


def _hmac(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


CHECK_DIGIT_TEN_STEM = _nhs_number_with_remainder(1)
CHECK_DIGIT_ZERO_STEM = _nhs_number_with_remainder(0)
EXCEL_45123 = (datetime.date(1899, 12, 30) + datetime.timedelta(days=45123)).isoformat()

# (case id, macro call on column v, raw text or None, expected text or None)
CASES: list[tuple[str, str, str | None, str | None]] = [
    # postcodes
    ("postcode_lower_no_space", "clean_postcode('v')", "ls14ab", "LS1 4AB"),
    ("postcode_double_space", "clean_postcode('v')", "LS1  4AB", "LS1 4AB"),
    ("postcode_padded", "clean_postcode('v')", " sw1a 1aa ", "SW1A 1AA"),
    ("postcode_short_outward", "clean_postcode('v')", "B11AA", "B1 1AA"),
    ("postcode_aa9a", "clean_postcode('v')", "ec1a1bb", "EC1A 1BB"),
    ("postcode_already_clean", "clean_postcode('v')", "M1 1AE", "M1 1AE"),
    ("postcode_outward_only", "clean_postcode('v')", "LS1", None),
    ("postcode_digits", "clean_postcode('v')", "12345", None),
    ("postcode_short_inward", "clean_postcode('v')", "LS1 4A", None),
    ("postcode_too_long", "clean_postcode('v')", "LS1 4ABX", None),
    ("postcode_null", "clean_postcode('v')", None, None),
    # National Insurance numbers
    ("nino_spaced", "clean_nino('v')", "AB 12 34 56 C", "AB123456C"),
    ("nino_lower", "clean_nino('v')", "ab123456c", "AB123456C"),
    ("nino_first_letter_o_allowed", "clean_nino('v')", "OA123456A", "OA123456A"),
    *[
        (f"nino_prefix_{p}", "clean_nino('v')", f"{p}123456A", None)
        for p in ["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"]
    ],
    *[(f"nino_first_letter_{c}", "clean_nino('v')", f"{c}A123456A", None) for c in "DFIQUV"],
    *[(f"nino_second_letter_{c}", "clean_nino('v')", f"A{c}123456A", None) for c in "DFIOQUV"],
    ("nino_bad_suffix", "clean_nino('v')", "AB123456E", None),
    ("nino_five_digits", "clean_nino('v')", "AB12345C", None),
    ("nino_null", "clean_nino('v')", None, None),
    # NHS numbers
    ("nhs_spaced_valid", "clean_nhs_number('v')", "943 476 5919", "9434765919"),
    ("nhs_hyphens_valid", "clean_nhs_number('v')", "401-023-2137", "4010232137"),
    ("nhs_wrong_check_digit", "clean_nhs_number('v')", "9434765918", None),
    ("nhs_check_digit_would_be_10", "clean_nhs_number('v')", CHECK_DIGIT_TEN_STEM + "0", None),
    ("nhs_check_digit_10_as_last_digit", "clean_nhs_number('v')", CHECK_DIGIT_TEN_STEM + "1", None),
    (
        "nhs_check_digit_11_is_0",
        "clean_nhs_number('v')",
        CHECK_DIGIT_ZERO_STEM + "0",
        CHECK_DIGIT_ZERO_STEM + "0",
    ),
    ("nhs_nine_digits", "clean_nhs_number('v')", "943476591", None),
    ("nhs_letters", "clean_nhs_number('v')", "94347659AB", None),
    # UPRN and UPN
    ("uprn_valid", "clean_uprn('v')", "100023336956", "100023336956"),
    ("uprn_spreadsheet_float", "clean_uprn('v')", "200003456789.0", "200003456789"),
    ("uprn_padded", "clean_uprn('v')", " 12 ", "12"),
    ("uprn_thirteen_digits", "clean_uprn('v')", "1234567890123", None),
    ("uprn_text", "clean_uprn('v')", "UPRN12", None),
    ("upn_valid_lower", "clean_upn('v')", "a123456789012", "A123456789012"),
    ("upn_invalid", "clean_upn('v')", "123456789012", None),
    # names and addresses
    ("name_curly_apostrophe", "clean_name('v')", "  o\u2019brien-smith  ", "O'BRIEN-SMITH"),
    ("name_collapse_spaces", "clean_name('v')", "John   Paul", "JOHN PAUL"),
    ("name_accents_kept", "clean_name('v')", "Jos\u00e9", "JOS\u00c9"),
    ("name_punctuation_removed", "clean_name('v')", "Smith, Jr.", "SMITH JR"),
    ("name_blank", "clean_name('v')", "   ", None),
    (
        "address_punctuation",
        "clean_address('v')",
        "Flat 2 ,12  High St., Leeds",
        "FLAT 2, 12 HIGH ST, LEEDS",
    ),
    (
        "address_key_drops_town",
        "address_match_key('v', true)",
        "FLAT 2, 12 HIGH ST, LEEDS",
        "FLAT 2 12 HIGH ST",
    ),
    ("address_key_keeps_line", "address_match_key('v')", "FLAT 2, 12 HIGH ST", "FLAT 2 12 HIGH ST"),
    # dates
    ("date_ddmmyyyy", "parse_date('v', 'dd/mm/yyyy')", "03/04/2019", "2019-04-03"),
    ("date_ddmmyyyy_impossible", "parse_date('v', 'dd/mm/yyyy')", "31/02/2020", None),
    ("date_ddmmyyyy_rejects_iso", "parse_date('v', 'dd/mm/yyyy')", "2019-04-03", None),
    ("date_iso", "parse_date('v', 'yyyy-mm-dd')", "2019-04-03", "2019-04-03"),
    ("date_iso_with_time", "parse_date('v', 'yyyy-mm-dd')", "2019-04-03T00:00:00", "2019-04-03"),
    ("date_iso_rejects_ddmmyyyy", "parse_date('v', 'yyyy-mm-dd')", "03/04/2019", None),
    ("date_iso_impossible", "parse_date('v', 'yyyy-mm-dd')", "2019-13-01", None),
    ("date_excel_serial", "parse_date('v', 'excel')", "45123", EXCEL_45123),
    ("date_excel_serial_float", "parse_date('v', 'excel')", "45123.0", EXCEL_45123),
    ("date_excel_iso_text", "parse_date('v', 'excel')", "2023-07-16", "2023-07-16"),
    ("date_excel_typed_text", "parse_date('v', 'excel')", "03/04/2019", "2019-04-03"),
    ("date_excel_garbage", "parse_date('v', 'excel')", "soon", None),
    ("date_any_iso", "parse_date('v', 'any')", "2019-04-03", "2019-04-03"),
    ("date_any_ddmmyyyy", "parse_date('v', 'any')", "03/04/2019", "2019-04-03"),
    ("date_any_unpadded", "parse_date('v', 'any')", "3/4/2019", "2019-04-03"),
    ("date_any_hyphens", "parse_date('v', 'any')", "03-04-2019", "2019-04-03"),
    ("date_any_dots", "parse_date('v', 'any')", "03.04.2019", "2019-04-03"),
    ("date_any_garbage", "parse_date('v', 'any')", "not a date", None),
    # money, numbers, flags, tax years
    ("money_pounds_commas", "parse_money('v')", "\u00a31,234.50", "1234.50"),
    ("money_plain", "parse_money('v')", "85.9", "85.90"),
    ("money_negative", "parse_money('v')", "-\u00a312", "-12.00"),
    ("money_brackets_negative", "parse_money('v')", "(12.50)", "-12.50"),
    ("money_symbol_only", "parse_money('v')", "\u00a3", None),
    ("money_text", "parse_money('v')", "twelve", None),
    ("number_valid", "parse_number('v')", "85.9", "85.9"),
    ("number_text", "parse_number('v')", "n/a", None),
    ("flag_y", "parse_flag('v')", "Y", "true"),
    ("flag_yes_lower", "parse_flag('v')", "yes", "true"),
    ("flag_true", "parse_flag('v')", "TRUE", "true"),
    ("flag_n", "parse_flag('v')", "N", "false"),
    ("flag_false", "parse_flag('v')", "false", "false"),
    ("flag_unknown", "parse_flag('v')", "maybe", None),
    ("tax_year_short", "clean_tax_year('v')", "2025-26", "2025-26"),
    ("tax_year_slash", "clean_tax_year('v')", "2025/26", "2025-26"),
    ("tax_year_long", "clean_tax_year('v')", "2025-2026", "2025-26"),
    ("tax_year_invalid", "clean_tax_year('v')", "25-26", None),
    # sex
    ("sex_nhs_male", "map_sex('v', 'nhs')", "1", "1"),
    ("sex_nhs_not_specified", "map_sex('v', 'nhs')", "9", "9"),
    ("sex_nhs_invalid", "map_sex('v', 'nhs')", "3", None),
    ("sex_nhs_rejects_letter", "map_sex('v', 'nhs')", "M", None),
    ("sex_letter_male", "map_sex('v', 'letter')", "m", "1"),
    ("sex_letter_female", "map_sex('v', 'letter')", "F", "2"),
    ("sex_letter_rejects_number", "map_sex('v', 'letter')", "1", None),
    ("sex_letter_invalid", "map_sex('v', 'letter')", "Z", None),
    # pseudonyms
    (
        "pseudonym_nino",
        "pseudonymise('v', 'nino')",
        "AB123456C",
        _hmac(PSEUDONYM_KEY, "nino:AB123456C"),
    ),
    (
        "pseudonym_other_domain",
        "pseudonymise('v', 'nhs_number')",
        "AB123456C",
        _hmac(PSEUDONYM_KEY, "nhs_number:AB123456C"),
    ),
    (
        "pseudonym_unicode",
        "pseudonymise('v', 'person')",
        "Zo\u00eb",
        _hmac(PSEUDONYM_KEY, "person:Zo\u00eb"),
    ),
    ("pseudonym_null", "pseudonymise('v', 'nino')", None, None),
    (
        "hmac_long_key",
        "hmac_sha256_hex(\"'\" ~ 'k' * 100 ~ \"'\", 'v')",
        "message",
        _hmac("k" * 100, "message"),
    ),
    (
        "hmac_64_byte_key",
        "hmac_sha256_hex(\"'\" ~ 'k' * 64 ~ \"'\", 'v')",
        "message",
        _hmac("k" * 64, "message"),
    ),
    # standardise dispatches by attribute and options
    ("standardise_nino", "standardise('v', 'person.nino')", "AB 12 34 56 C", "AB123456C"),
    (
        "standardise_excel_date",
        "standardise('v', 'time.date', {'format': 'excel'})",
        "45123",
        EXCEL_45123,
    ),
    (
        "standardise_sex_letter",
        "standardise('v', 'person.sex', {'codeSystem': 'letter'})",
        "F",
        "2",
    ),
    ("standardise_main_fuel", "standardise('v', 'code.main_fuel')", " Mains  Gas ", "mains gas"),
    ("standardise_band", "standardise('v', 'code.council_tax_band')", " c", "C"),
    # the vocabulary for departments of any country
    ("postal_code_au", "standardise('v', 'address.postal_code')", " 2000 ", "2000"),
    ("postal_code_uk_spaces", "standardise('v', 'address.postal_code')", "sw1a 1aa", "SW1A1AA"),
    ("postal_code_nl", "standardise('v', 'address.postal_code')", "1012 ab", "1012AB"),
    ("postal_code_blank", "standardise('v', 'address.postal_code')", "   ", None),
    ("house_number", "standardise('v', 'address.house_number')", " 12a ", "12A"),
    ("street", "standardise('v', 'address.street')", "George St.", "GEORGE ST"),
    ("locality", "standardise('v', 'address.locality')", "st kilda", "ST KILDA"),
    ("region", "standardise('v', 'address.region')", "New South Wales", "NEW SOUTH WALES"),
    ("identifier", "standardise('v', 'person.identifier')", " ab-123 x ", "AB-123 X"),
    (
        "standardise_pattern_date",
        "standardise('v', 'time.date', {'format': 'yyyymmdd'})",
        "19890213",
        "1989-02-13",
    ),
    (
        "standardise_pattern_impossible_date",
        "standardise('v', 'person.date_of_birth', {'format': 'yyyymmdd'})",
        "19890231",
        None,
    ),
    (
        "standardise_month_name",
        "standardise('v', 'time.date', {'format': 'd MMM yyyy'})",
        "3 feb 1989",
        "1989-02-03",
    ),
    (
        "pseudonym_identifier_scheme",
        "pseudonymise('v', 'au.centrelink_crn')",
        "AB123",
        _hmac(PSEUDONYM_KEY, "au.centrelink_crn:AB123"),
    ),
]


def _sql_literal(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


@pytest.fixture(scope="session")
def macro_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """Compiles every case with dbt once and returns case id -> value from DuckDB."""
    from dbt.cli.main import dbtRunner

    workdir = tmp_path_factory.mktemp("dbt_macros")
    selects = [
        f"select '{case_id}' as case_id, cast(({{{{ {call} }}}}) as varchar) as got "
        f"from (select cast({_sql_literal(raw)} as varchar) as v) as t"
        for case_id, call, raw, _ in CASES
    ]
    inline = "\nunion all\n".join(selects)
    saved = {k: os.environ.get(k) for k in ("COMMONGROUND_WAREHOUSE", "COMMONGROUND_PSEUDONYM_KEY")}
    os.environ["COMMONGROUND_WAREHOUSE"] = str(workdir / "macros.duckdb")
    os.environ["COMMONGROUND_PSEUDONYM_KEY"] = PSEUDONYM_KEY
    try:
        result = dbtRunner().invoke(
            [
                "compile",
                "--quiet",
                "--no-partial-parse",
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
                "--target-path",
                str(workdir / "target"),
                "--log-path",
                str(workdir / "logs"),
                "--inline",
                inline,
            ]
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert result.success, f"dbt compile failed: {result.exception}"
    compiled = result.result.results[0].node.compiled_code
    con = duckdb.connect()
    # What the profile's plugin does on dbt's connections: the key is never in the SQL.
    register_pseudonym_function(con, PSEUDONYM_KEY)
    assert PSEUDONYM_KEY not in compiled
    rows = con.execute(compiled).fetchall()
    return dict(rows)


@pytest.mark.parametrize(("case_id", "call", "raw", "expected"), CASES, ids=[c[0] for c in CASES])
def test_macro(
    macro_results: dict[str, str | None],
    case_id: str,
    call: str,
    raw: str | None,
    expected: str | None,
) -> None:
    assert case_id in macro_results, f"{case_id} was not compiled"
    assert macro_results[case_id] == expected, f"{call} on {raw!r}"


def test_pseudonyms_differ_by_domain(macro_results: dict[str, str | None]) -> None:
    assert macro_results["pseudonym_nino"] != macro_results["pseudonym_other_domain"]
