"""`mnaas-missing-files demo`: a DuckDB warehouse and a legacy-shaped configuration in
var/demo/, then real runs on them: the day before yesterday, then (after some of its missing
files were generated late) yesterday, whose email shows every label of contract §7-§9 and §14 (a silent customer, a low-input pair,
a process and a customer nobody configured)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from mnaas_missing_files.cli.demo_data import DataSpec, generate, history_for_demo, quiet_feeds, write_duckdb
from mnaas_missing_files.config.settings import default_day, load_settings
from mnaas_missing_files.core.errors import EXIT_OK
from mnaas_missing_files.core.runlog import attach_log_file

PROCESSES = ["traffic", "actives", "activations", "tolling"]
CUSTOMERS = [
    "eLUX",
    "MyRep",
    "JLR",
    "Uber_soft_SIM",
    "Sky Roam",
    "Telia_IoT",
    "Volvo_Cars",
    "O'Brien Logistics",
    "Maersk",
    "Scania",
]
INFONOVA = ["INFONOVA_CHT", "INFONOVA_VF"]
DAYS = 5
EMPTY_PROCESS = "tolling"  # receives nothing yesterday: the upstream load did not run
# Expected input (contract §14): the KPI table holds five weeks, so each run has its baseline
# (the same weekday of the four weeks before, for the day before yesterday's run too).
KPI_HISTORY_DAYS = 7 * 4 + 2
SILENT_CUSTOMER = "Volvo_Cars"  # its feed stopped yesterday: every pair of it is silent
LOW_PAIR = ("actives", "Maersk")  # yesterday it received 8 files, usually 30 to 50
LOW_KEPT = 8

COMMON = """\
# Shared settings sourced by every job of the platform (demo values)
MNAASLocalLogPath={root}/Logs
MNAASConfPath={root}/MNAASConfigFiles
IMPALAD_HOST=impala-lb.example.net
IMPALAD_JDBC_PORT=21050
dbname=mnaas
MOVE_DEV_TEAM="move-dev@example.com,move-ops@example.com"
SDP_ticket_from_email=hdfs@edge1.example.net
SDP_ticket_to_email=sdp-tickets@example.com
SDP_ticket_cc_email=move-ops@example.com
ENV_MODE=DEMO
"""

JOB = """\
# Missing Customer Files job (demo; same shape as the production file)
. {root}/conf/MNAAS_CommonProperties.properties

MNAAS_Missing_Customer_Files_Scriptname=MNAAS_Missing_Customer_Files.sh
MNAAS_Missing_Customer_Files_logpath=$MNAASLocalLogPath/MNAAS_Missing_Customer_Files.log$(date +_%F)
MNAAS_Missing_Customer_Files_ProcessStatusFilename=$MNAASConfPath/MNAAS_Missing_Customer_Files_ProcessStatusFile
query_output1=$MNAASConfPath/Missing_Customer_Files/Missing_Customer_Files_$(date -d yesterday +%F).txt
missing_files_report=$MNAASConfPath/Missing_Customer_Files/Missing_Customer_Files_Report_$(date -d yesterday +%F).csv

mail_from=hdfs@edge1.example.net
cc_List="move-lead@example.com"

process_list=({processes})
customer_names=({customers})
infonova_customer_names=({infonova})

