"""Outstanding files, recovered files and the pair changes (contract §8) over a multi-day
DuckDB warehouse, run by the real CLI; expectations worked out by hand from the rows below."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import json
import os
import re
import subprocess
import sys
from email import policy

import pytest

from mnaas_missing_files.checking.check import check_batch, failed_results
from mnaas_missing_files.checking.planning import make_plan
from mnaas_missing_files.cli.demo_data import Rows, write_duckdb
from mnaas_missing_files.config.settings import load_settings
from mnaas_missing_files.run.finalize import finalize
from mnaas_missing_files.state.listed import ListedMemory, memory_path
from mnaas_missing_files.warehouse.duckdb_engine import DuckDBWarehouse
from tests.helpers.jobconfig import make_job

D = dt.date(2026, 11, 24)
D1, D2 = D - dt.timedelta(days=1), D - dt.timedelta(days=2)
CLI = [sys.executable, "-m", "mnaas_missing_files.cli.main"]
CUSTOMERS = ["eLUX", "JLR", "MyRep", "Uber", "Scania"]


def day_rows(day, customer, received, generated):
    d = day.isoformat()
    return (
        [
            (d, "traffic", customer, "File Received", len(received)),
            (d, "traffic", customer, "File Generated", len(generated)),
        ],
        [(d, "traffic", customer, f, 1) for f in received],
        [(d, "traffic", customer, f, f"{customer}_{f}", 1) for f in generated],
    )


# (day, customer, received, generated). By hand, for a run of D with L = 2 (window D-2 .. D):
#   eLUX:  A2 of D-2 never generated (outstanding, age 2), C1 of D-1 generated late, E1 of D
#          missing -> PERSISTING, oldest 2;
#   JLR:   B2 of D-1 generated late, nothing else missing -> RESOLVED once the memory listed B2;
#   MyRep: M1 of D missing, nothing earlier -> NEW;
#   Uber:  U1 of D-1 never generated, nothing missing on D -> OUTSTANDING, age 1;
#   Scania: everything generated -> ok, in the CSV only.
PLAN = [
    (D2, "eLUX", ["A1", "A2"], ["A1"]),
    (D2, "JLR", ["B0"], ["B0"]),
    (D1, "eLUX", ["C1"], []),
    (D1, "JLR", ["B2"], []),
    (D1, "Uber", ["U1"], []),
    (D, "eLUX", ["E0", "E1"], ["E0"]),
    (D, "JLR", ["B3"], ["B3"]),
    (D, "MyRep", ["M1"], []),
    (D, "Uber", ["U2"], ["U2"]),
    (D, "Scania", ["S1"], ["S1"]),
]
LATE = [(D1, "eLUX", [], ["C1"]), (D1, "JLR", [], ["B2"])]  # generated after the run of D-1


def rows(entries) -> Rows:
    out = Rows()
    for entry in entries:
        kpi, received, generated = day_rows(*entry)
        out.kpi += kpi
        out.received += received
        out.generated += generated
    return out


def cli(job, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNAAS_")}
    result = subprocess.run(
        [*CLI, *args, "--config", str(job.config)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result


def last_report(job):
    newest = max((p for p in job.emails() if p.name.endswith("_report.eml")), key=lambda p: p.stat().st_mtime_ns)
    return email.message_from_bytes(newest.read_bytes(), policy=policy.default)


def labels(msg) -> list[str]:
    text = msg.get_body(("plain",)).get_content()
    return [
        " ".join(line.split()[:4])
        for line in text.splitlines()
        if re.match(r"  [A-Z]", line)
        and " / " in line
        and not line.startswith("  label")
        and not line.endswith("recovered")
    ]  # the "needs action" section only


@pytest.fixture
def job(tmp_path):
    write_duckdb(tmp_path / "wh.duckdb", rows(PLAN))
    return make_job(
        tmp_path / "job",
        {
            "MNAAS_WAREHOUSE_URL": f"duckdb:///{tmp_path}/wh.duckdb",
            "MNAAS_LOOKBACK_DAYS": "2",
            "process_list": "(traffic)",
            "customer_names": f"({' '.join(CUSTOMERS)})",
            "infonova_customer_names": "()",
            "MNAAS_GROUP_SIZE": "2",
        },
    )


def test_outstanding_recovered_and_changes_over_three_runs(job, tmp_path):
    cli(job, "run", "--date", D1.isoformat())
    # by hand for D-1 (window D-3 .. D-1): A2 of D-2 outstanding, age 1
    assert job.outstanding(D1).read_text() == (
        "file_date,process_name,customer_type,customer_name,customer_filename,age_days\n"
        "2026-11-22,traffic,regular,eLUX,eLUX_A2,1\n"
    )
    write_duckdb(tmp_path / "wh.duckdb", rows(PLAN + LATE))  # C1 and B2 generated a day late

    first = cli(job, "run", "--date", D.isoformat())
    assert job.outstanding(D).read_text() == (
        "file_date,process_name,customer_type,customer_name,customer_filename,age_days\n"
        "2026-11-22,traffic,regular,eLUX,eLUX_A2,2\n"
        "2026-11-23,traffic,regular,Uber,Uber_U1,1\n"
    )
    assert job.txt(D).read_text() == "eLUX_E1\nMyRep_M1\n"  # the TXT is D's alone, as before
    msg = last_report(job)
    assert msg["Subject"].strip() == "Missing customer files 2026-11-24: 2 missing (1 new), 2 outstanding"
    # JLR needs no action now: it is only in the recovered section, as RESOLVED
    assert labels(msg) == ["PERSISTING traffic / eLUX", "NEW traffic / MyRep", "OUTSTANDING traffic / Uber"]
    text = msg.get_body(("plain",)).get_content()
    assert "RECOVERED SINCE THE LAST RUN: 2 file(s)" in text
    recovered = text[text.index("RECOVERED SINCE") : text.index("LEGEND")]
    assert "eLUX_C1" in recovered and "JLR_B2" in recovered and "eLUX_A2" not in recovered
    assert "RECOVERED   traffic / eLUX: 1 recovered" in recovered  # A2 is still outstanding
    assert "RESOLVED    traffic / JLR: 1 recovered" in recovered
    assert "new: 1, outstanding: 2 (oldest 2 days), recovered: 2" in first.stdout
    entry = json.loads(job.status_file.with_name(job.status_file.name + ".runs.jsonl").read_text().splitlines()[-1])
    assert (entry["outstanding_files"], entry["recovered_files"]) == (2, 2)
    assert entry["verdicts"] == {
        "unknown": 0,
        "no_input": 0,
        "silent": 0,
        "low_input": 0,
        "mismatch": 0,
        "missing": 2,
        "ok": 3,
    }

    cli(job, "run", "--date", D.isoformat())  # a rerun: each recovered file is reported once
    again = last_report(job)
    assert "RECOVERED SINCE" not in again.get_body(("plain",)).get_content()
    assert labels(again) == ["PERSISTING traffic / eLUX", "NEW traffic / MyRep", "OUTSTANDING traffic / Uber"]


def test_the_memory_is_compact_and_holds_only_the_window(job):
    for day in (D2, D1, D):
        cli(job, "run", "--date", day.isoformat())
    raw = json.loads(memory_path(job.status_file).read_text())
    assert raw["format"] == 2 and raw["newest_day"] == D.isoformat()
    memory = ListedMemory.load(job.status_file)
    # days older than D - 2 are dropped; what is left is what the run of D listed
    assert memory.days_of("traffic", "eLUX") == {
        "2026-11-22": ["eLUX_A2"],
        "2026-11-23": ["eLUX_C1"],
        "2026-11-24": ["eLUX_E1"],
    }
    assert memory.days_of("traffic", "JLR") == {"2026-11-23": ["JLR_B2"]}
    assert "eLUX_A2" not in memory_path(job.status_file).read_text()  # compressed, not plain


def test_a_failed_group_has_no_outstanding_rows_and_keeps_its_memory(job, tmp_path):
    cli(job, "run", "--date", D1.isoformat())
    write_duckdb(tmp_path / "wh.duckdb", rows(PLAN + LATE))
    settings = load_settings(job.config, day=D, environ={})
    # One worker, at most 3 customers a task: (eLUX, JLR) and (MyRep, Uber, Scania).
    plan = make_plan(dataclasses.replace(settings, group_size=3), workers=1)
    warehouse = DuckDBWarehouse(settings.warehouse_url)
    try:  # the task of eLUX and JLR fails; the other is checked for real
        results = {
            r.group_id: r.compact()
            for b in plan.batches
            for r in (
                failed_results(b, "TransientWarehouseError: refused")
                if "eLUX" in b.customers
                else check_batch(warehouse, settings, b)
            )
        }
    finally:
        warehouse.close()
    outcome = finalize(settings, plan, results)
    assert outcome.outcome == "incomplete" and outcome.exit_code == 1
    assert job.outstanding(D).read_text() == (
        "file_date,process_name,customer_type,customer_name,customer_filename,age_days\n"
        "2026-11-23,traffic,regular,Uber,Uber_U1,1\n"
    )
    memory = ListedMemory.load(job.status_file)
    assert memory.days_of("traffic", "JLR") == {"2026-11-23": ["JLR_B2"]}  # not recovered: unknown
    assert outcome.analysis is not None and outcome.analysis.recovered == 0


def test_lookback_zero_writes_no_outstanding_report_and_removes_an_old_one(job):
    cli(job, "run", "--date", D.isoformat())
    assert job.outstanding(D).exists()
    job.config.write_text(job.config.read_text() + "MNAAS_LOOKBACK_DAYS=0\n")
    cli(job, "run", "--date", D.isoformat())
    assert not job.outstanding(D).exists()
    msg = last_report(job)
    assert msg["Subject"].strip() == "Missing customer files 2026-11-24: 2 missing"
    assert sorted(p.get_filename() for p in msg.iter_attachments()) == sorted([job.csv(D).name, job.txt(D).name])


def test_the_email_leads_with_what_needs_action_under_its_name_caps(job, tmp_path):
    cli(job, "run", "--date", D1.isoformat())
    write_duckdb(tmp_path / "wh.duckdb", rows(PLAN + LATE))
    job.config.write_text(job.config.read_text() + "MNAAS_MAIL_NAMES_PER_PAIR=1\nMNAAS_MAIL_NAMES_TOTAL=2\n")
    cli(job, "run", "--date", D.isoformat())
    msg = last_report(job)
    text = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    # the sections in the order of contract §15, in both bodies
    heads = ["Pairs checked", "TOTALS PER PROCESS", "NEEDS ACTION", "RECOVERED SINCE THE LAST RUN"]
    assert [text.index(h) for h in heads] == sorted(text.index(h) for h in heads)
    heads = ["Pairs checked", ">Totals per process", ">Needs action", ">Recovered since the last run: "]
    assert [page.index(h) for h in heads] == sorted(page.index(h) for h in heads)
    # by hand, one name per pair and two in all, most severe pair first: PERSISTING eLUX shows
    # E1 (D's first) and not A2; NEW MyRep shows M1; the budget is spent for Uber and recovered
    action = text[text.index("NEEDS ACTION") : text.index("RECOVERED SINCE")]
    assert "eLUX_E1" in action and "eLUX_A2" not in action and "MyRep_M1" in action
    assert "Uber_U1" not in action
    assert action.count("... and 1 more in the attached reports") == 1  # eLUX
    assert "1 files in the attached reports (the email's budget of names is spent)" in action  # Uber
    recovered = text[text.index("RECOVERED SINCE") : text.index("LEGEND")]
    assert "eLUX_C1" not in recovered and recovered.count("... and 1 more") == 2
    assert "&hellip; and 1 more in the attached reports" in page
    # the ok pair is in the CSV, not in the body
    assert "Scania" not in text and "Scania" not in page
    assert "2026-11-24,traffic,regular,Scania,1,1,0,0" in job.csv(D).read_text()
    # three attachments, byte-identical to the files
    attached = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    assert attached == {f.name: f.read_bytes() for f in (job.csv(D), job.txt(D), job.outstanding(D))}


def test_a_dry_run_reads_the_memory_but_never_changes_it(job, tmp_path):
    cli(job, "run", "--date", D1.isoformat())
    write_duckdb(tmp_path / "wh.duckdb", rows(PLAN + LATE))
    before = memory_path(job.status_file).read_bytes()
    dry = cli(job, "run", "--date", D.isoformat(), "--dry-run")
    assert "recovered: 2" in dry.stdout  # it read the memory
    assert memory_path(job.status_file).read_bytes() == before
    real = cli(job, "run", "--date", D.isoformat())
    assert "recovered: 2" in real.stdout  # the dry run reported nothing away


def test_an_unreadable_memory_is_a_warning_and_is_rewritten(job, tmp_path):
    cli(job, "run", "--date", D1.isoformat())
    write_duckdb(tmp_path / "wh.duckdb", rows(PLAN + LATE))
    memory_path(job.status_file).write_text("{not json")
    result = cli(job, "run", "--date", D.isoformat())
    assert "the memory of listed files" in result.stderr and "cannot be read" in result.stderr
    assert "recovered: 0" in result.stdout
    assert ListedMemory.load(job.status_file).days_of("traffic", "MyRep") == {"2026-11-24": ["MyRep_M1"]}


def test_the_email_lists_at_most_mail_pairs_pairs_and_counts_the_rest(job, tmp_path):
    cli(job, "run", "--date", D1.isoformat())
    write_duckdb(tmp_path / "wh.duckdb", rows(PLAN + LATE))
    job.config.write_text(job.config.read_text() + "MNAAS_MAIL_PAIRS=1\n")
    cli(job, "run", "--date", D.isoformat())
    text = last_report(job).get_body(("plain",)).get_content()
    # by hand: three pairs need action (PERSISTING eLUX, NEW MyRep, OUTSTANDING Uber); one is listed
    assert "NEEDS ACTION: 3 pair(s), most severe first (the first 1 here)" in text
    assert labels(last_report(job)) == ["PERSISTING traffic / eLUX"]
    assert "... and 2 more pairs (NEW 1, OUTSTANDING 1) in the attached reports" in text
    assert "(the first 1 of 2 pairs)" in text and "... and 1 more pairs with recovered files" in text


def test_a_listed_file_that_leaves_the_window_still_missing_is_counted_once(job):
    cli(job, "run", "--date", D2.isoformat())  # lists eLUX_A2 on its own day, D-2
    job.config.write_text(job.config.read_text() + "MNAAS_LOOKBACK_DAYS=1\n")
    first = cli(job, "run", "--date", D.isoformat())  # window D-1 .. D: D-2 has left it
    text = last_report(job).get_body(("plain",)).get_content()
    assert re.search(r"^Left the window still missing: +1\r?$", text, re.M)
    assert "left the window still missing: 1" in first.stdout
    memory = ListedMemory.load(job.status_file)  # D-2 is dropped: older than D minus L
    assert memory.days_of("traffic", "eLUX") == {"2026-11-23": ["eLUX_C1"], "2026-11-24": ["eLUX_E1"]}
    cli(job, "run", "--date", D.isoformat())
    again = last_report(job).get_body(("plain",)).get_content()
    assert re.search(r"^Left the window still missing: +0\r?$", again, re.M)
