"""Suite for ``conformed.gp_registrations``: plausible registration and birth dates."""

import great_expectations as gx

from orchestration.quality import ExpectRowsToSatisfyCondition, expectation_meta


def build_suite() -> gx.ExpectationSuite:
    """Registrations not in the future; years of birth between 1900 and now."""
    return gx.ExpectationSuite(
        name="conformed.gp_registrations",
        meta={"quality_targets": {"validity": 99.9}},
        expectations=[
            ExpectRowsToSatisfyCondition(
                condition="registered_on is null or registered_on <= current_date",
                sample_column="registration_key",
                description="Nobody registered with a practice in the future.",
                meta=expectation_meta("registered_in_the_past", "validity", "ERROR"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="birth_year is null or birth_year between 1900 "
                "and extract(year from current_date)",
                sample_column="birth_year",
                description="Dates of birth are not in the future and not before 1900.",
                meta=expectation_meta("birth_year_plausible", "validity", "ERROR"),
            ),
        ],
    )