# New settings (the environment may override them; the demo ignores the environment)
MNAAS_WAREHOUSE_URL=duckdb:///{root}/warehouse.duckdb
MNAAS_GROUP_SIZE=4
# The demo's tolling has no input yesterday: warn (the default, fail, would end the demo with
# exit 1 and an SDP ticket; the email and the summary say NO INPUT either way)
MNAAS_EMPTY_INPUT=warn
"""

STATUS = """\
# process status file, shared with the platform's other jobs
MNAAS_Daily_ProcessStatusFlag=0
MNAAS_Daily_ProcessName=MNAAS_Missing_Customer_Files.sh
MNAAS_Script_Process_Id=0
MNAAS_job_status=Success
MNAAS_job_ran_time=
MNAAS_email_sdp_created=No
MOVE_Delay_Email_sent=No
"""


def _bash_array(items: list[str]) -> str:
    return " ".join(f'"{i}"' if (" " in i or "'" in i) else i for i in items)


def build_demo(root: Path, yesterday: dt.date, *, late: bool = True) -> Path:
    """Write the warehouse (with the late files generated, unless `late` is False: as the run
    of the day before saw it), the two properties files and a status file; returns the job file."""
    root = root.absolute()
    (root / "conf").mkdir(parents=True, exist_ok=True)
    (root / "MNAASConfigFiles").mkdir(exist_ok=True)
    days = [yesterday - dt.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    spec = DataSpec(
        days=days,
        processes=PROCESSES,
        customers=CUSTOMERS + INFONOVA,
        files_per_pair=40,
        missing_fraction=0.02,
        duplicate_fraction=0.03,
    )
    rows = quiet_feeds(generate(spec), yesterday, silent_customer=SILENT_CUSTOMER, low_pair=LOW_PAIR, kept=LOW_KEPT)
    # Only the KPI table reaches back weeks: the baseline reads nothing else.
    history = [yesterday - dt.timedelta(days=n) for n in range(KPI_HISTORY_DAYS, DAYS - 1, -1)]
    rows.kpi[:0] = generate(replace(spec, days=history)).kpi
    before, after = history_for_demo(rows, yesterday, empty_process=EMPTY_PROCESS)
    write_duckdb(root / "warehouse.duckdb", after if late else before)
    (root / "conf" / "MNAAS_CommonProperties.properties").write_text(COMMON.format(root=root))
    job = root / "conf" / "MNAAS_Missing_Customer_Files.properties"
    job.write_text(
        JOB.format(
            root=root,
            processes=_bash_array(PROCESSES),
            customers=_bash_array(CUSTOMERS),
            infonova=_bash_array(INFONOVA),
        )
    )
    status = root / "MNAASConfigFiles" / "MNAAS_Missing_Customer_Files_ProcessStatusFile"
    if not status.exists():
        status.write_text(STATUS)
    return job


def run_demo(directory: str) -> int:
    from mnaas_missing_files.run.local import run_local
    from mnaas_missing_files.run.progress import ProgressPrinter
    from mnaas_missing_files.run.summary import print_outcome

    ignored = sorted(k for k in os.environ if k.startswith("MNAAS_"))
    if ignored:
        print(
            f"demo: ignoring environment settings {', '.join(ignored)}; the demo uses only its own configuration",
            file=sys.stderr,
        )
    yesterday = default_day(None)
    before = yesterday - dt.timedelta(days=1)
    # The day before first, on the warehouse as it stood then: its run lists the files that
    # were missing, and remembers them; some are generated late, before yesterday's run.
    job = build_demo(Path(directory), yesterday, late=False)
    earlier = load_settings(job, day=before, ignore_env=True)
    attach_log_file(earlier.log_path)
    print(f"demo: first the run of {before}, as it ran a day ago", file=sys.stderr)
    run_local(earlier, progress=ProgressPrinter(sys.stderr))
    build_demo(Path(directory), yesterday, late=True)
    settings = load_settings(job, day=yesterday, ignore_env=True)
    print(f"demo: then the run of {yesterday}, after some of those files were generated late", file=sys.stderr)
    outcome = run_local(settings, progress=ProgressPrinter(sys.stderr))
    print()
    print_summary_table(settings.csv_path)
    print()
    print_outcome(outcome.to_json())
    print(f"  status file: {settings.status_file}")
    print("  the email lists what needs action first; open the .eml in a mail client, or its HTML part in a browser")
    print(f"  log file: {settings.log_path}")
    print(f"  configuration: {job}")
    print(f"  try: .venv/bin/mnaas-missing-files status --config {job}")
    return outcome.exit_code if outcome.exit_code != EXIT_OK else EXIT_OK


def print_summary_table(csv_path: Path) -> None:
    import csv

    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    with open(csv_path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            t = totals[row["process_name"]]
            t[0] += 1
            t[1] += int(row["file_received"] or 0)
            t[2] += int(row["file_generated"] or 0)
            t[3] += int(row["missing_files_listed"] or 0)
    print(f"{'process':<14}{'pairs':>7}{'received':>10}{'generated':>11}{'missing':>9}")
    for process, (pairs, received, generated, missing) in totals.items():
        print(f"{process:<14}{pairs:>7}{received:>10}{generated:>11}{missing:>9}")
