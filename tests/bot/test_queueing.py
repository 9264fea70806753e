"""bot/queueing.py: fair order across users, the per-user limit, and deciding late."""

from __future__ import annotations

import pytest

from bot.policy import Workload, select
from bot.queueing import Round, Waiting, fair_order, plan, user_limit
from bot.settings import Settings
from tests.bot.test_policy_finish import NO_HISTORY, fleet, hours, shipped


def w(job: str, user: str, at: float) -> Waiting:
    return Waiting(job, user, at)


@pytest.mark.parametrize(
    ("waiting", "in_flight", "last_served", "limit", "expected"),
    [
        # round robin across users, oldest first within a user
        ([w("a1", "A", 0), w("a2", "A", 1), w("a3", "A", 2), w("b1", "B", 5)], {}, {}, 9,
         ["a1", "b1", "a2", "a3"]),
        # the user served longest ago goes first, whoever's job is oldest
        ([w("a1", "A", 0), w("b1", "B", 5)], {}, {"A": 100, "B": 50}, 9, ["b1", "a1"]),
        # never served goes before anyone served
        ([w("a1", "A", 0), w("c1", "C", 9)], {}, {"A": 1}, 9, ["c1", "a1"]),
        # the per-user limit: A has 2 in flight, so none of A's are dispatched
        ([w("a3", "A", 0), w("b1", "B", 5)], {"A": 2}, {}, 2, ["b1"]),
        # ... and with one slot left, only A's oldest
        ([w("a3", "A", 0), w("a4", "A", 1), w("b1", "B", 5)], {"A": 1}, {}, 2, ["a3", "b1"]),
        ([], {}, {}, 2, []),
    ],
)  # fmt: skip
def test_fair_order(
    waiting: list[Waiting], in_flight: dict[str, int], last_served: dict[str, float],
    limit: int, expected: list[str],
) -> None:  # fmt: skip
    order = fair_order(waiting, in_flight, user_max_active=limit, last_served=last_served)
    assert [j.job_id for j in order] == expected


def test_fifty_links_from_one_user_do_not_hold_back_another_users_two() -> None:
    flood = [w(f"a{n}", "A", n) for n in range(50)] + [w("b1", "B", 60), w("b2", "B", 61)]
    order = fair_order(flood, {"A": 2}, user_max_active=2, last_served={"A": 49})
    assert [j.job_id for j in order] == ["b1", "b2"]


def test_the_limit_comes_from_the_settings_and_is_validated() -> None:
    assert user_limit(Settings(_env_file=None)) == 2  # type: ignore[call-arg]
    assert user_limit(Settings(_env_file=None, RELAYQ_USER_MAX_ACTIVE=5)) == 5  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Settings(_env_file=None, RELAYQ_USER_MAX_ACTIVE=0)  # type: ignore[call-arg]


def test_a_job_for_a_free_runner_is_dispatched_and_one_for_a_busy_runner_is_held() -> None:
    policy = shipped()
    states = fleet(**{"mac-mini": "busy", "pi4": "free"})
    held = plan(select(policy, hours(2), states, speed=NO_HISTORY,
                       workloads={"mac": Workload((60.0,))}))  # fmt: skip
    assert (held.action, held.target) == ("hold", "mac")
    assert held.text == "waiting in relayq's queue for mac"
    sent = plan(select(policy, hours(0.05, 1), states, speed=NO_HISTORY))
    assert (sent.action, sent.target, sent.text) == ("dispatch", "rpi4", "sent to rpi4")


def test_a_round_counts_what_it_held_as_work_ahead_so_later_jobs_spread_out() -> None:
    policy = shipped()
    one_pass = Round(policy, fleet(**{"mac-mini": "busy", "pi4": "free"}), running={"mac-mini": 60})
    targets = []
    for _ in range(5):
        decision = select(policy, hours(1), one_pass.fleet, speed=NO_HISTORY,
                          workloads=one_pass.workloads())  # fmt: skip
        chosen = one_pass.settle(decision)
        targets.append((chosen.action, chosen.target))
    # 1 h on the Mac: about 5 min; on the Pi: about 25 min. The first few wait for the Mac;
    # once enough are held for it, the Pi (free) finishes the next one first and takes it.
    assert targets == [("hold", "mac")] * 4 + [("dispatch", "rpi4")]
    assert one_pass.workloads()["mac"].queued_s  # held work is visible to the next pass


def test_a_round_marks_the_runner_a_dispatched_job_took_as_busy() -> None:
    policy = shipped("first_free")
    one_pass = Round(policy, fleet(**{"mac-mini": "free", "pi4": "free"}))
    first = one_pass.settle(select(policy, hours(1), one_pass.fleet, speed=NO_HISTORY))
    second = one_pass.settle(select(policy, hours(1), one_pass.fleet, speed=NO_HISTORY))
    assert [first.target, second.target] == ["mac", "rpi4"]
    assert one_pass.workloads()["mac"].running_left_s == (pytest.approx(20 + 0.08 * 3600),)
