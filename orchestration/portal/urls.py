"""Where each page of the portal lives, and relative links between them.

``index.html``, ``agreements.html`` and ``quality/index.html`` at the top, then one file per
dataset under ``datasets/``, per dataset's quality results under ``quality/`` and per
department under ``departments/``. Links are relative, so the portal works from any folder,
from ``file://`` and behind any web server.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestration.portal.html import anchor, file_name

DATASETS = "datasets"
QUALITY = "quality"
DEPARTMENTS = "departments"


class Links:
    """Relative links from a page ``depth`` folders below the portal's top folder.

    Args:
        datasets: Ids of the datasets that have pages.
        depth: 0 for a page at the top, 1 for one in a sub-folder.
        catalogue_root: Relative path from the portal's top folder to ``<data dir>/catalogue``.
    """

    def __init__(self, datasets: Iterable[str], depth: int, catalogue_root: str = "../catalogue"):
        self._datasets = set(datasets)
        self.root = "../" * depth
        self._catalogue = catalogue_root

    def dataset(self, dataset_id: str) -> str | None:
        """The page of a dataset, or None when it has none."""
        if dataset_id not in self._datasets:
            return None
        return f"{self.root}{DATASETS}/{file_name(dataset_id)}"

    def node(self, node_id: str) -> str | None:
        """The page of a lineage node: datasets have one, other nodes none."""
        return self.dataset(node_id)

    def column(self, dataset_id: str, column: str) -> str | None:
        """A column's row on its dataset's page."""
        page = self.dataset(dataset_id)
        return f"{page}#{anchor(column)}" if page else None

    def quality(self, dataset_id: str) -> str:
        """The quality results page of a dataset."""
        return f"{self.root}{QUALITY}/{file_name(dataset_id)}"

    def department(self, name: str) -> str:
        """The page of a department."""
        return f"{self.root}{DEPARTMENTS}/{file_name(name)}"

    def agreement(self, agreement_id: str) -> str:
        """An agreement on the agreements page."""
        return f"{self.root}agreements.html#{agreement_anchor(agreement_id)}"

    def catalogue_file(self, relative: str | None) -> str | None:
        """A catalogue file (relative to ``<data dir>/catalogue``), or None."""
        if not relative:
            return None
        return f"{self.root}{self._catalogue}/{relative}"


def page_path(kind: str, name: str) -> str:
    """The file of a page relative to the portal's top folder."""
    return f"{kind}/{file_name(name)}"


def agreement_anchor(agreement_id: str) -> str:
    """The element id of an agreement on the agreements page."""
    return "agreement-" + anchor(agreement_id).removeprefix("col-")
