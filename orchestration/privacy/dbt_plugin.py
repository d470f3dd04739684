"""dbt-duckdb plugin that gives dbt's DuckDB connections the pseudonym function.

The dbt profile lists this module under ``plugins``; dbt-duckdb imports it by module name
in dbt's process (the venv installs the ``orchestration`` package) and calls
:meth:`Plugin.configure_connection` on every connection it opens. The plugin reads the
key from ``COMMONGROUND_PSEUDONYM_KEY`` in dbt's environment (the platform sets it only
while a dbt command starts) and registers ``commonground_pseudonym(domain, value)``, so
the key is passed at connection time and never appears in SQL, the manifest, the
partial parse, run results or dbt's logs. There is deliberately no development fallback
here: the platform's settings decide the key (the development key in development) and
pass it on; a dbt process without it fails when it pseudonymises.

It lives in the orchestration package rather than in ``dbt_project/`` because it shares
the one HMAC implementation in :mod:`orchestration.privacy.pseudonyms` with Python (a copy
under ``dbt_project/`` could not import it and would drift), and dbt-duckdb loads plugins
by import name, which needs no path in the profile for an installed package.
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from orchestration.privacy.pseudonyms import PSEUDONYM_KEY_VARIABLE, register_pseudonym_function


class Plugin(BasePlugin):
    """Registers ``commonground_pseudonym`` on each DuckDB connection dbt opens."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        """Takes no configuration: the key must not be written into the profile."""

    def configure_connection(self, conn: Any) -> None:
        """Registers the pseudonym function with the key from dbt's environment."""
        # dbt's own process: the one place that hands this process the key is
        # Settings.dbt_env(), so the key is read here rather than through get_settings()
        # (which would fall back to the development key).
        register_pseudonym_function(conn, os.environ.get(PSEUDONYM_KEY_VARIABLE))
