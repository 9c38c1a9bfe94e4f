"""`mnaas-missing-files doctor`: every dependency and path of the job checked, one line each
with what to do, changing nothing (contract §16).

Each check is a function of the settings that yields `Finding`s; CHECKS lists them in the
order they print. A new dependency is one more function in that list. Only FAIL counts for
the exit code: 0 when nothing failed, 1 when something did, 2 when the configuration itself
is unusable (nothing else can be checked then).
"""

from __future__ import annotations

import sys
from typing import TextIO

from mnaas_missing_files.cli.doctor_checks import CHECKS, FAIL, OK, WARN, Check, Finding
from mnaas_missing_files.config.settings import Settings, config_path_from, load_settings
from mnaas_missing_files.core.errors import EXIT_FAILED, EXIT_OK, ConfigError, ConfigTypo


def run_doctor(config: str | None, day=None, out: TextIO | None = None) -> int:
    """Print one line per finding; the exit code as the module says."""
    out = out or sys.stdout
    try:
        settings = load_settings(config_path_from(config), day=day)
    except ConfigError as exc:
        problems = exc.problems if isinstance(exc, ConfigTypo) else [str(exc)]
        for problem in problems:
            print(
                Finding(FAIL, "configuration", f"{problem}; fix it (check-config shows every setting)").line(), file=out
            )
        return exc.exit_code
    print(Finding(OK, "configuration", f"{settings.config_path} is valid for day {settings.day}").line(), file=out)
    failed = False
    for warning in settings.warnings:
        print(Finding(WARN, "configuration", warning).line(), file=out)
    if settings.shadow_dir:  # the paths checked below are then the shadow's
        from mnaas_missing_files.run.shadow import shadowed

        settings = shadowed(settings, settings.shadow_dir)
        print(
            Finding(WARN, "shadow", f"MNAAS_SHADOW_DIR is set: runs write only in {settings.shadow_dir}").line(),
            file=out,
        )
    for check in CHECKS:
        for finding in _findings(check, settings):
            failed = failed or finding.level == FAIL
            print(finding.line(), file=out, flush=True)
    return EXIT_FAILED if failed else EXIT_OK


def _findings(check: Check, settings: Settings) -> list[Finding]:
    """A check that breaks is a FAIL line of its own, never a traceback that hides the rest."""
    try:
        return list(check(settings))
    except Exception as exc:
        name = check.__name__.removeprefix("check_").replace("_", " ")
        return [Finding(FAIL, name, f"the check itself failed: {type(exc).__name__}: {exc}")]
