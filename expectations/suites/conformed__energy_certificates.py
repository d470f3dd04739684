"""Suite for ``conformed.energy_certificates``: one current certificate per property."""

import great_expectations as gx

from orchestration.quality import ExpectRowsToSatisfyCondition, expectation_meta


def build_suite() -> gx.ExpectationSuite:
    """One current certificate per property; lodged in the past; floor areas positive."""
    return gx.ExpectationSuite(
        name="conformed.energy_certificates",
        meta={"quality_targets": {"uniqueness": 100, "validity": 99, "accuracy": 99}},
        expectations=[
            ExpectRowsToSatisfyCondition(
                rows_query="select property_key, count(*) as current_certificates "
                "from batch_rows where is_current group by property_key",
                condition="current_certificates = 1",
                sample_column="property_key",
                description="Each property has exactly one current energy certificate.",
                meta=expectation_meta(
                    "one_current_certificate_per_property", "uniqueness", "ERROR"
                ),
            ),
            ExpectRowsToSatisfyCondition(
                condition="lodgement_date is null or lodgement_date <= current_date",
                mostly=0.99,
                sample_column="lmk_key",
                description="Certificates were lodged on or before today.",
                meta=expectation_meta("lodged_in_the_past", "validity", "WARN"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="total_floor_area_m2 is null or total_floor_area_m2 > 0",
                mostly=0.99,
                sample_column="total_floor_area_m2",
                description="Floor areas are positive.",
                meta=expectation_meta("floor_area_positive", "accuracy", "WARN"),
            ),
        ],
    )
