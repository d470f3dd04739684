"""Suite for ``conformed.person_records``: plausible dates of birth that agree across records."""

import great_expectations as gx

from orchestration.quality import ExpectRowsToSatisfyCondition, expectation_meta


def build_suite() -> gx.ExpectationSuite:
    """Dates of birth plausible; the same person's records agree on the year of birth."""
    return gx.ExpectationSuite(
        name="conformed.person_records",
        meta={"quality_targets": {"validity": 99.9, "consistency": 99, "completeness": 90}},
        expectations=[
            # A few mistyped years are a finding, not a reason to withhold every table:
            # the check blocks when more than 1% of records hold an impossible year.
            ExpectRowsToSatisfyCondition(
                condition="birth_year is null or birth_year between 1900 "
                "and extract(year from current_date)",
                mostly=0.99,
                sample_column="birth_year",
                description="Dates of birth are not in the future and not before 1900 (at "
                "least 99% of records; the rest are shown as samples).",
                meta=expectation_meta("birth_year_plausible", "validity", "ERROR"),
            ),
            ExpectRowsToSatisfyCondition(
                rows_query="select person_key, count(distinct birth_year) as birth_years "
                "from batch_rows where birth_year is not null group by person_key "
                "having count(*) > 1",
                condition="birth_years = 1",
                mostly=0.99,
                sample_column="person_key",
                description="Across departments, a person's records agree on the year of "
                "birth (at least 99% of people with two or more dated records).",
                # Sources that disagree are recorded and shown, not blocked: linkage forgives
                # a mistyped year when the other evidence is strong.
                meta=expectation_meta("birth_year_agrees_across_records", "consistency", "WARN"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="person_role = 'parent' or birth_year is not null",
                mostly=0.9,
                description="At least 90% of records of a department's own subjects hold a "
                "date of birth (parents and carers named by schools have none).",
                meta=expectation_meta("birth_year_recorded", "completeness", "WARN"),
            ),
        ],
    )
