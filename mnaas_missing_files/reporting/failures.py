"""Failed groups told once per distinct error (contract §15): twenty groups that failed the
same way are one line, with how many groups and which processes, never twenty lines.

Shared by the report's failures section, the failure notice and `status`."""

from __future__ import annotations

from dataclasses import dataclass

from mnaas_missing_files.core.secrets import mask_secrets


@dataclass(frozen=True)
class DistinctError:
    error: str
    groups: tuple[str, ...]  # the plan's group ids (`process/type/n`), in the order given
    processes: tuple[str, ...]  # first seen first

    def describe(self, total_groups: int | None = None) -> str:
        """`20 of 20 groups (traffic, sms): <error>`: one line an operator can read."""
        count = f"{len(self.groups)} of {total_groups}" if total_groups else str(len(self.groups))
        noun = "group" if len(self.groups) == 1 and not total_groups else "groups"
        return f"{count} {noun} ({', '.join(self.processes)}): {self.error}"


def process_of(group_id: str) -> str:
    """The plan's group ids are `process/type/n`; a process name holds no slash."""
    return group_id.split("/", 1)[0]


def distinct_errors(failed_groups: dict[str, str]) -> list[DistinctError]:
    """One entry per distinct (masked) error text, most groups first, then first seen."""
    by_error: dict[str, list[str]] = {}
    for group, error in failed_groups.items():
        by_error.setdefault(mask_secrets(error or "unknown error"), []).append(group)
    found = [
        DistinctError(error, tuple(groups), tuple(dict.fromkeys(process_of(g) for g in groups)))
        for error, groups in by_error.items()
    ]
    order = {e.error: i for i, e in enumerate(found)}
    return sorted(found, key=lambda e: (-len(e.groups), order[e.error]))


GROUPS_LISTED = 50  # contract §15: at most 50 group ids, then a count


def failure_records(failed_groups: dict[str, str]) -> list[dict]:
    """The run history's `failures`: per distinct error, its group count, the first
    GROUPS_LISTED group ids and the processes it hit (`status --run` shows them)."""
    return [
        {
            "error": e.error,
            "group_count": len(e.groups),
            "groups": list(e.groups[:GROUPS_LISTED]),
            "processes": list(e.processes),
        }
        for e in distinct_errors(failed_groups)
    ]
