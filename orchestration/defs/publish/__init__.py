"""The published analytics snapshot (write-audit-publish)."""
