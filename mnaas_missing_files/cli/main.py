"""`mnaas-missing-files`: run, submit, backfill, backtest, check-config, status, doctor, compare, demo
(contract §5, §14, §16)."""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Sequence

from mnaas_missing_files import __version__
from mnaas_missing_files.config.settings import Settings, config_path_from, load_settings
from mnaas_missing_files.core.errors import EXIT_FAILED, EXIT_OK, MnaasError, UsageError
from mnaas_missing_files.core.fsio import os_error
from mnaas_missing_files.core.runlog import attach_log_file, configure_stderr
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.run.summary import print_outcome
from mnaas_missing_files.warehouse.login import check_before_run

log = logging.getLogger("mnaas_missing_files")


_DAY_FORM = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def parse_day(text: str) -> dt.date:
    """Only YYYY-MM-DD (Python would also take 20261120 or 2026-W47-5), and a refusal names
    what is wrong: a day that means nothing must not run some other day."""
    found = _DAY_FORM.fullmatch(text)
    if not found:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}")
    year, month, day = (int(part) for part in found.groups())
    if not 1 <= month <= 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: month {month} (months are 01 to 12)")
    if year < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: year {year}")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a day: day {day} ({calendar.month_name[month]} {year} has days 01 to {last})"
        )
    return dt.date(year, month, day)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnaas-missing-files", description="Daily check that every received customer file was generated."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="properties file (default: $MNAAS_CONFIG)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", parents=[common], help="run the check here, now, on this machine")
    p.add_argument("--date", type=parse_day, metavar="D", help="day to check (default: yesterday)")
    p.add_argument("--dry-run", action="store_true", help="write the reports; no email, status file untouched")
    p.add_argument(
        "--shadow",
        metavar="DIR",
        help="shadow run for the cutover: reports, log, status file, emails (never sent) only in DIR",
    )

    p = sub.add_parser("submit", parents=[common], help="enqueue the check on the Celery cluster")
    p.add_argument("--date", type=parse_day, metavar="D", help="day to check (default: yesterday)")
    p.add_argument("--wait", action="store_true", help="follow the run's progress and exit with its code")
    p.add_argument("--dry-run", action="store_true", help="write the reports; no email, status file untouched")

    p = sub.add_parser("backfill", parents=[common], help="check a range of days, one after another")
    p.add_argument("--from", dest="start", type=parse_day, required=True, metavar="D1")
    p.add_argument("--to", dest="end", type=parse_day, required=True, metavar="D2")
    p.add_argument("--submit", action="store_true", help="run each day on the Celery cluster")
    p.add_argument(
        "--only-missing",
        action="store_true",
        help="only the days of the range with no ended non-dry run in the history",
    )
    p.add_argument("--dry-run", action="store_true", help="write the reports; no email, status file untouched")

    p = sub.add_parser("backtest", parents=[common], help="replay the volume rules (silent, low input) over past days")
    p.add_argument("--from", dest="start", type=parse_day, required=True, metavar="D1")
    p.add_argument("--to", dest="end", type=parse_day, required=True, metavar="D2")

    p = sub.add_parser("check-config", parents=[common], help="validate and print the effective settings")
    p.add_argument("--date", type=parse_day, metavar="D", help="resolve day-dependent paths for D")
    p = sub.add_parser("status", parents=[common], help="status file, lock holder, recent runs")
    p.add_argument("--run", metavar="RUN_ID", help="show one run: groups by state, each distinct error in full")
    p = sub.add_parser("doctor", parents=[common], help="check every dependency and path of the job, changing nothing")
    p.add_argument("--date", type=parse_day, metavar="D", help="resolve day-dependent paths for D")
    p = sub.add_parser("compare", help="compare the legacy job's CSV and TXT reports with the product's, day by day")
    p.add_argument("legacy", metavar="LEGACY_DIR", help="where the legacy job writes its reports")
    p.add_argument("product", metavar="PRODUCT_DIR", help="where the product wrote its reports (e.g. a shadow dir)")
    p.add_argument("--from", dest="start", type=parse_day, metavar="D1", help="first day compared")
    p.add_argument("--to", dest="end", type=parse_day, metavar="D2", help="last day compared")
    p = sub.add_parser("demo", parents=[common], help="build a demo warehouse and config in var/demo and run yesterday")
    p.add_argument("--dir", default="var/demo", help="where to build the demo (default: var/demo)")
    return parser


