"""Suite for the undeclared-income mart: overlaps that are real overlaps."""

import great_expectations as gx

from orchestration.quality import ExpectRowsToSatisfyCondition, expectation_meta


def build_suite() -> gx.ExpectationSuite:
    """Every listed award has positive overlapping pay from at least one employer."""
    return gx.ExpectationSuite(
        name="marts.benefit_income_overlaps",
        meta={"quality_targets": {"accuracy": 100, "validity": 100}},
        expectations=[
            ExpectRowsToSatisfyCondition(
                condition="overlapping_gross_pay > 0 and employments >= 1",
                sample_column="award_key",
                description="Each listed award overlaps positive PAYE pay from an employer.",
                meta=expectation_meta("overlap_has_pay", "accuracy", "ERROR"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="award_end is null or award_start <= award_end",
                sample_column="award_key",
                description="Each listed award ends on or after the day it starts.",
                meta=expectation_meta("award_dates_in_order", "validity", "ERROR"),
            ),
        ],
    )
