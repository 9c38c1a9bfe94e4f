"""`mnaas-missing-files`: run, submit, backfill, check-config, status, demo (contract §5)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence

from mnaas_missing_files import __version__
from mnaas_missing_files.config.settings import Settings, config_path_from, load_settings
from mnaas_missing_files.core.errors import EXIT_FAILED, EXIT_OK, MnaasError, UsageError
from mnaas_missing_files.core.fsio import os_error
from mnaas_missing_files.core.runlog import attach_log_file, configure_stderr
from mnaas_missing_files.core.secrets import mask_secrets
from mnaas_missing_files.run.summary import print_outcome

log = logging.getLogger("mnaas_missing_files")


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None


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
    p.add_argument("--date", type=_day, metavar="D", help="day to check (default: yesterday)")
    p.add_argument("--dry-run", action="store_true", help="write the reports; no email, status file untouched")

    p = sub.add_parser("submit", parents=[common], help="enqueue the check on the Celery cluster")
    p.add_argument("--date", type=_day, metavar="D", help="day to check (default: yesterday)")
    p.add_argument("--wait", action="store_true", help="follow the run's progress and exit with its code")
    p.add_argument("--dry-run", action="store_true", help="write the reports; no email, status file untouched")

    p = sub.add_parser("backfill", parents=[common], help="check a range of days, one after another")
    p.add_argument("--from", dest="start", type=_day, required=True, metavar="D1")
    p.add_argument("--to", dest="end", type=_day, required=True, metavar="D2")
    p.add_argument("--submit", action="store_true", help="run each day on the Celery cluster")
    p.add_argument(
        "--only-missing",
        action="store_true",
        help="only the days of the range with no ended non-dry run in the history",
    )
    p.add_argument("--dry-run", action="store_true", help="write the reports; no email, status file untouched")

    p = sub.add_parser("check-config", parents=[common], help="validate and print the effective settings")
    p.add_argument("--date", type=_day, metavar="D", help="resolve day-dependent paths for D")
    p = sub.add_parser("status", parents=[common], help="status file, lock holder, recent runs")
    p.add_argument("--run", metavar="RUN_ID", help="show one run: groups by state, each distinct error in full")
    p = sub.add_parser("demo", parents=[common], help="build a demo warehouse and config in var/demo and run yesterday")
    p.add_argument("--dir", default="var/demo", help="where to build the demo (default: var/demo)")
    return parser


def _settings(args, day: dt.date | None = None) -> Settings:
    return load_settings(config_path_from(args.config), day=day)


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
    return submit_run(settings, wait=args.wait, dry_run=args.dry_run)


def cmd_backfill(args) -> int:
    from mnaas_missing_files.cli.backfill import backfill

    if args.end < args.start:
        raise UsageError(f"--to {args.end} is before --from {args.start}")
    first = _settings(args, args.start)  # validates the configuration before any day runs
    from mnaas_missing_files.checking.planning import refuse_future_day

    refuse_future_day(first, args.end)  # before any day of the range runs
    return backfill(
        first, args.start, args.end, submit=args.submit, dry_run=args.dry_run, only_missing=args.only_missing
    )


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


def cmd_demo(args) -> int:
    from mnaas_missing_files.cli.demo import run_demo

    return run_demo(args.dir)


COMMANDS = {
    "run": cmd_run,
    "submit": cmd_submit,
    "backfill": cmd_backfill,
    "check-config": cmd_check_config,
    "status": cmd_status,
    "demo": cmd_demo,
}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
