"""Governance assets: quality results, scorecard, declarations, Data Docs."""
