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


@pytest.mark.parametrize(
    ("waiting", "in_flight", "limit", "expected"),
    [
        # every job of a user with room, turn by turn: each user's oldest, then the second, ...
        ([w("a1", "A", 0), w("a2", "A", 1), w("a3", "A", 2), w("b1", "B", 5), w("b2", "B", 6)],
         {"A": 1}, 2, ["a1", "b1", "a2", "b2", "a3"]),
        # a user with no room is still left out: none of theirs can go in this pass
        ([w("a3", "A", 0), w("a4", "A", 1), w("b1", "B", 5)], {"A": 2}, 2, ["b1"]),
        ([], {}, 2, []),
    ],
)  # fmt: skip
def test_fair_order_with_the_backlog(
    waiting: list[Waiting], in_flight: dict[str, int], limit: int, expected: list[str]
) -> None:
    order = fair_order(waiting, in_flight, user_max_active=limit, backlog=True)
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


def _pass(backlog: bool) -> list[tuple[str, str, str]]:
    """One pass over one user's six one-hour files, one of theirs already on the Mac mini
    (a minute left) and the Pi 4 free, the way the bot and bench/route_sim.py run it."""
    policy = shipped()
    waiting = [w(f"a{n}", "A", n) for n in range(6)]
    one_pass = Round(policy, fleet(**{"mac-mini": "busy", "pi4": "free"}),
                     running={"mac-mini": 60}, in_flight={"A": 1}, user_max_active=2)  # fmt: skip
    done = []
    for entry in fair_order(waiting, {"A": 1}, user_max_active=2, backlog=backlog):
        if not one_pass.may_dispatch(entry.user):
            continue
        decision = select(policy, hours(1), one_pass.fleet, speed=NO_HISTORY,
                          workloads=one_pass.workloads())  # fmt: skip
        chosen = one_pass.settle(decision, user=entry.user)
        done.append((entry.job_id, chosen.action, chosen.target))
    return done


def test_a_held_job_does_not_keep_its_users_next_job_from_a_free_runner() -> None:
    # Without the backlog only a0 is looked at: it waits for the Mac, and the Pi 4 stays idle
    # while five more wait behind it.
    assert _pass(backlog=False) == [("a0", "hold", "mac")]
    # With it, a held job uses none of the user's room: a1-a3 wait for the Mac too, a4 finds
    # the free Pi 4 finishes it first and goes there; then A has 2 in flight, so a5 waits.
    assert _pass(backlog=True) == [("a0", "hold", "mac"), ("a1", "hold", "mac"),
                                   ("a2", "hold", "mac"), ("a3", "hold", "mac"),
                                   ("a4", "dispatch", "rpi4")]  # fmt: skip


def test_a_round_without_a_limit_lets_every_job_be_dispatched() -> None:
    one_pass = Round(shipped(), fleet(**{"mac-mini": "free", "pi4": "free"}))
    one_pass.settle(select(shipped(), hours(1), one_pass.fleet, speed=NO_HISTORY), user="A")
    one_pass.settle(select(shipped(), hours(1), one_pass.fleet, speed=NO_HISTORY), user="A")
    assert one_pass.may_dispatch("A")


def test_a_round_counts_dispatches_not_holds_against_the_limit() -> None:
    policy = shipped()
    one_pass = Round(policy, fleet(**{"mac-mini": "busy", "pi4": "free"}),
                     running={"mac-mini": 60}, in_flight={"A": 1}, user_max_active=2)  # fmt: skip
    one_pass.settle(select(policy, hours(2), one_pass.fleet, speed=NO_HISTORY,
                           workloads=one_pass.workloads()), user="A")  # fmt: skip
    assert one_pass.may_dispatch("A")  # held for the Mac: not in flight
    one_pass.settle(select(policy, hours(0.05, 1), one_pass.fleet, speed=NO_HISTORY,
                           workloads=one_pass.workloads()), user="A")  # fmt: skip
    assert not one_pass.may_dispatch("A")  # a voice note sent to the free Pi 4: 2 in flight
    assert one_pass.may_dispatch("B")
