"""The catalogue's error: a required field that cannot be derived, named with its dataset."""

from __future__ import annotations


class CatalogueError(ValueError):
    """A required field of a catalogue entry cannot be derived; names the dataset and field.

    Attributes:
        dataset: The published table, ``schema.table``.
        field: The entry's field (a JSON path for a schema violation).
    """

    def __init__(self, dataset: str, field_name: str, reason: str):
        self.dataset = dataset
        self.field = field_name
        super().__init__(
            f"catalogue entry {dataset}: cannot derive required field '{field_name}': {reason}"
        )
