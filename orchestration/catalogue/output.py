"""The catalogue written out: every entry checked against the JSON Schema of the model's
required fields, then written as JSON (one file per entry and an index), as one JSON-LD
document (a ``dcat:Catalog``), and as the table ``governance.catalogue``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import jsonschema

from orchestration import governance
from orchestration.catalogue.entries import CatalogueContext, build_entry
from orchestration.catalogue.errors import CatalogueError
from orchestration.catalogue.lineage import PublishedTable
from orchestration.catalogue.vocabulary import DATA_SHARE_AGREEMENT
from orchestration.state import write_atomically

SCHEMA_PATH = Path(__file__).with_name("uk_metadata_exchange.schema.json")
"""JSON Schema of the fields and types the model requires of a Dataset and its
Distributions."""

ENTRIES_DIR = "entries"
INDEX_FILE = "index.json"
JSONLD_FILE = "catalogue.jsonld"

MODEL_NAMESPACE = "https://w3id.org/co-cddo/ukgov-metadata-exchange-model/"
"""Namespace of the model's own terms (``securityClassification``, ``DATA_SHARE_AGREEMENT``)."""

EXTENSION_NAMESPACE = "urn:commonground:terms:"
"""Namespace of Common Ground's additions to the model."""

MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"

JSONLD_CONTEXT: dict[str, Any] = {
    "@version": 1.1,
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "freq": "http://purl.org/cld/freq/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "csvw": "http://www.w3.org/ns/csvw#",
    "ukgov": MODEL_NAMESPACE,
    "cg": EXTENSION_NAMESPACE,
    "Catalog": "dcat:Catalog",
    "Dataset": "dcat:Dataset",
    "Distribution": "dcat:Distribution",
    "Organisation": "foaf:Organization",
    "Kind": "vcard:Kind",
    "dataset": {"@id": "dcat:dataset", "@container": "@set"},
    "identifier": "dct:identifier",
    "title": "dct:title",
    "description": "dct:description",
    "version": "dcat:version",
    "modified": {"@id": "dct:modified", "@type": "xsd:date"},
    "licence": {"@id": "dct:license", "@type": "@id"},
    "accessRights": "dct:accessRights",
    "securityClassification": "ukgov:securityClassification",
    "handlingCaveat": "cg:handlingCaveat",
    "contactPoint": "dcat:contactPoint",
    "contactName": "vcard:fn",
    "email": {"@id": "vcard:hasEmail", "@type": "@id"},
    "creator": {"@id": "dct:creator", "@container": "@set"},
    "publisher": "dct:publisher",
    "updateFrequency": {"@id": "dct:accrualPeriodicity", "@type": "@vocab"},
    "keyword": {"@id": "dcat:keyword", "@container": "@set"},
    "distribution": {"@id": "dcat:distribution", "@container": "@set"},
    "mediaType": {"@id": "dcat:mediaType", "@type": "@id"},
    "conformsTo": {"@id": "dct:conformsTo", "@type": "@id", "@container": "@set"},
    "table": "cg:table",
    "columns": {"@id": "csvw:column", "@container": "@list"},
    "name": "csvw:name",
    "datatype": "csvw:datatype",
    "sourceContracts": {"@id": "cg:sourceContracts", "@type": "@json"},
    "quality": {"@id": "cg:quality", "@type": "@json"},
}
"""The JSON-LD context: the model's names mapped to DCAT, Dublin Core, FOAF and vCard terms
(as in CDDO's own context), and Common Ground's additions to ``cg:``."""


