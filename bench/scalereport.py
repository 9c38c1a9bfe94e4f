"""The scale model's table and the issue's targets for it (`[ok]` / `[MISSED]`)."""

from __future__ import annotations

# A message carries at most one group: its customers (the IN-list, at most the cap) twice
# (the task's arguments and Flower's kwargsrepr), its processes, and Celery's envelope. The
# bound below is that, for the longest customer name, plus 8 KB of envelope and headers.
ENVELOPE_BYTES = 8 * 1024


def message_bound(cap: int, longest_customer: int, processes_bytes: int) -> int:
    return ENVELOPE_BYTES + 2 * cap * (longest_customer + 4) + 2 * processes_bytes


# The largest key of a run's state is its record, whose outcome lists at most 1,000 pairs
# (run/dayanalysis.py OUTCOME_PAIRS) of ~80 bytes each, plus the per-process totals: 128 KiB.
KEY_BOUND_BYTES = 128 * 1024
# The callback's peak RSS at any day's size (contract §19).
CALLBACK_BOUND_MB = 250


def table(doc: dict) -> str:
    head = (
        f"{'config':<14}{'pairs':>9}{'groups':>7}{'tasks':>7}{'queries':>8}{'wall_s':>8}"
        f"{'max_msg_B':>10}{'max_res_B':>10}{'broker_B':>11}{'backend_B':>11}"
        f"{'state_B':>10}{'max_key_B':>10}{'cb_rss_MB':>10}{'cb_s':>7}{'ok':>5}"
    )
    lines = [head, "-" * len(head)]
    for label, c in doc["configs"].items():
        backend = c["redis"]["backend"]
        rss = "-" if c["peak_rss_mb"] is None else f"{c['peak_rss_mb']:.0f}"
        cb = "-" if c.get("callback_s") is None else f"{c['callback_s']:.1f}"
        lines.append(
            f"{label:<14}{c['pairs']:>9}{c['groups']:>7}{c['tasks']:>7}{c['queries']:>8}"
            f"{c['wall_s']:>8.2f}{c['biggest_message_bytes']:>10}{c['biggest_result_bytes']:>10}"
            f"{c['broker_bytes']:>11}{c['result_bytes']:>11}{backend['state_bytes']:>10}"
            f"{backend['largest_key_bytes']:>10}{rss:>10}{cb:>7}{str(c['identical']):>5}"
        )
    return "\n".join(lines)


def checks(doc: dict) -> list[dict]:
    found: list[dict] = []

    def add(target: str, value, ok: bool) -> None:
        found.append({"target": target, "value": value, "ok": bool(ok)})

    configs = doc["configs"]
    bound = doc["message_bound_bytes"]
    for label, c in configs.items():
        add(f"{label}: exit code 0", c["exit_code"], c["exit_code"] == 0)
        add(f"{label}: CSV and TXT identical to the model's", c["identical"], c["identical"] is True)
        # + 1: the run's day-input query (contract §14)
        queries = 2 * c["groups"] + 1
        add(f"{label}: queries = 2 x groups + 1 ({queries})", c["queries"], c["queries"] == queries)
        add(f"{label}: biggest message <= {bound} B", c["biggest_message_bytes"], c["biggest_message_bytes"] <= bound)
        add(
            f"{label}: biggest group result <= {bound} B", c["biggest_result_bytes"], c["biggest_result_bytes"] <= bound
        )
    full, half = configs.get("w50"), configs.get("w50_half_day")
    if full and half:
        # Doubling the day must not grow the largest message or key past the bound; the run
        # state as a whole is the day's results, so it may grow, but per pair it must not.
        largest, half_largest = (c["redis"]["backend"]["largest_key_bytes"] for c in (full, half))
        add(
            f"w50: largest Redis key <= {KEY_BOUND_BYTES} B (the run record's bound)",
            largest,
            largest <= KEY_BOUND_BYTES,
        )
        add(
            "largest Redis key: full day <= 1.05 x half day (it does not grow with the day)",
            f"{largest} vs {half_largest}",
            largest <= 1.05 * half_largest,
        )
        per_full = full["redis"]["backend"]["state_bytes"] / full["pairs"]
        per_half = half["redis"]["backend"]["state_bytes"] / half["pairs"]
        add(
            "run state bytes per pair: full day <= 1.25 x half day",
            f"{per_full:.1f} vs {per_half:.1f}",
            per_full <= 1.25 * per_half,
        )
    # Contract §19: the callback's memory is bounded, not the day's size (issue 21): under
    # CALLBACK_BOUND_MB at the full day, and shown beside the half day's.
    for label in ("w50", "w50_half_day"):
        rss = (configs.get(label) or {}).get("peak_rss_mb")
        if rss is not None:
            pairs = configs[label]["pairs"]
            add(f"{label}: callback peak RSS < {CALLBACK_BOUND_MB} MB ({pairs:,} pairs)", rss, rss < CALLBACK_BOUND_MB)
    walls = [(label, configs[label]["wall_s"]) for label in ("w1", "w5", "w10", "w50") if label in configs]
    for (a, wa), (b, wb) in zip(walls, walls[1:]):
        if b != "w50":
            add(f"{b} shorter than {a}", f"{wb:.2f} s vs {wa:.2f} s", wb < wa)
    # What workers can shorten: the fan-out, the wall less the callback's own time (one
    # process writes the reports whatever the workers).
    fans = [(label, configs[label].get("fanout_phase_s")) for label in ("w1", "w5", "w10") if label in configs]
    for (a, fa), (b, fb) in zip(fans, fans[1:]):
        if fa is not None and fb is not None:
            add(f"{b}: fan-out phase shorter than {a}'s", f"{fb:.2f} s vs {fa:.2f} s", fb < fa)
    if "w10" in configs and "w50" in configs:
        gain = configs["w10"]["wall_s"] / configs["w50"]["wall_s"]
        add(
            f"w50 vs w10: gain below 5x (the warehouse's {doc['model']['slots']} slots saturate)",
            f"{gain:.2f}x",
            gain < 5,
        )
    return found


def report(doc: dict) -> str:
    m = doc["model"]
    out = [
        f"scale model: {m['processes']} processes x ({m['regular']} regular + {m['infonova']} "
        f"InfONova) customers x {m['files']} files per pair; synthetic warehouse: "
        f"{m['base_s']} s + {m['per_row_s'] * 1e9:.0f} ns per scanned row per query, "
        f"{m['slots']} queries at once; load at start: {doc.get('load', '?')}",
        "",
        table(doc),
        "max_msg_B = biggest task message (JSON, before base64); max_res_B = biggest group "
        "result; broker_B / backend_B = bytes written into each Redis during the run; "
        "state_B = peak MEMORY USAGE of the product's keys in the backend; max_key_B = its "
        "largest key; cb_rss_MB = VmHWM of the callback's process; cb_s = the callback's own time",
        "",
    ]
    for c in doc["checks"]:
        out.append(f"[{'ok' if c['ok'] else 'MISSED'}] {c['target']}: {c['value']}")
    return "\n".join(out)
