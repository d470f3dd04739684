"""Suite for ``conformed.income``: PAYE pay and tax that make sense."""

import great_expectations as gx

from orchestration.quality import ExpectRowsToSatisfyCondition, expectation_meta


def build_suite() -> gx.ExpectationSuite:
    """Income non-negative, tax not above pay, spells that end after they start."""
    return gx.ExpectationSuite(
        name="conformed.income",
        meta={"quality_targets": {"validity": 100, "accuracy": 99, "completeness": 99}},
        expectations=[
            ExpectRowsToSatisfyCondition(
                condition="gross_pay is null or gross_pay >= 0",
                sample_column="gross_pay",
                description="Gross pay is never negative.",
                meta=expectation_meta("gross_pay_non_negative", "validity", "ERROR"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="period_start is null or period_end is null "
                "or period_start <= period_end",
                sample_column="paye_record_key",
                description="Each employment spell ends on or after the day it starts.",
                meta=expectation_meta("spell_dates_in_order", "validity", "ERROR"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="tax_deducted is null or gross_pay is null or tax_deducted <= gross_pay",
                mostly=0.99,
                sample_column="paye_record_key",
                description="Income tax deducted is not more than the gross pay.",
                meta=expectation_meta("tax_not_above_pay", "accuracy", "WARN"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="gross_pay is not null",
                mostly=0.99,
                description="At least 99% of spells report a gross pay.",
                meta=expectation_meta("gross_pay_recorded", "completeness", "WARN"),
            ),
        ],
    )