def _settings(args, day: dt.date | None = None) -> Settings:
    """The job's settings; a shadow run's (`run --shadow DIR`, MNAAS_SHADOW_DIR) write only in
    its directory, which the commands that run here create (run/shadow.py)."""
    settings = load_settings(config_path_from(args.config), day=day)
    shadow = getattr(args, "shadow", None) or settings.shadow_dir
    if not shadow:
        return settings
    from mnaas_missing_files.run.shadow import enter_shadow, shadowed

    return enter_shadow(settings, shadow) if args.command in ("run", "backfill") else shadowed(settings, shadow)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_stderr(getattr(args, "verbose", False))
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
        return code
    except MnaasError as exc:
        print(f"mnaas-missing-files {args.command}: {mask_secrets(exc)}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # `status | head`: the reader has what it wanted. Point stdout at /dev/null so the
        # interpreter's last flush cannot fail either, and end quietly (128 + SIGPIPE).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLOSED_PIPE
    except OSError as exc:  # a file the run needed that no step turned into its own error
        where = f"{exc.filename}: " if exc.filename else ""
        message = mask_secrets(where + os_error(exc))
        log.error("%s", message)
        print(f"mnaas-missing-files {args.command}: {message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED


EXIT_CLOSED_PIPE = 141


def cmd_run(args) -> int:
    from mnaas_missing_files.run.interrupt import Interruption, signals_stop
    from mnaas_missing_files.run.local import run_local
    from mnaas_missing_files.run.progress import ProgressPrinter

    settings = _settings(args, args.date)
    check_before_run(settings)
    attach_log_file(settings.log_path)
    with signals_stop(Interruption()) as interruption:
        outcome = run_local(
            settings, dry_run=args.dry_run, progress=ProgressPrinter(sys.stderr), interruption=interruption
        )
    print_outcome(outcome.to_json())
    return outcome.exit_code


def cmd_submit(args) -> int:
    from tasks.client import submit_run

    settings = _settings(args, args.date)
    check_before_run(settings)
    return submit_run(settings, wait=args.wait, dry_run=args.dry_run)


def cmd_backfill(args) -> int:
    from mnaas_missing_files.cli.backfill import backfill

    if args.end < args.start:
        raise UsageError(f"--to {args.end} is before --from {args.start}")
    first = _settings(args, args.start)  # validates the configuration before any day runs
    from mnaas_missing_files.checking.planning import refuse_future_day

    refuse_future_day(first, args.end)  # before any day of the range runs
    check_before_run(first)  # and the warehouse login (GSSAPI), once for every day
    return backfill(
        first, args.start, args.end, submit=args.submit, dry_run=args.dry_run, only_missing=args.only_missing
    )


def cmd_backtest(args) -> int:
    from mnaas_missing_files.checking.planning import refuse_future_day
    from mnaas_missing_files.cli.backtestview import print_backtest

    if args.end < args.start:
        raise UsageError(f"--to {args.end} is before --from {args.start}")
    settings = _settings(args, args.end)
    refuse_future_day(settings, args.end)
    return print_backtest(settings, args.start, args.end)


def cmd_check_config(args) -> int:
    from mnaas_missing_files.checking.planning import plan_batches

    settings = _settings(args, args.date)
    print(f"configuration {settings.config_path} is valid for day {settings.day}")
    width = max(len(k) for k, *_ in settings.describe())
    for key, value, source, _help in settings.describe():
        print(f"  {key:<{width}} = {value}    [{source}]")
    local, cluster = (plan_batches(settings, n) for n in (settings.local_workers, settings.group_workers))
    print(
        f"{len(settings.processes)} processes x {len(settings.customers)} regular + "
        f"{len(settings.infonova_customers)} infonova customers -> {len(local)} group tasks for "
        f"run, {len(cluster)} for submit (2 queries each)"
    )
    for warning in settings.warnings:
        print(f"warning: {warning}")
    return EXIT_OK


def cmd_status(args) -> int:
    from mnaas_missing_files.cli.statusview import print_status

    settings = _settings(args)
    if args.run:
        from mnaas_missing_files.cli.runview import print_run

        print_run(settings, args.run)
        return EXIT_OK
    print_status(settings)
    return EXIT_OK


def cmd_doctor(args) -> int:
    from mnaas_missing_files.cli.doctor import run_doctor

    return run_doctor(args.config, args.date)


def cmd_compare(args) -> int:
    from pathlib import Path

    from mnaas_missing_files.reporting.compare import compare_dirs, summary

    if args.start and args.end and args.end < args.start:
        raise UsageError(f"--to {args.end} is before --from {args.start}")
    days = compare_dirs(Path(args.legacy), Path(args.product), args.start, args.end)
    if not days:
        span = f" from {args.start or 'the first'} to {args.end or 'the last'} day" if args.start or args.end else ""
        print(f"no day's reports found{span} in {args.legacy} or {args.product}: nothing compared", file=sys.stderr)
        return EXIT_FAILED
    for day in days:
        for line in day.lines():
            print(line)
    print(summary(days))
    return EXIT_OK if all(d.verdict == "identical" for d in days) else EXIT_FAILED


def cmd_demo(args) -> int:
    from mnaas_missing_files.cli.demo import run_demo

    return run_demo(args.dir)


COMMANDS = {
    "run": cmd_run,
    "submit": cmd_submit,
    "backfill": cmd_backfill,
    "backtest": cmd_backtest,
    "check-config": cmd_check_config,
    "status": cmd_status,
    "doctor": cmd_doctor,
    "compare": cmd_compare,
    "demo": cmd_demo,
}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
