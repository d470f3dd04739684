"""Suite for ``conformed.properties``: valid, present postcodes."""

import great_expectations as gx

from orchestration.quality import ExpectRowsToSatisfyCondition, expectation_meta

UK_POSTCODE = "[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}"


def build_suite() -> gx.ExpectationSuite:
    """Postcodes in the standard form; at least 90% of properties with one."""
    return gx.ExpectationSuite(
        name="conformed.properties",
        meta={"quality_targets": {"validity": 100, "completeness": 90}},
        expectations=[
            ExpectRowsToSatisfyCondition(
                condition=f"postcode is null or regexp_full_match(postcode, '{UK_POSTCODE}')",
                sample_column="postcode",
                description="Postcodes are valid UK postcodes, upper case with one space.",
                meta=expectation_meta("postcode_valid", "validity", "ERROR"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="postcode is not null",
                mostly=0.9,
                description="At least 90% of properties have a postcode.",
                meta=expectation_meta("postcode_recorded", "completeness", "WARN"),
            ),
        ],
    )