@functools.cache
def entry_schema() -> dict[str, Any]:
    """The JSON Schema every catalogue entry must satisfy."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_entry(entry: dict[str, Any]) -> None:
    """Checks one entry against :func:`entry_schema`.

    Raises:
        CatalogueError: The entry breaks the schema; names its dataset and the field.
    """
    validator = jsonschema.Draft202012Validator(
        entry_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(entry), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(entry)"
        raise CatalogueError(str(entry.get("dataset", "?")), where, first.message)


def build_catalogue(
    tables: Sequence[PublishedTable], ctx: CatalogueContext
) -> list[dict[str, Any]]:
    """One entry per table, each checked against :func:`entry_schema`.

    Raises:
        CatalogueError: A required field cannot be derived or breaks the schema, or two
            tables would share an identifier; names the dataset and the field.
    """
    entries, seen = [], {}
    for table in tables:
        entry = build_entry(table, ctx)
        validate_entry(entry)
        if entry["identifier"] in seen:
            raise CatalogueError(
                table.dataset, "identifier", f"also the identifier of {seen[entry['identifier']]}"
            )
        seen[entry["identifier"]] = table.dataset
        entries.append(entry)
    return entries


def _jsonld_value(key: str, value: Any) -> Any:
    if key == "licence" and value == DATA_SHARE_AGREEMENT:
        return f"ukgov:{DATA_SHARE_AGREEMENT}"
    if key == "mediaType":
        return MEDIA_TYPES + value
    if key == "email":
        return f"mailto:{value}"
    return value


def jsonld_node(entry: dict[str, Any], kind: str = "Dataset") -> dict[str, Any]:
    """An entry (or a distribution) as a JSON-LD node, compacted with :data:`JSONLD_CONTEXT`."""
    node: dict[str, Any] = {"@id": entry["identifier"], "@type": kind}
    for key, value in entry.items():
        if key == "type":
            continue
        if key == "dataset":
            node["table"] = value
        elif key == "distribution":
            node[key] = [jsonld_node(d, "Distribution") for d in value]
        elif key == "contactPoint":
            node[key] = {"@type": "Kind", **{k: _jsonld_value(k, v) for k, v in value.items()}}
        elif key == "creator":
            node[key] = [{"@id": v, "@type": "Organisation"} for v in value]
        elif key == "publisher":
            node[key] = {"@id": value, "@type": "Organisation"}
        else:
            node[key] = _jsonld_value(key, value)
    return node


def jsonld_document(entries: Sequence[dict[str, Any]], title: str) -> dict[str, Any]:
    """The whole catalogue as one JSON-LD document: a ``dcat:Catalog`` of every entry."""
    publishers = sorted({e["publisher"] for e in entries})
    catalogue: dict[str, Any] = {
        "@context": JSONLD_CONTEXT,
        "@id": f"{publishers[0]}:catalogue" if len(publishers) == 1 else "urn:catalogue",
        "@type": "Catalog",
        "title": title,
        "dataset": [jsonld_node(e) for e in entries],
    }
    if len(publishers) == 1:
        catalogue["publisher"] = {"@id": publishers[0], "@type": "Organisation"}
    return catalogue


@dataclass(frozen=True)
class CatalogueFiles:
    """What :func:`write_catalogue_files` wrote."""

    directory: Path
    index: Path
    jsonld: Path
    entries: tuple[Path, ...]


def _entry_path(directory: Path, entry: dict[str, Any]) -> Path:
    dataset = str(entry["dataset"])
    if not dataset.replace("_", "").replace(".", "").isalnum():
        raise CatalogueError(dataset, "dataset", "is not a safe file name")
    return directory / ENTRIES_DIR / f"{dataset}.json"


def write_catalogue_files(
    directory: Path, entries: Sequence[dict[str, Any]], title: str
) -> CatalogueFiles:
    """Writes the entries as JSON (``entries/<schema.table>.json`` and ``index.json``) and
    JSON-LD (``catalogue.jsonld``) under ``directory``; entries no longer published are
    removed. Each file is replaced atomically.
    """
    paths = []
    for entry in entries:
        path = _entry_path(directory, entry)
        write_atomically(path, json.dumps(entry, indent=2, ensure_ascii=False) + "\n")
        paths.append(path)
    for stale in (directory / ENTRIES_DIR).glob("*.json"):
        if stale not in paths:
            stale.unlink()
    index = {
        "title": title,
        "generatedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entries": [
            {
                "identifier": e["identifier"],
                "title": e["title"],
                "dataset": e["dataset"],
                "modified": e["modified"],
                "accessRights": e["accessRights"],
                "file": str(p.relative_to(directory)),
            }
            for e, p in zip(entries, paths, strict=True)
        ],
    }
    write_atomically(directory / INDEX_FILE, json.dumps(index, indent=2) + "\n")
    document = jsonld_document(entries, title)
    write_atomically(
        directory / JSONLD_FILE, json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    )
    return CatalogueFiles(directory, directory / INDEX_FILE, directory / JSONLD_FILE, tuple(paths))


def record_catalogue(
    con: duckdb.DuckDBPyConnection, entries: Sequence[dict[str, Any]], run_id: str
) -> int:
    """Replaces ``governance.catalogue`` with one row per entry; returns the rows written."""
    recorded_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        [
            e["identifier"],
            e["title"],
            e["dataset"],
            json.dumps(e, ensure_ascii=False),
            e["modified"],
            run_id,
            recorded_at,
        ]
        for e in entries
    ]
    con.execute("begin transaction")
    try:
        governance.recreate(con, "catalogue")
        if rows:
            con.executemany("insert into governance.catalogue values (?, ?, ?, ?, ?, ?, ?)", rows)
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
    return len(rows)
