"""The soak's invariants (contract §18), all in one place, checked from the outputs themselves:
the run history, the SMTP server's messages, the report files, the status file and what Redis
holds at the end. Pure functions of an `Outputs`, so each one is tested without a cluster
(tests/unit/test_chaos_invariants.py).

A violation is `{day, run_id, detail}` filed under its kind; `check` returns kind -> list.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

# X-MNAAS-Kind of the SDP ticket email ("sdp"; its outbox copy is named "sdp-ticket"); every
# other kind is the run's message.
TICKETS = frozenset({"sdp", "sdp-ticket"})
SUCCESS = "success"
# History entries that are no run: a refused start changed nothing, a dry run is no day's run.
NOT_RUNS = frozenset({"refused", "dry-run"})


@dataclass(frozen=True)
class Message:
    run_id: str
    day: str
    kind: str
    name: str  # its file under smtp/


@dataclass
class Outputs:
    days: list[str]  # the days the soak ran, ISO
    history: list[dict]  # the run history's entries, in file order
    messages: list[Message]
    status: dict[str, str]  # the status file's KEY=value lines
    reports: dict[str, dict[str, bytes]]  # day -> report file name -> bytes
    reference: dict[str, dict[str, bytes]]  # the same, of the fault-free reference runs
    lock_holder: dict | None = None
    open_runs: list[str] = field(default_factory=list)  # run ids whose Redis state is not final


Violations = dict[str, list[dict]]


def _add(found: Violations, kind: str, day: str | None, run_id: str | None, detail: str) -> None:
    found.setdefault(kind, []).append({"day": day, "run_id": run_id, "detail": detail})


def runs_of(history: list[dict]) -> list[dict]:
    return [e for e in history if str(e.get("outcome")) not in NOT_RUNS]


def ended_in_order(history: list[dict]) -> list[dict]:
    """Ended runs in the order they ended (the end time, then the history's order)."""
    ended = [(str(e["ended"]), index, e) for index, e in enumerate(runs_of(history)) if e.get("ended")]
    return [e for _, _, e in sorted(ended, key=lambda t: (t[0], t[1]))]


def every_day_ended_once(out: Outputs, found: Violations) -> None:
    by_day: dict[str, list[dict]] = defaultdict(list)
    for entry in runs_of(out.history):
        by_day[str(entry.get("day"))].append(entry)
        if not entry.get("ended"):
            _add(found, "run-not-ended", entry.get("day"), entry.get("run_id"), f"outcome {entry.get('outcome')}")
    for day in out.days:
        ended = [e for e in by_day.get(day, []) if e.get("ended")]
        if len(ended) != 1:
            runs = ", ".join(f"{e.get('run_id')} ({e.get('outcome')})" for e in ended) or "none"
            _add(found, "day-not-ended-once", day, None, f"{len(ended)} ended runs: {runs}")
    for day in sorted(set(by_day) - set(out.days)):
        _add(found, "unexpected-day", day, by_day[day][0].get("run_id"), "a run of a day the soak did not ask for")


def one_message_per_run(out: Outputs, found: Violations) -> None:
    sent: dict[str, list[Message]] = defaultdict(list)
    per_day: dict[str, list[Message]] = defaultdict(list)
    for message in out.messages:
        if message.kind not in TICKETS:
            sent[message.run_id].append(message)
            per_day[message.day].append(message)
    ended = ended_in_order(out.history)
    for entry in ended:
        run_id = str(entry.get("run_id"))
        count = len(sent.get(run_id, []))
        if count == 0:
            _add(found, "no-message", entry.get("day"), run_id, f"run ended {entry.get('outcome')} and sent no message")
        elif count > 1:
            kinds = ", ".join(f"{m.kind} ({m.name})" for m in sent[run_id])
            _add(found, "duplicate-message", entry.get("day"), run_id, f"{count} messages: {kinds}")
    for day, messages in sorted(per_day.items()):
        if len({m.run_id for m in messages}) > 1:
            runs = ", ".join(sorted({m.run_id for m in messages}))
            _add(found, "two-runs-messaged-for-a-day", day, None, f"messages of runs {runs}")
    known = {str(e.get("run_id")) for e in out.history}
    for message in out.messages:
        if message.run_id not in known:
            _add(found, "message-of-unknown-run", message.day, message.run_id, f"{message.kind} ({message.name})")


def success_reports_match_reference(out: Outputs, found: Violations) -> None:
    for entry in runs_of(out.history):
        if entry.get("outcome") != SUCCESS:
            continue
        day, run_id = str(entry.get("day")), entry.get("run_id")
        want, got = out.reference.get(day, {}), out.reports.get(day, {})
        if not want:
            _add(found, "reports-differ", day, run_id, "the fault-free reference run wrote no reports")
        for name in sorted(set(want) | set(got)):
            if name not in got:
                _add(found, "reports-differ", day, run_id, f"{name} is missing")
            elif name not in want:
                _add(found, "reports-differ", day, run_id, f"{name} is not written by the reference run")
            elif got[name] != want[name]:
                _add(found, "reports-differ", day, run_id, f"{name} differs from the reference run's")


def expected_status(outcome: str) -> dict[str, str]:
    """The status file's keys after a run with this outcome (contract §4), the job idle."""
    if outcome == SUCCESS:
        return {
            "MNAAS_Daily_ProcessStatusFlag": "0",
            "MNAAS_job_status": "Success",
            "MNAAS_email_sdp_created": "No",
            "MNAAS_Script_Process_Id": "0",
        }
    return {
        "MNAAS_Daily_ProcessStatusFlag": "1",
        "MNAAS_job_status": "Failure",
        "MNAAS_email_sdp_created": "Yes",
        "MNAAS_Script_Process_Id": "0",
    }


def status_matches_last_run(out: Outputs, found: Violations) -> None:
    ended = ended_in_order(out.history)
    if not ended:
        return
    last = ended[-1]
    for key, want in expected_status(str(last.get("outcome"))).items():
        got = out.status.get(key)
        if got != want:
            _add(
                found,
                "status-file",
                last.get("day"),
                last.get("run_id"),
                f"{key}={got} after the last run ended {last.get('outcome')}; expected {want}",
            )


def failure_episodes(history: list[dict]) -> list[list[dict]]:
    """Maximal sequences of non-success runs, in the order they ended."""
    episodes: list[list[dict]] = []
    current: list[dict] = []
    for entry in ended_in_order(history):
        if entry.get("outcome") == SUCCESS:
            if current:
                episodes.append(current)
            current = []
        else:
            current.append(entry)
    if current:
        episodes.append(current)
    return episodes


def one_ticket_per_episode(out: Outputs, found: Violations) -> None:
    tickets: dict[str, list[Message]] = defaultdict(list)
    for message in out.messages:
        if message.kind in TICKETS:
            tickets[message.run_id].append(message)
    in_episode: set[str] = set()
    for episode in failure_episodes(out.history):
        ids = [str(e.get("run_id")) for e in episode]
        in_episode.update(ids)
        raised = [m for run_id in ids for m in tickets.get(run_id, [])]
        if len(raised) > 1:
            first = episode[0]
            _add(
                found,
                "tickets-per-episode",
                first.get("day"),
                first.get("run_id"),
                f"{len(raised)} tickets in the failure episode of runs {', '.join(ids)}",
            )
    for run_id, raised in sorted(tickets.items()):
        if run_id not in in_episode:
            _add(found, "ticket-outside-episode", raised[0].day, run_id, "an SDP ticket of a run that did not fail")


def nothing_left_open(out: Outputs, found: Violations) -> None:
    if out.lock_holder:
        holder = out.lock_holder
        _add(found, "lock-held", holder.get("day"), holder.get("run_id"), "the job's lock is still held at the end")
    for run_id in out.open_runs:
        _add(found, "run-open", None, run_id, "its run state in Redis is not final at the end")


INVARIANTS = (
    every_day_ended_once,
    one_message_per_run,
    success_reports_match_reference,
    status_matches_last_run,
    one_ticket_per_episode,
    nothing_left_open,
)


def check(out: Outputs) -> Violations:
    found: Violations = {}
    for invariant in INVARIANTS:
        invariant(out, found)
    return found
