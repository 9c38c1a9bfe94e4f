"""The soak's invariant checker (chaos/invariants.py) and its seeded schedule (chaos/menu.py),
on outputs written by hand: each invariant finds the one thing wrong in them, and nothing in
a soak that went right."""

from __future__ import annotations

from chaos.invariants import Message, Outputs, check, ended_in_order, failure_episodes
from chaos.menu import MENU, schedule

CSV = {"Missing_Customer_Files_Report_2026-12-01.csv": b"a,b\n", "Missing_Customer_Files_2026-12-01.txt": b"x\n"}


def run(run_id: str, day: str, outcome: str, ended: str | None = "2026-12-05 06:00:00") -> dict:
    return {"run_id": run_id, "day": day, "outcome": outcome, "ended": ended}


def good() -> Outputs:
    """Three days: a success, a lost run (its failure notice and the episode's ticket), a success."""
    return Outputs(
        days=["2026-12-01", "2026-12-02", "2026-12-03"],
        history=[
            run("r1", "2026-12-01", "success", "2026-12-05 06:00:01"),
            run("r2", "2026-12-02", "lost", "2026-12-05 06:00:05"),
            run("r3", "2026-12-03", "success", "2026-12-05 06:00:09"),
        ],
        messages=[
            Message("r1", "2026-12-01", "report", "1.eml"),
            Message("r2", "2026-12-02", "failure", "2.eml"),
            Message("r2", "2026-12-02", "sdp", "3.eml"),
            Message("r3", "2026-12-03", "report", "4.eml"),
        ],
        status={
            "MNAAS_Daily_ProcessStatusFlag": "0",
            "MNAAS_job_status": "Success",
            "MNAAS_email_sdp_created": "No",
            "MNAAS_Script_Process_Id": "0",
        },
        reports={"2026-12-01": dict(CSV), "2026-12-03": {"Missing_Customer_Files_2026-12-03.txt": b"y\n"}},
        reference={"2026-12-01": dict(CSV), "2026-12-03": {"Missing_Customer_Files_2026-12-03.txt": b"y\n"}},
    )


def kinds(out: Outputs) -> dict[str, list[tuple]]:
    return {kind: [(v["day"], v["run_id"]) for v in found] for kind, found in check(out).items()}


def test_a_soak_that_went_right_has_no_violation():
    assert check(good()) == {}


def test_a_day_that_ended_twice_or_never_is_a_violation():
    out = good()
    out.history.append(run("r4", "2026-12-03", "success", "2026-12-05 06:00:10"))
    out.messages.append(Message("r4", "2026-12-03", "report", "5.eml"))
    out.history = [e for e in out.history if e["day"] != "2026-12-01"]
    found = kinds(out)
    assert found["day-not-ended-once"] == [("2026-12-01", None), ("2026-12-03", None)]


def test_a_run_still_running_and_a_day_nobody_asked_for_are_violations():
    out = good()
    out.history += [run("r5", "2026-12-03", "running", None), run("r6", "2026-11-30", "success")]
    out.messages.append(Message("r6", "2026-11-30", "report", "6.eml"))
    found = kinds(out)
    assert found["run-not-ended"] == [("2026-12-03", "r5")]
    assert found["unexpected-day"] == [("2026-11-30", "r6")]


def test_a_refused_start_is_no_run():
    out = good()
    out.history.insert(1, run("r0", "2026-12-02", "refused"))
    assert check(out) == {}


def test_a_run_without_its_message_and_a_run_with_two_are_violations():
    out = good()
    out.messages = [m for m in out.messages if m.run_id != "r2"]  # the ticket goes too
    out.messages.append(Message("r3", "2026-12-03", "report", "7.eml"))
    found = kinds(out)
    assert found["no-message"] == [("2026-12-02", "r2")]
    assert found["duplicate-message"] == [("2026-12-03", "r3")]


def test_messages_of_two_runs_for_one_day_and_of_an_unknown_run_are_violations():
    out = good()
    out.messages.append(Message("r9", "2026-12-01", "report", "8.eml"))
    found = kinds(out)
    assert found["two-runs-messaged-for-a-day"] == [("2026-12-01", None)]
    assert found["message-of-unknown-run"] == [("2026-12-01", "r9")]


