"""The governance portal: a static, offline website about every dataset of the platform.

Written to ``<data dir>/portal/`` by the Dagster asset ``governance/portal`` (or by
:func:`build_portal` directly). Plain HTML files with inline SVG and one small inline
script (the search box); nothing is fetched from anywhere, so it works from ``file://``.

- ``index.html``: search over datasets and columns, every dataset by layer, departments,
  which published tables apply disclosure control;
- ``datasets/<schema.table>.html``: description, owner, classification, contract version,
  schema with column descriptions and classifications, table- and column-level lineage,
  the quality scorecard with its runs chart, the quality declaration, disclosure control
  and the sharing agreements that cover it;
- ``quality/<schema.table>.html``: every check's latest result and its last runs;
- ``departments/<department>.html``: data maturity level and evidence, datasets, catalogue;
- ``agreements.html``: every sharing agreement.

Modules: :mod:`~orchestration.portal.load` reads the warehouse,
:mod:`~orchestration.portal.lineage` and :mod:`~orchestration.portal.datasets` assemble the
facts, :mod:`~orchestration.portal.html`, :mod:`~orchestration.portal.svg`,
:mod:`~orchestration.portal.declaration`, :mod:`~orchestration.portal.dataset_page` and
:mod:`~orchestration.portal.pages` render them, :mod:`~orchestration.portal.build` writes
them. The same inputs give byte-identical files.
"""

from orchestration.portal.build import (
    PORTAL_DIR,
    PortalInputs,
    PortalResult,
    build_portal,
    load_portal,
    render_pages,
    write_portal,
)
from orchestration.portal.declaration import markdown_html, target_reason
from orchestration.portal.html import content_security_policy, file_name
from orchestration.portal.model import Portal

__all__ = [
    "PORTAL_DIR",
    "Portal",
    "PortalInputs",
    "PortalResult",
    "build_portal",
    "content_security_policy",
    "file_name",
    "load_portal",
    "markdown_html",
    "render_pages",
    "target_reason",
    "write_portal",
]
