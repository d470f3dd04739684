"""Keyed pseudonyms: HMAC-SHA256 of a normalised identifier under the platform's key.

One implementation for Python and SQL: :func:`pseudonym` is what linkage, sharing and the
metrics call, and :func:`register_pseudonym_function` makes the same function callable
from DuckDB SQL as ``commonground_pseudonym(domain, value)``, which the dbt macro
``pseudonymise`` calls (the dbt-duckdb plugin :mod:`orchestration.privacy.dbt_plugin`
registers it on dbt's connections). The key lives only in the function's closure, never
in SQL text, so it reaches no compiled SQL, manifest, log or view definition.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

PSEUDONYM_KEY_VARIABLE = "COMMONGROUND_PSEUDONYM_KEY"
"""The environment variable that holds the pseudonymisation key."""

PSEUDONYM_FUNCTION = "commonground_pseudonym"
"""Name of the DuckDB scalar function ``(domain, value) -> pseudonym`` (see the macro
``pseudonymise``)."""


def pseudonym(key: str, domain: str, value: str) -> str:
    """Keyed HMAC-SHA256 pseudonym of ``domain:value``, equal to the dbt macro ``pseudonymise``.

    Args:
        key: The pseudonymisation key.
        domain: Identifier domain (``person``, ``nino``, ...), keeps domains apart.
        value: The normalised identifier.

    Returns:
        The lower-case hex digest.
    """
    message = f"{domain}:{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def register_pseudonym_function(con: duckdb.DuckDBPyConnection, key: str | None) -> None:
    """Registers ``commonground_pseudonym(domain, value)`` on a DuckDB connection.

    The function returns :func:`pseudonym` of its arguments under ``key`` (NULL for a NULL
    argument); the key is held in the function's closure and never enters SQL text.

    Args:
        con: The connection (its cursors share the function).
        key: The pseudonymisation key. When empty or None the function is still registered
            but every call fails with a message naming ``COMMONGROUND_PSEUDONYM_KEY``, so a
            dbt command that pseudonymises nothing (parse, docs, tests) runs without it.
    """
    import duckdb  # deferred: the dbt plugin imports this module in dbt's process

    def commonground_pseudonym(domain: str, value: str) -> str:
        if not key:
            raise RuntimeError(
                f"{PSEUDONYM_KEY_VARIABLE} is not set in the dbt process: staging cannot "
                f"pseudonymise without the key. Set {PSEUDONYM_KEY_VARIABLE} (the platform "
                "passes it to dbt from its settings; run dbt through `commonground`)."
            )
        return pseudonym(key, domain, value)

    varchar = duckdb.sqltype("VARCHAR")
    con.create_function(
        PSEUDONYM_FUNCTION,
        commonground_pseudonym,
        [varchar, varchar],
        varchar,
        side_effects=False,
    )
