"""The scale model (`make bench PROFILE=scale`): a 100,000-customer x 10-process day on up to
50 simulated workers, against the synthetic warehouse of synthetic.py, through the real
product: `submit --wait`, a real Redis broker and result backend, real Celery workers.

The simulated workers are the threads of two group workers (`-Q mnaas-groups --pool threads
--concurrency N/2`, one per core of this machine): a query's cost is a sleep, so threads stand
for workers without needing N processes on a 2-core machine. Start and the callback run in a
separate control worker (`-Q mnaas-control`, one prefork pool process), so the callback's peak
RSS is its own.

Each configuration runs on a fresh cluster; while it runs, a sampler reads both Redis
servers every SAMPLE_S: every key's MEMORY USAGE and the server's used_memory.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from . import data
from .cluster import REPO, Cluster
from .harness import RESULTS, run_child, way_env
from .latency import read_log
from .messages import MESSAGES_ENV, read_messages
from .profiles import DAY, Profile
from .scalereport import checks, message_bound
from .synthetic import MODEL_ENV, DayModel, expected_reports

SAMPLE_S = 0.2
STATE_PREFIX = b"mnaas-missing-files:"


@dataclass(frozen=True)
class Config:
    label: str
    model: DayModel
    workers: int


FULL = DayModel(processes=10, regular=95_000, infonova=5_000)
HALF = replace(FULL, regular=47_500, infonova=2_500)
WORKERS = (1, 5, 10, 50)
# The model's per-query cost and admission slots are FULL's: 0.25 s + 25 ns per scanned
# received row, 16 queries at once.
CONFIGS = [Config(f"w{n}", FULL, n) for n in WORKERS] + [Config("w50_half_day", HALF, 50)]
GROUP_SIZE = 1000  # MNAAS_GROUP_SIZE of the model's job (the default)
GROUP_PROCESSES = 2  # group worker processes: this machine's cores
LOOKBACK_DAYS = 7  # MNAAS_LOOKBACK_DAYS (the default)


class RedisSampler(threading.Thread):
    """Peaks, over the run, of the product's keys in each server and of its used_memory."""

    def __init__(self, servers: dict[str, object]):
        super().__init__(daemon=True)
        self.servers = servers
        self.stop = threading.Event()
        self.peaks: dict[str, dict] = {
            name: {"state_bytes": 0, "largest_key_bytes": 0, "largest_key": "", "used_memory_over_start": 0}
            for name in servers
        }
        self.start_memory = {name: int(c.info("memory")["used_memory"]) for name, c in servers.items()}

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(SAMPLE_S)

    def sample(self) -> None:
        for name, client in self.servers.items():
            keys = list(client.scan_iter(count=1000))
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.memory_usage(key, samples=0)
            sizes = [s or 0 for s in pipe.execute()]
            peak = self.peaks[name]
            state = sum(s for k, s in zip(keys, sizes) if k.startswith(STATE_PREFIX))
            peak["state_bytes"] = max(peak["state_bytes"], state)
            for key, size in zip(keys, sizes):
                if size > peak["largest_key_bytes"]:
                    peak["largest_key_bytes"], peak["largest_key"] = size, _pattern(key)
            used = int(client.info("memory")["used_memory"]) - self.start_memory[name]
            peak["used_memory_over_start"] = max(peak["used_memory_over_start"], used)

    def __enter__(self) -> RedisSampler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.join()
        self.sample()  # what is left at the end counts too


def _pattern(key: bytes) -> str:
    """A key's name with its run id / task id replaced, so the kind of key shows."""
    parts = key.decode(errors="replace").split(":")
    return ":".join("<id>" if any(ch.isdigit() for ch in p) and len(p) > 12 else p for p in parts)


