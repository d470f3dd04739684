"""Data quality: Great Expectations suites run in the warehouse, results as governance data.

- :mod:`~orchestration.lib.quality.gx_bridge`: runs GX 1.x suites against DuckDB through SQL
  and turns each expectation's result into a plain :class:`ExpectationOutcome`.
- :mod:`~orchestration.lib.quality.suites`: suites generated from contracts and the
  hand-written suites under ``expectations/suites/``.
- :mod:`~orchestration.lib.quality.results`: the append-only results history, the GDQF
  scorecard and the plain-English quality declarations.
- :mod:`~orchestration.lib.quality.timeliness`: delivery freshness against a contract's SLA.
"""
