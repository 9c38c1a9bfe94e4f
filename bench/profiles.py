"""Benchmark profiles: the size of the generated warehouse and the injected query latency."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

DAY = dt.date(2026, 11, 24)
# `<way>_bounded`: the way with MNAAS_WAREHOUSE_URL's DuckDB memory_limit set to this
BOUNDED, BOUNDED_LIMIT = "_bounded", "64MB"


@dataclass(frozen=True)
class Profile:
    name: str
    processes: int
    regular: int  # regular customers per process
    infonova: int  # InfONova customers per process
    files_per_pair: int
    # A received file is missing when (file number + customer index + process index) % of < in.
    # A modular rule rather than random draws, so the count of missing files is exact.
    missing_in: int
    missing_of: int
    latency_s: float  # injected per query: a remote Impala's planning and admission cost
    group_size: int = 1000  # MNAAS_GROUP_SIZE: the most customers one group task names
    min_group: int = 500  # MNAAS_MIN_GROUP_CUSTOMERS' default: the fewest, where the cap allows
    local_workers: int = 4
    # Days of history before DAY (contract §8's window with the default L = 7): each day's
    # missing files follow the same rule, and all but 1 in `never_of` of an earlier day's were
    # generated late (what a real warehouse looks like a week on); those stay outstanding.
    history_days: int = 7
    never_of: int = 100
    baseline: bool = True
    submit_workers: tuple[int, ...] = (1, 2, 4)
    # Ways also measured with MNAAS_LOOKBACK_DAYS=0 (as `<way>_l0`), to compare with L = 7
    l0_ways: tuple[str, ...] = ("run", "submit_w1", "submit_w2", "submit_w4")
    # Ways also measured with DuckDB's memory bounded (`<way>_bounded`, BOUNDED_LIMIT)
    bounded_ways: tuple[str, ...] = ()

    @property
    def customers(self) -> int:
        return self.regular + self.infonova

    @property
    def pairs(self) -> int:
        return self.processes * self.customers

    @property
    def received(self) -> int:
        return self.pairs * self.files_per_pair

    @property
    def groups(self) -> int:
        """Group tasks of `run` (planning's rule, worked out here by hand)."""
        return self.groups_for(self.local_workers)

    def groups_for(self, workers: int) -> int:
        """As many as workers, or the multiple of them MNAAS_GROUP_SIZE needs; at most one per
        customer: every task checks every process. No more than leave each task at least
        `min_group` customers, unless MNAAS_GROUP_SIZE needs them."""
        needed = -(-self.customers // self.group_size)
        spread = min(self.customers, workers * -(-needed // workers))
        return max(needed, min(spread, max(1, self.customers // self.min_group)))

    def workers_of(self, way: str) -> int:
        """The workers a way's plan is sized for: submit_wN's (and submit_wN_l0's) N, else
        MNAAS_LOCAL_WORKERS."""
        way = way.removesuffix("_l0")
        return int(way[len("submit_w") :]) if way.startswith("submit_w") else self.local_workers


PROFILES = {
    # A tiny day with the product's grouping: one group (contract §19: a tiny day is not split
    # beyond what helps). In `make test` with MNAAS_GROUP_SIZE=4 (two groups), to keep the
    # harness's fan-out working; a few seconds.
    "quick": Profile(
        "quick",
        processes=2,
        regular=6,
        infonova=2,
        files_per_pair=8,
        missing_in=1,
        missing_of=5,
        latency_s=0.01,
        submit_workers=(1, 2),
        l0_ways=("run",),
        never_of=3,
    ),
    # The standard day: 4 × (200 + 20) customers × 20 files, 1 % missing, 0.05 s/query.
    "standard": Profile(
        "standard",
        processes=4,
        regular=200,
        infonova=20,
        files_per_pair=20,
        missing_in=1,
        missing_of=100,
        latency_s=0.05,
    ),
    # 4 × 2,000 customers × 150 files = 1.2 million received pairs, 1,000,000 of them missing
    # (125 of every pair's 150 files).
    "large": Profile(
        "large",
        processes=4,
        regular=1800,
        infonova=200,
        files_per_pair=150,
        missing_in=5,
        missing_of=6,
        latency_s=0.0,
        bounded_ways=("run_bounded", "run_bounded_l0"),
    ),
}
# The large day alone in the warehouse (issue 21, contract §19): no history, so the floor (one
# anti-join DuckDB writes itself) scans the day's rows only, and the ratio is the product's own
# cost per name rather than eight days' scan shared by both. `run` only, against the baseline.
PROFILES["large-day"] = replace(
    PROFILES["large"], name="large-day", history_days=0, submit_workers=(), l0_ways=(), bounded_ways=()
)
