"""A DayAnalysis for hand-made report rows, for tests of the email alone (no warehouse)."""

from __future__ import annotations

import datetime as dt

from mnaas_missing_files.checking.verdicts import PairStatus, pair_verdict
from mnaas_missing_files.run.dayanalysis import DayAnalysis, ProcessTotals


def analysis_of(rows, day: dt.date, lookback: int = 0, names_per_pair: int = 10) -> DayAnalysis:
    analysis = DayAnalysis(day, lookback, [], [], {})
    for r in rows:
        pair = PairStatus(
            r.process,
            r.customer_type,
            r.customer,
            pair_verdict(r.received, r.generated, r.missing_count, False),
            received=r.received,
            generated=r.generated,
            missing=r.missing_count or 0,
            names=[(n, None) for n in (r.missing or [])[:names_per_pair]],
        )
        analysis.processes.setdefault(r.process, ProcessTotals()).add(pair)
        analysis.add(pair)
    return analysis
