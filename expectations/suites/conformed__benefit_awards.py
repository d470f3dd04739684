"""Suite for ``conformed.benefit_awards``: amounts and award periods that make sense."""

import great_expectations as gx

from orchestration.quality import ExpectRowsToSatisfyCondition, expectation_meta


def build_suite() -> gx.ExpectationSuite:
    """Weekly amounts non-negative; awards end on or after they start."""
    return gx.ExpectationSuite(
        name="conformed.benefit_awards",
        meta={"quality_targets": {"validity": 100}},
        expectations=[
            ExpectRowsToSatisfyCondition(
                condition="weekly_amount is null or weekly_amount >= 0",
                sample_column="weekly_amount",
                description="Weekly award amounts are never negative.",
                meta=expectation_meta("weekly_amount_non_negative", "validity", "ERROR"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="award_end is null or award_start is null or award_start <= award_end",
                sample_column="award_key",
                description="Each award ends on or after the day it starts.",
                meta=expectation_meta("award_dates_in_order", "validity", "ERROR"),
            ),
        ],
    )