def test_a_successful_run_whose_reports_differ_from_the_reference_is_a_violation():
    out = good()
    out.reports["2026-12-01"]["Missing_Customer_Files_2026-12-01.txt"] = b"x\nextra\n"
    del out.reports["2026-12-03"]
    found = check(out)["reports-differ"]
    assert [(v["day"], v["detail"]) for v in found] == [
        ("2026-12-01", "Missing_Customer_Files_2026-12-01.txt differs from the reference run's"),
        ("2026-12-03", "Missing_Customer_Files_2026-12-03.txt is missing"),
    ]


def test_reports_of_a_failed_run_are_not_compared():
    out = good()
    out.reports["2026-12-02"] = {"Missing_Customer_Files_2026-12-02.txt": b"partial\n"}
    assert check(out) == {}


def test_the_status_file_must_match_the_last_run_to_end_not_the_last_to_start():
    out = good()
    # r2 was found lost by the sweeper after r3 had ended: r2 is the last run to end.
    out.history[1]["ended"] = "2026-12-05 06:00:30"
    assert [e["run_id"] for e in ended_in_order(out.history)] == ["r1", "r3", "r2"]
    found = check(out)["status-file"]
    assert {v["detail"].split("=")[0] for v in found} == {
        "MNAAS_Daily_ProcessStatusFlag",
        "MNAAS_job_status",
        "MNAAS_email_sdp_created",
    }
    assert {v["run_id"] for v in found} == {"r2"}
    out.status.update(MNAAS_Daily_ProcessStatusFlag="1", MNAAS_job_status="Failure", MNAAS_email_sdp_created="Yes")
    assert check(out) == {}


def test_runs_ending_in_one_second_keep_the_history_order():
    history = [run("a", "d1", "failed", "2026-12-05 06:00:00"), run("b", "d2", "success", "2026-12-05 06:00:00")]
    assert [e["run_id"] for e in ended_in_order(history)] == ["a", "b"]


def test_two_tickets_in_one_failure_episode_are_a_violation_one_in_each_of_two_is_not():
    out = good()
    out.history[2]["outcome"] = "incomplete"  # r2 and r3: one episode
    out.messages.append(Message("r3", "2026-12-03", "sdp", "9.eml"))
    out.status.update(MNAAS_Daily_ProcessStatusFlag="1", MNAAS_job_status="Failure", MNAAS_email_sdp_created="Yes")
    assert [[e["run_id"] for e in ep] for ep in failure_episodes(out.history)] == [["r2", "r3"]]
    assert kinds(out) == {"tickets-per-episode": [("2026-12-02", "r2")]}
    out.history.insert(2, run("r2b", "2026-12-02b", "success", "2026-12-05 06:00:07"))  # splits the episode
    out.days.append("2026-12-02b")
    out.messages.append(Message("r2b", "2026-12-02b", "report", "10.eml"))
    out.reference["2026-12-02b"] = out.reports["2026-12-02b"] = {"x": b""}
    assert check(out) == {}


def test_a_ticket_of_a_successful_run_is_a_violation():
    out = good()
    out.messages.append(Message("r1", "2026-12-01", "sdp", "11.eml"))
    assert kinds(out) == {"ticket-outside-episode": [("2026-12-01", "r1")]}


def test_a_lock_still_held_and_a_run_still_open_are_violations():
    out = good()
    out.lock_holder = {"run_id": "r3", "day": "2026-12-03"}
    out.open_runs = ["r3"]
    assert kinds(out) == {"lock-held": [("2026-12-03", "r3")], "run-open": [(None, "r3")]}


def test_the_same_seed_replays_the_same_schedule_and_another_seed_does_not():
    assert schedule(42, 50) == schedule(42, 50)
    assert schedule(42, 50) != schedule(43, 50)
    assert schedule(42, 80)[:50] == schedule(42, 50)  # a longer soak replays the shorter one first


def test_the_schedule_draws_every_kind_of_the_menu_within_its_durations():
    faults = schedule(1, 400)
    assert {f.kind for f in faults} == set(MENU)
    for fault in faults:
        low, high = MENU[fault.kind].duration
        assert low <= fault.duration <= high
        assert 1.0 <= fault.wait <= 8.0


def test_a_chaos_dir_that_is_not_empty_is_refused_before_anything_starts(tmp_path, capsys):
    from chaos.__main__ import main

    (tmp_path / "left-over").write_text("x")
    assert main(["--seed", "1", "--runs", "5", "--dir", str(tmp_path)]) == 2
    assert f"CHAOS_DIR {tmp_path} must be an empty directory or a new path" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["left-over"]
