import datetime as dt

from mnaas_missing_files.checking.planning import make_plan, plan_groups
from mnaas_missing_files.config.settings import Settings


def test_groups_follow_report_order_and_chunk_by_group_size():
    s = Settings.for_tests(processes=("traffic", "actives"), customers=("a", "b", "c"),
                           infonova_customers=("I1",), group_size=2)
    groups = [(g.group_id, g.customers) for g in plan_groups(s)]
    assert groups == [
        ("traffic/regular/1", ("a", "b")), ("traffic/regular/2", ("c",)),
        ("traffic/infonova/1", ("I1",)),
        ("actives/regular/1", ("a", "b")), ("actives/regular/2", ("c",)),
        ("actives/infonova/1", ("I1",)),
    ]


def test_a_customer_listed_twice_is_checked_once_with_a_warning(caplog):
    s = Settings.for_tests(customers=("a", "b", "a"), infonova_customers=("b", "I1"), group_size=10)
    groups = plan_groups(s)
    assert [g.customers for g in groups] == [("a", "b"), ("I1",)]
    assert sum("listed more than once" in r.getMessage() for r in caplog.records) == 2


def test_no_infonova_customers_means_no_infonova_group():
    s = Settings.for_tests(customers=("a",), infonova_customers=())
    assert [g.group_id for g in plan_groups(s)] == ["traffic/regular/1"]


def test_plan_round_trips_through_json():
    s = Settings.for_tests(day=dt.date(2026, 1, 2))
    plan = make_plan(s, dry_run=True, trigger="submit")
    assert plan.run_id.startswith("20260102-")
    from mnaas_missing_files.core.model import Plan
    assert Plan.from_json(plan.to_json()) == plan
