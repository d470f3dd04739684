"""Consent: the record of what the national data opt-out excluded from each health output."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import governance, privacy
from orchestration.defs.governance.keys import CONSENT_KEY, governance_asset
from orchestration.defs.linkage.assets import PERSON_MATCHES_KEY
from orchestration.settings import get_settings

GP_REGISTRATIONS_KEY = dg.AssetKey(["conformed", "gp_registrations"])

HEALTH_OUTPUTS = {"conformed.gp_registrations": "staging.stg_nhs__gp_registrations"}
"""Outputs derived from health data, with the staged health table each is built from."""


@governance_asset(
    key=CONSENT_KEY,
    deps=[GP_REGISTRATIONS_KEY, PERSON_MATCHES_KEY],
    description=(
        "What consent excluded, per run and output: the records of patients on the national "
        "data opt-out left out of each output derived from health data (the person index "
        "records its own count when it links)."
    ),
    metadata=governance.asset_metadata("consent_exclusions"),
    check_specs=[
        dg.AssetCheckSpec(
            name="no_opted_out_patient_in_health_outputs",
            asset=CONSENT_KEY,
            description=(
                "[validity · ERROR] No registration of a patient on the national data opt-out "
                "is in conformed.gp_registrations: the output keeps the consent rule."
            ),
            metadata={"gdqf_dimension": "validity", "severity": "ERROR"},
        )
    ],
)
def consent_exclusions(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Counts the opted-out records each health output left out, and checks none leaked."""
    metadata = {}
    with warehouse.get_connection() as con:
        for output, staged in HEALTH_OUTPUTS.items():
            excluded = privacy.count_opted_out_rows(con, staged)
            privacy.record_exclusions(
                con, context.run.run_id, output, excluded, "national data opt-out"
            )
            metadata[output] = excluded
        opted_out = con.execute(
            "select registration_id from staging.stg_nhs__gp_registrations as s "
            f"where s.nhs_number in (select nhs_number from {privacy.OPT_OUT_TABLE})"
        ).fetchall()
        # Conformed tables hold only the keyed pseudonym of a registration id.
        key = get_settings().pseudonym_key
        leaked = con.execute(
            "select count(*) from conformed.gp_registrations "
            "where registration_key in (select unnest(?::varchar[]))",
            [[privacy.pseudonym(key, "registration_id", r) for (r,) in opted_out]],
        ).fetchall()[0][0]
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="no_opted_out_patient_in_health_outputs",
                passed=leaked == 0,
                metadata={"opted_out_registrations_found": leaked},
            )
        ],
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The consent exclusion log."""
    return dg.Definitions(assets=[consent_exclusions])
