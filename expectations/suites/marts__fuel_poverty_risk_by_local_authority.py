"""Suite for the warm-homes mart: counts that nest and shares that are shares."""

import great_expectations as gx

from orchestration.quality import ExpectRowsToSatisfyCondition, expectation_meta


def build_suite() -> gx.ExpectationSuite:
    """E-G homes within certified homes, income-related within E-G, shares in [0, 1]."""
    return gx.ExpectationSuite(
        name="marts.fuel_poverty_risk_by_local_authority",
        meta={"quality_targets": {"consistency": 100, "validity": 100}},
        expectations=[
            ExpectRowsToSatisfyCondition(
                condition="(homes_rated_e_to_g is null or homes_with_certificate is null "
                "or homes_rated_e_to_g <= homes_with_certificate) "
                "and (homes_e_to_g_income_related is null or homes_rated_e_to_g is null "
                "or homes_e_to_g_income_related <= homes_rated_e_to_g)",
                sample_column="local_authority_code",
                description="Counts nest: income-related E-G homes within E-G homes, within "
                "homes with a certificate.",
                meta=expectation_meta("counts_nest", "consistency", "ERROR"),
            ),
            ExpectRowsToSatisfyCondition(
                condition="share_income_related is null or share_income_related between 0 and 1",
                sample_column="local_authority_code",
                description="The income-related share is between 0 and 1.",
                meta=expectation_meta("share_is_a_proportion", "validity", "ERROR"),
            ),
        ],
    )
