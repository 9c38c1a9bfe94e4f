"""A typo in the job's file never passes (contract §16).

A bash properties file accepts any name, so `custmer_names=(…)` used to leave every regular
customer silently unchecked. Here every key the job's own file sets is compared with the keys
the product knows: near one of them (Levenshtein distance 2 or less between the case-folded
names) is a typo, and so is an unknown key of the settings' form (`MNAAS_` and capitals).
Anything else is a bash local, kept as it always was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from mnaas_missing_files.config.options import OPTIONS, OPTIONS_BY_KEY
from mnaas_missing_files.core.errors import ConfigTypo

NEAR = 2  # the largest edit distance that still reads as a slip of the keyboard
SETTING_FORM = re.compile(r"MNAAS_[A-Z0-9_]+")
LOCAL_KEYS = "MNAAS_LOCAL_KEYS"

# Keys the production files set besides the settings (examples/: the job and the common
# file); a unit test keeps this list equal to what those files set.
EXAMPLE_KEYS = ("MNAASLocalLogPath", "dbname", "query_output")

# MNAAS_ variables of the environment that are not settings but that the product's own
# commands, start scripts and compose file read: never reported as stray.
ENVIRONMENT_ONLY = (
    "MNAAS_CONFIG",
    "MNAAS_JOB_DIR",
    "MNAAS_LOG_LEVEL",
    "MNAAS_WORKER_NAME",
    "MNAAS_WORKER_QUEUES",
    "MNAAS_CONTROL_CONCURRENCY",
    "MNAAS_BEAT_STATE_FILE",
    "MNAAS_TEST_GROUP_GATE",
)


def known_keys() -> tuple[str, ...]:
    """Every key a job file may set, in the settings table's order, then the examples' own."""
    return tuple(o.key for o in OPTIONS) + EXAMPLE_KEYS


def distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute), by the classic two-row table."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def resemblances(key: str, known: Sequence[str]) -> list[str]:
    """The known keys within NEAR of `key`, nearest first, then in `known`'s order."""
    folded = key.casefold()
    scored = [(distance(folded, k.casefold()), i, k) for i, k in enumerate(known) if k != key]
    return [k for d, _, k in sorted(scored) if d <= NEAR]


def typo_problems(assignments: Iterable[tuple[str, str]], local_keys: Iterable[str] = ()) -> list[str]:
    """One line per suspicious key of the job's own file, `<file:line>: unknown key …`."""
    known = known_keys()
    exact = set(known) | set(local_keys)
    problems = []
    for key, where in assignments:
        if key in exact:
            continue
        near = resemblances(key, known)
        if near:
            problems.append(f"{where}: unknown key {key}; did you mean {' or '.join(near)}?")
        elif SETTING_FORM.fullmatch(key):
            problems.append(f"{where}: unknown key {key} (no such setting)")
    return problems


def check_typos(
    assignments: Iterable[tuple[str, str]], file_values: Mapping[str, object], environ: Mapping[str, str]
) -> None:
    """Raise ConfigTypo listing every typo of the job's file; MNAAS_LOCAL_KEYS (file or
    environment, the environment winning) names the bash locals that only look like keys."""
    raw = environ.get(LOCAL_KEYS) or file_values.get(LOCAL_KEYS) or ()
    local_keys = raw if isinstance(raw, list) else re.split(r"[,\s]+", str(raw).strip())
    problems = typo_problems(assignments, local_keys)
    if problems:
        raise ConfigTypo(problems)


def stray_environment(environ: Mapping[str, str], also_read: Iterable[str] = ()) -> list[str]:
    """Warnings for MNAAS_ variables of the environment that nothing reads (a typo there
    would otherwise be as silent as one in the file)."""
    read = set(OPTIONS_BY_KEY) | set(ENVIRONMENT_ONLY) | set(also_read)
    return [
        f"environment variable {name} is not a setting of this product and is ignored"
        + (f" (did you mean {' or '.join(near)}?)" if (near := resemblances(name, known_keys())) else "")
        for name in sorted(environ)
        if name.startswith("MNAAS_") and name not in read
    ]