def one_config(config: Config, work: Path) -> dict:
    root = work / config.label
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    model = config.model
    regular, infonova = model.customer_names()
    job = data.write_job_of(
        root,
        config.label,
        model.process_names(),
        regular,
        infonova,
        "duckdb:///:memory:",
        group_size=GROUP_SIZE,
        local_workers=config.workers,
        group_workers=config.workers,
    )
    profile = Profile(
        "scale",
        model.processes,
        model.regular,
        model.infonova,
        model.files,
        1,
        model.period,
        0.0,
        group_size=GROUP_SIZE,
        local_workers=config.workers,
    )
    env = way_env(job, profile, root / "queries.log")
    env.update(
        {
            MODEL_ENV: model.to_env(),
            MESSAGES_ENV: str(root / "messages.tsv"),
            "BENCH_RSS_FILE": str(root / "writer_rss.tsv"),
        }
    )
    specs = [["-Q", "mnaas-control", "--concurrency=1", "--prefetch-multiplier=1"]] + [
        ["-Q", "mnaas-groups", "--pool=threads", f"--concurrency={threads}", "--prefetch-multiplier=1"]
        for threads in group_worker_threads(config.workers)
    ]
    with Cluster(0, root, env, specs=specs) as cluster:
        backend, broker = cluster.backend.client(), cluster.broker.client()
        before = {"backend": cluster.backend_bytes_in(), "broker": cluster.broker_bytes_in()}
        with RedisSampler({"backend": backend, "broker": broker}) as sampler:
            out = run_child("submit", job, cluster.env, root / "way.log")
        out["result_bytes"] = cluster.backend_bytes_in() - before["backend"]
        out["broker_bytes"] = cluster.broker_bytes_in() - before["broker"]
    out["redis"] = sampler.peaks
    out.update(read_log(root / "queries.log"))
    out.update(read_messages(root / "messages.tsv"))
    rss = root / "writer_rss.tsv"
    lines = [line.split("\t") for line in rss.read_text().splitlines()] if rss.is_file() else []
    out["peak_rss_mb"] = max(float(f[2]) for f in lines) if lines else None
    # The callback's own time: what more workers cannot shorten. The rest of the wall is the
    # fan-out: enqueueing, the group tasks, the chord noticing the last one.
    out["callback_s"] = sum(float(f[3]) for f in lines if len(f) > 3) if lines else None
    out["fanout_phase_s"] = out["wall_s"] - out["callback_s"] if out["callback_s"] is not None else None
    out["groups"] = expected_groups(model, config.workers)
    out["pairs"] = model.processes * (model.regular + model.infonova)
    out["identical"] = _identical(root, model)
    return out


def group_worker_threads(workers: int) -> list[int]:
    """The simulated workers as threads of GROUP_PROCESSES group worker processes (fewer when
    there are fewer workers): the tasks' own Python work (packing names, the synthetic
    warehouse's rows) needs the host's cores, and one process's threads share one."""
    processes = min(workers, GROUP_PROCESSES)
    return [workers // processes + (1 if n < workers % processes else 0) for n in range(processes)]


def expected_groups(model: DayModel, workers: int) -> int:
    """By hand: every task checks every process; as many tasks as workers, or the multiple of
    them that keeps each within GROUP_SIZE customers; never more than customers."""
    customers = model.regular + model.infonova
    needed = -(-customers // GROUP_SIZE)
    return min(customers, workers * -(-needed // workers))


def _identical(root: Path, model: DayModel) -> bool:
    """The CSV, TXT and outstanding report byte for byte as the model's (lookback: the default
    MNAAS_LOOKBACK_DAYS, 7)."""
    wanted = expected_reports(model, DAY, LOOKBACK_DAYS)
    reports = root / "conf" / "Missing_Customer_Files"
    got = [
        reports / f"Missing_Customer_Files_Report_{DAY}.csv",
        reports / f"Missing_Customer_Files_{DAY}.txt",
        reports / f"Missing_Customer_Files_Outstanding_{DAY}.csv",
    ]
    return all(path.is_file() and path.read_bytes() == want for path, want in zip(got, wanted))


def run_scale(workdir: Path | None = None, configs: list[Config] | None = None, write_results: bool = True) -> dict:
    work = Path(workdir or REPO / "var" / "bench" / "scale").absolute()
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    load = os.getloadavg()
    results = {}
    for config in configs or CONFIGS:
        print(f"[bench scale] {config.label} ...", flush=True, file=sys.stderr)
        results[config.label] = one_config(config, work)
    regular, infonova = FULL.customer_names()
    longest = max(len(n) for n in regular + infonova)
    doc = {
        "profile": "scale",
        "warehouse": "synthetic",
        "model": asdict(FULL),
        "group_size": GROUP_SIZE,
        "load": " ".join(f"{v:.2f}" for v in load),
        "message_bound_bytes": message_bound(GROUP_SIZE, longest, len(" ".join(FULL.process_names()))),
        "configs": results,
        "took_s": round(time.monotonic() - started, 1),
    }
    doc["checks"] = checks(doc)
    if write_results:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "scale.json").write_text(json.dumps(doc, indent=2) + "\n")
    return doc
