import datetime as dt

import pytest

from mnaas_missing_files.checking.planning import batch_count, make_plan, plan_batches, plan_groups
from tests.helpers.settings import settings_for_tests


def test_one_worker_gets_as_few_batches_as_the_cap_allows_and_groups_keep_report_order():
    s = settings_for_tests(
        processes=("traffic", "actives"), customers=("a", "b", "c"), infonova_customers=("I1",), group_size=2
    )
    # 4 customers, at most 2 per batch: 2 batches, each every process; the second holds the
    # last regular customer and the InfONova one.
    batches = plan_batches(s, workers=1)
    assert [(b.batch_id, b.processes, b.regular, b.infonova) for b in batches] == [
        ("1/2", ("traffic", "actives"), ("a", "b"), ()),
        ("2/2", ("traffic", "actives"), ("c",), ("I1",)),
    ]
    groups = [(g.group_id, g.customers) for g in plan_groups(s, workers=1)]
    assert groups == [
        ("traffic/regular/1", ("a", "b")),
        ("traffic/regular/2", ("c",)),
        ("traffic/infonova/1", ("I1",)),
        ("actives/regular/1", ("a", "b")),
        ("actives/regular/2", ("c",)),
        ("actives/infonova/1", ("I1",)),
    ]


def test_batches_match_the_workers_in_near_equal_slices():
    s = settings_for_tests(
        processes=("p",), customers=("a", "b", "c"), infonova_customers=("I1",), group_size=10, min_group_customers=1
    )
    assert [b.customers for b in plan_batches(s, workers=3)] == [("a",), ("b",), ("c", "I1")]
    assert [g.group_id for g in plan_groups(s, workers=3)] == [
        "p/regular/1",
        "p/regular/2",
        "p/regular/3",
        "p/infonova/1",
    ]


def test_batch_count_is_the_workers_or_a_multiple_of_them_the_cap_needs():
    assert batch_count(100_000, 50, 1000) == 100  # the cap needs 100: two per worker
    assert batch_count(100_000, 30, 1000) == 120  # needs 100: four per worker, none idle
    assert batch_count(880, 4, 1000) == 4  # the cap needs 1: one per worker
    assert batch_count(3, 50, 1000) == 3  # never more batches than customers
    assert batch_count(4, 3, 1) == 4
    assert batch_count(0, 4, 10) == 0


def test_a_small_day_is_not_split_below_the_minimum_group():
    # MNAAS_MIN_GROUP_CUSTOMERS (default 500): worked out by hand, customers // least caps
    # the spread over the workers; the IN-list cap still wins.
    assert batch_count(16, 4, 4, least=500) == 4  # the cap of 4 needs 4 whatever the least
    assert batch_count(220, 4, 1000, least=500) == 1  # the standard day: one batch, not 4 of 55
    assert batch_count(999, 4, 1000, least=500) == 1  # below twice the least: one
    assert batch_count(1000, 4, 1000, least=500) == 2
    assert batch_count(2000, 4, 1000, least=500) == 4  # the large day: 4 of 500, as before
    assert batch_count(100_000, 50, 1000, least=500) == 100  # the scale model: unchanged
    assert batch_count(1500, 4, 1000, least=800) == 2  # the cap needs 2 although 1500 // 800 = 1


def test_the_minimum_group_comes_from_the_settings_and_plans_a_tiny_day_as_one_batch():
    tiny = dict(processes=("p", "q"), customers=tuple("abcdef"), infonova_customers=("I1", "I2"), group_size=1000)
    assert settings_for_tests(**tiny).min_group_customers == 500
    assert [b.customers for b in plan_batches(settings_for_tests(**tiny), workers=4)] == [
        ("a", "b", "c", "d", "e", "f", "I1", "I2")
    ]
    split = plan_batches(settings_for_tests(**tiny, min_group_customers=1), workers=4)
    assert [b.customers for b in split] == [("a", "b"), ("c", "d"), ("e", "f"), ("I1", "I2")]


def test_a_customer_listed_twice_is_checked_once_with_a_warning(caplog):
    s = settings_for_tests(customers=("a", "b", "a"), infonova_customers=("b", "I1"), group_size=10)
    groups = plan_groups(s, workers=1)
    assert [g.customers for g in groups] == [("a", "b"), ("I1",)]
    assert sum("listed more than once" in r.getMessage() for r in caplog.records) == 2


def test_no_infonova_customers_means_no_infonova_group():
    s = settings_for_tests(customers=("a",), infonova_customers=())
    assert [g.group_id for g in plan_groups(s)] == ["traffic/regular/1"]


def test_plan_round_trips_through_json():
    s = settings_for_tests(day=dt.date(2026, 1, 2))
    plan = make_plan(s, workers=2, dry_run=True, trigger="submit")
    assert plan.run_id.startswith("20260102-")
    from mnaas_missing_files.core.model import Plan

    assert Plan.from_json(plan.to_json()) == plan
    assert "groups" not in plan.to_json()  # the batches only: each customer once


def test_a_plan_or_batch_of_an_unknown_version_or_the_group_form_that_never_shipped_is_refused():
    from mnaas_missing_files.core.errors import MessageFormatError
    from mnaas_missing_files.core.model import Batch, Plan

    plan = make_plan(settings_for_tests(day=dt.date(2026, 1, 2)), workers=2, trigger="submit").to_json()
    assert plan["version"] == 1 and all(b["version"] == 1 for b in plan["batches"])
    with pytest.raises(MessageFormatError, match="a run's plan is of format version 2"):
        Plan.from_json(plan | {"version": 2})
    with pytest.raises(MessageFormatError, match="a run's plan has no 'batches' field"):
        Plan.from_json({k: v for k, v in plan.items() if k != "batches"})
    with pytest.raises(MessageFormatError, match="a run's plan names an unknown trigger 'nightly'"):
        Plan.from_json(plan | {"trigger": "nightly"})
    one_group = {"group_id": "sms/infonova/2", "process": "sms", "customer_type": "infonova", "customers": ["I3"]}
    with pytest.raises(MessageFormatError, match="a group task's batch has no 'batch_id' field"):
        Batch.from_json(one_group)
    without_version = {k: v for k, v in plan.items() if k != "version"}
    assert Plan.from_json(without_version) == Plan.from_json(plan)  # absent: version 1


def test_a_task_message_of_another_format_version_is_refused_by_name():
    from mnaas_missing_files.core.errors import MessageFormatError
    from mnaas_missing_files.core.plan import accept_version

    accept_version("a mnaas.start_run message", 1)
    with pytest.raises(
        MessageFormatError, match="a mnaas.start_run message is of format version 2; this version reads 1"
    ):
        accept_version("a mnaas.start_run message", 2)
    with pytest.raises(MessageFormatError, match="a group task's batch: expected a JSON object, got list"):
        from mnaas_missing_files.core.model import Batch

        Batch.from_json(["traffic"])


def test_a_message_naming_an_unknown_trigger_is_refused_with_the_known_ones():
    from mnaas_missing_files.core.errors import MessageFormatError
    from mnaas_missing_files.core.plan import parse_trigger
    from mnaas_missing_files.core.states import Trigger

    assert parse_trigger("a mnaas.start_run message", "schedule") is Trigger.SCHEDULE
    with pytest.raises(
        MessageFormatError,
        match=r"a mnaas.start_run message names an unknown trigger 'nightly' \(one of run, submit, schedule, backfill, catchup\)",
    ):
        parse_trigger("a mnaas.start_run message", "nightly")
