"""Expected input (contract §14) on a real Celery cluster: `submit --wait` gives the same
verdicts, volume findings and not-monitored list as `run` (the day-input query runs once, in
the callback). The warehouse is tests/helpers/volumescenario.py's, worked out by hand."""

from __future__ import annotations

from mnaas_missing_files.cli.demo_data import write_duckdb
from tests.helpers import volumescenario as scenario
from tests.helpers.celerycluster import cluster, cluster_ready, submitted_run_id  # noqa: F401

# What both print about the day, by hand: the findings and the not-monitored count.
SUMMARY = [
    "  SILENT: sms / eLUX: 0 received, usually 46",
    "  LOW INPUT: sms / JLR: 11 received, usually 23",
    "  LOW INPUT: mms / eLUX: 14 received, usually 30",
    "  volume: history too short for 5 pair(s)",
    "  KPI NOT LOADED: late",
    "  not monitored: 2 pair(s) with files not configured",
]


def test_submit_wait_gives_the_same_verdicts_as_run(cluster_ready, tmp_path):
    c = cluster_ready
    warehouse = tmp_path / "volume.duckdb"
    write_duckdb(warehouse, scenario.rows())
    c.job.configure(MNAAS_WAREHOUSE_URL=f"duckdb:///{warehouse}", **scenario.SETTINGS)

    local = c.run(scenario.D)
    assert local.returncode == 0, local.stderr
    [run_entry] = c.job.history()
    [run_email] = c.job.emails("report")
    run_message = c.job.message(run_email)  # read now: configure() empties the outbox
    c.job.configure(MNAAS_WAREHOUSE_URL=f"duckdb:///{warehouse}", **scenario.SETTINGS)

    submitted = c.submit("--wait", day=scenario.D)
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted_run_id(submitted.stdout)
    [entry] = c.job.history()
    assert entry["run_id"] == run_id and entry["trigger"] == "submit"
    for out in (local.stdout, submitted.stdout):
        assert [line for line in out.splitlines() if line in SUMMARY] == SUMMARY, out
    assert entry["verdicts"] == run_entry["verdicts"] == scenario.VERDICTS
    assert entry["unmonitored"] == run_entry["unmonitored"] == 2
    [submit_email] = c.job.emails("report")
    submit_message = c.job.message(submit_email)
    subject = "NO INPUT - SILENT - LOW INPUT - Missing customer files 2026-11-23: 0 missing"
    assert run_message["Subject"].strip() == submit_message["Subject"].strip() == subject
    for message in (run_message, submit_message):
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        for line in scenario.EMAIL_LINES:
            assert f": {line}\n" in text
        assert "\n  cdr / eLUX: 7 received\n  sms / Stranger: 2 received\n" in text
