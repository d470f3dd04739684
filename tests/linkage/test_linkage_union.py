"""The person union carries what the contracts offer: address parts and each identifier
scheme (as its pseudonym only) once a contract supplies them, and nothing new otherwise."""

from __future__ import annotations

from pathlib import Path

import yaml

from orchestration.contracts import load_contract, load_contracts, render_person_union
from orchestration.settings import REPO_ROOT

EXAMPLE = REPO_ROOT / "expectations" / "examples" / "dvla" / "driving_licences.yaml"


def _foreign_licences(tmp_path: Path):
    """The DVLA example with a social security number and foreign address parts added."""
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    properties = document["schema"][0]["properties"]

    def column(name: str, attribute: str, **custom) -> dict:
        return {
            "name": name,
            "physicalName": name,
            "logicalType": "string",
            "description": f"The holder's {name}.",
            "required": False,
            "classification": "personal",
            "customProperties": [
                {"property": "standardAttribute", "value": attribute},
                *({"property": k, "value": v} for k, v in custom.items()),
            ],
        }

    properties += [
        column("ssn", "person.identifier", identifierScheme="xx.social_security"),
        column("zip", "address.postal_code"),
        column("house", "address.house_number"),
        column("suburb", "address.locality"),
    ]
    path = tmp_path / "dvla" / "driving_licences.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_contract(path)


def test_the_union_carries_new_attributes_and_identifier_pseudonyms(tmp_path):
    demo = render_person_union(load_contracts())
    assert "postal_code" not in demo and "identifier_" not in demo
    sql = render_person_union([*load_contracts(), _foreign_licences(tmp_path)])
    final = sql[sql.index("final as (") :]
    for name in (
        "postal_code",
        "house_number",
        "locality",
        "identifier_xx_social_security_pseudonym",
    ):
        assert f"        {name}" in final
    assert "street" not in final and "region" not in final, "no contract supplies them"
    dvla = sql[sql.index("'dvla' as department") :].split("union all")[0]
    assert "identifier_xx_social_security_pseudonym" in dvla
    assert "ssn" not in dvla, "the identifier itself never leaves staging"
    assert "zip as postal_code" in dvla or "        postal_code," in dvla
    hmrc = sql[sql.index("'hmrc' as department") :].split("union all")[0]
    assert "cast(null as varchar) as identifier_xx_social_security_pseudonym" in hmrc
