"""The benchmark's own arithmetic (bench/stats.py): no stack needed."""

from __future__ import annotations

import pytest

from bench.stats import (
    CAPACITY_MARGIN,
    PlannedRate,
    Ramp,
    closed_loop_throughput,
    drain_seconds,
    growth_per_hour,
    is_steady,
    maximum,
    memory_verdict,
    percentiles,
    plan_rates,
)


def test_percentiles_of_one_to_a_hundred():
    p = percentiles([float(v) for v in range(1, 101)])
    assert (round(p["p50"], 2), round(p["p95"], 2), round(p["p99"], 2), p["n"]) == (50.5, 95.05, 99.01, 100)


def test_percentiles_of_nothing_is_nothing():
    assert percentiles([]) == {}
    assert percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "p99": 7.0, "n": 1}


@pytest.mark.parametrize(("history", "expected"), [
    ([], 2),                                        # the first step
    ([(2, 10.0)], 4),                               # one step: keep going
    ([(2, 10.0), (4, 19.0)], 8),                    # rising: double
    ([(2, 10.0), (4, 10.4)], None),                 # +4 %: within the noise, stop
    ([(2, 10.0), (4, 10.6)], 8),                    # +6 %: a rise
    ([(2, 10.0), (4, 19.0), (8, 18.0)], None),      # fell: stop
    ([(128, 10.0), (256, 20.0)], None),             # the cap
])
def test_the_ramp_doubles_while_throughput_rises(history, expected):
    assert Ramp().next_concurrency(history) == expected


def test_patience_allows_one_flat_step():
    ramp = Ramp(patience=2)
    assert ramp.next_concurrency([(2, 10.0), (4, 10.0)]) == 8
    assert ramp.next_concurrency([(2, 10.0), (4, 10.0), (8, 10.2)]) is None
    assert ramp.next_concurrency([(2, 10.0), (4, 10.0), (8, 15.0)]) == 16


def test_the_maximum_is_the_best_step_not_the_last():
    assert maximum([(2, 10.0), (4, 19.0), (8, 18.0)]) == (4, 19.0)


def test_memory_flat_growing_or_too_short():
    flat = [(t * 30.0, 100.0 + (t % 2)) for t in range(20)]
    growing = [(t * 30.0, 100.0 + 2 * t) for t in range(20)]
    assert memory_verdict(flat) == "flat"
    assert memory_verdict(growing) == "growing"
    assert memory_verdict(growing[:3]) == "too short"
    assert round(growth_per_hour(growing)) == 240       # 2 MiB per 30 s


def test_the_top_table_counts_leaves_and_whole_stacks():
    from bench.profile import hottest, top

    collapsed = ("main (a/run.py:1);handle (routing/app.py:10);loads (json/decoder.py:5) 30\n"
                 "main (a/run.py:1);handle (routing/app.py:12) 10\n"
                 "main (a/run.py:1);select (x/selectors.py:3) 60\n")
    own, inclusive, total = top(collapsed)
    assert total == 100
    assert dict(own) == {"select (x/selectors.py)": 60, "loads (json/decoder.py)": 30, "handle (routing/app.py)": 10}
    assert dict(inclusive)["handle (routing/app.py)"] == 40 and dict(inclusive)["main (a/run.py)"] == 100
    assert hottest({"intake": 3.0, "routing": 5.0, "services_total": 20.0, "postgres": 9.0}) == "routing"


def test_closed_loop_throughput_runs_to_the_last_notice_but_never_under_the_window():
    s = 1_000_000_000
    assert closed_loop_throughput(8, 0, 34 * s, 10) == 8 / 34     # flows longer than the window
    assert closed_loop_throughput(50, 0, 5 * s, 10) == 5.0        # all done early: the window counts
    assert closed_loop_throughput(0, 0, 0, 10) == 0.0


def test_rates_above_the_measured_maximum_are_beyond_capacity_and_fractions_of_it_are_added():
    plan = plan_rates([25.0, 6.5, 100.0], [0.5, 0.9], maximum=6.3)
    assert plan == [PlannedRate(3.1, True, "fraction"), PlannedRate(5.7, True, "fraction"),
                    PlannedRate(6.5, True, "asked"),          # within the 10 % margin of 6.3
                    PlannedRate(25.0, False, "asked"), PlannedRate(100.0, False, "asked")]


def test_the_capacity_margin_is_ten_per_cent_at_its_boundary():
    assert CAPACITY_MARGIN == 1.1
    assert plan_rates([11.0], [], maximum=10.0)[0].within_capacity
    assert not plan_rates([11.1], [], maximum=10.0)[0].within_capacity


def test_without_a_measured_maximum_every_asked_rate_runs_and_no_fraction_is_made():
    assert plan_rates([400.0, 25.0], [0.5], maximum=None) == [PlannedRate(25.0, True, "asked"),
                                                               PlannedRate(400.0, True, "asked")]


def test_an_asked_rate_equal_to_a_fraction_is_listed_once_as_asked():
    assert plan_rates([5.0], [0.5], maximum=10.0) == [PlannedRate(5.0, True, "asked")]


@pytest.mark.parametrize(("offered", "throughput", "started", "completed", "steady"), [
    (4.0, 3.9, 120, 120, True),
    (4.0, 3.6, 120, 114, True),      # the boundaries: 90 % of the rate, 95 % of the disputes
    (4.0, 3.5, 120, 120, False),     # fell behind the offered rate
    (4.0, 3.9, 120, 113, False),     # lost too many on the way
    (4.0, 0.0, 0, 0, False),         # nothing offered
])
def test_a_step_is_steady_only_when_the_platform_kept_up(offered, throughput, started, completed, steady):
    assert is_steady(offered, throughput, started, completed) is steady


def test_an_overloaded_steps_queue_drains_at_the_maximum():
    assert drain_seconds(100.0, 6.0, 30.0) == pytest.approx(470.0)
    assert drain_seconds(5.0, 6.0, 30.0) == 0.0
