"""The court clock at its boundaries: 3 vs 4 days to accept (SPC-2011 Art.4), 15 vs 16 and
25 vs 26 to rule (Art.5), the 30-day ceiling (CPL 2023 Art.187), reminders and the overdue list.
June 2026 has no holiday before Dragon Boat (19-21 Jun), so the plain cases count straight."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.confirmation.domain import application as appl
from services.confirmation.domain import rules
from services.confirmation.domain.clock import (
    DeadlineKind,
    ReminderPolicy,
    ceiling_deadline,
    decision_deadline,
    next_reminder_at,
    overdue,
    overdue_list,
)
from services.confirmation.domain.commands import Accept, Extend, RequestSupplement, Rule
from services.confirmation.domain.errors import ExtensionNotAllowed, ReasonsRequired
from services.confirmation.domain.materials import Material, MaterialItem
from services.confirmation.domain.ruling import Outcome
from services.confirmation.tests.builders import CAL, accepted, agreement, at, filed, ruled


def _accept(app, now):
    return rules.decide_accept(app, Accept(judge_id="judge-1", sequence=1), now, CAL)


def test_accept_on_day_3_is_in_time_on_day_4_late():
    app = filed(now=at("2026-06-01", 16))  # Monday
    assert app.accept_by.last_day.isoformat() == "2026-06-04"
    assert not _accept(app, at("2026-06-04", 23, 59)).late
    assert _accept(app, at("2026-06-05", 0, 0)).late


def test_three_days_that_end_in_national_day_run_to_the_next_working_day():
    app = filed(agreement(effective_at=at("2026-09-10")), now=at("2026-09-30"))
    assert app.accept_by.last_day.isoformat() == "2026-10-08"  # 30 Sep + 3 = 3 Oct, a holiday


def test_rule_on_day_15_is_in_time_on_day_16_late():
    app = accepted(now=at("2026-06-01", 11))
    assert app.decide_by.last_day.isoformat() == "2026-06-16"
    (in_time, *_) = rules.decide_rule(app, _rule(), at("2026-06-16", 23, 59), CAL)
    (late, *_) = rules.decide_rule(app, _rule(), at("2026-06-17", 0, 0), CAL)
    assert (in_time.late, late.late) == (False, True)


def _rule():
    return Rule(ruling_id="r", judge_id="judge-1", judge_name="审判员甲", outcome=Outcome.VALID, reasons="自愿合法")


def test_extended_once_by_ten_day_25_in_time_day_26_late():
    app = accepted(now=at("2026-06-01", 11))
    extension = rules.decide_extend(app, Extend(approved_by="president-1", reason="需向调解组织核实"),
                                    at("2026-06-12"), CAL)
    assert extension.decide_by.last_day.isoformat() == "2026-06-26"
    assert extension.approved_by == "president-1"
    app = appl.evolve(app, extension)
    (in_time, *_) = rules.decide_rule(app, _rule(), at("2026-06-26", 23, 59), CAL)
    (late, *_) = rules.decide_rule(app, _rule(), at("2026-06-27", 0, 0), CAL)
    assert (in_time.late, late.late) == (False, True)


def test_the_ceiling_is_thirty_days_from_docketing_and_never_before_the_extended_deadline():
    accepted_at = at("2026-06-01", 11)
    assert ceiling_deadline(accepted_at, CAL).last_day.isoformat() == "2026-07-01"
    assert ceiling_deadline(accepted_at, CAL).period.source == "CPL 2023 Art.187"
    app = accepted(now=accepted_at)
    assert app.ceiling.last_day.isoformat() == "2026-07-01"
    # Across the year, the ceiling never ends before the 25 days (both roll to the same working day).
    for n in range(330):
        day = at("2026-01-01") + timedelta(days=n)
        assert ceiling_deadline(day, CAL).last_day >= decision_deadline(day, CAL, extended=True).last_day


def test_extended_deadline_ending_on_dragon_boat_rolls_forward():
    # 25 May + 25 = Fri 19 Jun (Dragon Boat, 19-21): Mon 22 Jun.
    assert decision_deadline(at("2026-05-25"), CAL, extended=True).last_day.isoformat() == "2026-06-22"


def test_only_one_extension_with_approval_and_reason_before_the_fifteen_days_end():
    app = accepted(now=at("2026-06-01"))
    with pytest.raises(ExtensionNotAllowed, match="president"):
        rules.decide_extend(app, Extend(approved_by=" ", reason="复杂"), at("2026-06-10"), CAL)
    with pytest.raises(ReasonsRequired):
        rules.decide_extend(app, Extend(approved_by="president-1", reason=""), at("2026-06-10"), CAL)
    with pytest.raises(ExtensionNotAllowed, match="ended on 2026-06-16"):
        rules.decide_extend(app, Extend(approved_by="president-1", reason="复杂"), at("2026-06-17"), CAL)
    assert rules.decide_extend(app, Extend(approved_by="president-1", reason="复杂"), at("2026-06-16", 23), CAL)
    extended = appl.evolve(app, rules.decide_extend(app, Extend(approved_by="president-1", reason="复杂"),
                                                    at("2026-06-10"), CAL))
    with pytest.raises(ExtensionNotAllowed, match="once"):
        rules.decide_extend(extended, Extend(approved_by="president-1", reason="仍复杂"), at("2026-06-11"), CAL)


# ---- reminders ---------------------------------------------------------------------------------


def test_a_reminder_one_working_day_before_each_court_deadline_once():
    app = filed(now=at("2026-06-01", 16))  # accept by Thu 4 Jun
    policy = ReminderPolicy()
    assert rules.decide_reminders(app, at("2026-06-02", 23, 59), policy, CAL) == ()
    (reminder,) = rules.decide_reminders(app, at("2026-06-03", 0, 0), policy, CAL)
    assert (reminder.deadline, reminder.last_day.isoformat(), reminder.audience, reminder.working_days_left) == (
        "accept", "2026-06-04", "court", 1)
    assert next_reminder_at(app, policy, CAL, at("2026-06-01", 16)) == at("2026-06-03", 0, 0)
    app = appl.evolve(app, reminder)
    assert rules.decide_reminders(app, at("2026-06-04", 9), policy, CAL) == ()
    assert next_reminder_at(app, policy, CAL, at("2026-06-03")) is None
    app = accepted(app, now=at("2026-06-04", 10))  # decide by 19 Jun -> Dragon Boat -> Mon 22 Jun
    # One working day before Mon 22 Jun is Thu 18 Jun (19-21 Jun are the holiday).
    assert rules.decide_reminders(app, at("2026-06-17", 23, 59), policy, CAL) == ()
    (decide,) = rules.decide_reminders(app, at("2026-06-18", 0, 0), policy, CAL)
    assert (decide.deadline, decide.last_day.isoformat(), decide.judge_id, decide.working_days_left) == (
        "decide", "2026-06-22", "judge-1", 1)


@pytest.mark.parametrize("working_days, first", [(0, "2026-06-16"), (1, "2026-06-15"), (3, "2026-06-11")])
def test_reminder_working_days_are_configurable_and_count_working_days(working_days, first):
    app = accepted(now=at("2026-06-01"))  # decide by Tue 16 Jun; 13-14 Jun is a weekend
    policy = ReminderPolicy(working_days=working_days)
    day = date.fromisoformat(first)
    assert rules.decide_reminders(app, at((day - timedelta(days=1)).isoformat(), 23, 59), policy, CAL) == ()
    (r,) = rules.decide_reminders(app, at(first), policy, CAL)
    assert (r.deadline, r.working_days_left, r.lead_days) == ("decide", working_days, working_days)


def test_an_extension_moves_the_last_day_and_earns_a_new_reminder():
    app = accepted(now=at("2026-06-01"))
    (first,) = rules.decide_reminders(app, at("2026-06-15"), ReminderPolicy(), CAL)
    app = appl.evolve(app, first)
    app = appl.evolve(app, rules.decide_extend(app, Extend(approved_by="president-1", reason="复杂"), at("2026-06-15", 9),
                                               CAL))
    (again,) = rules.decide_reminders(app, at(f"{(app.decide_by.last_day - timedelta(days=1)).isoformat()}"),
                                      ReminderPolicy(), CAL)
    assert again.last_day == app.decide_by.last_day != first.last_day


def test_the_applicants_are_reminded_of_the_supplement_deadline():
    app = filed(now=at("2026-06-01", 9))
    app = appl.evolve(app, rules.decide_request_supplement(
        app, RequestSupplement(days=7, items=(MaterialItem(Material.FURTHER_PROOF),)), at("2026-06-01", 10), CAL))
    assert app.supplement_by.last_day.isoformat() == "2026-06-08"  # Mon
    policy = ReminderPolicy(working_days=2)
    assert rules.decide_reminders(app, at("2026-06-03", 23, 59), policy, CAL) == ()
    (r,) = rules.decide_reminders(app, at("2026-06-04"), policy, CAL)  # Thu: Fri and Mon remain
    assert (r.deadline, r.audience, r.working_days_left) == ("supplement", "applicants", 2)
    assert r.outstanding == (MaterialItem(Material.FURTHER_PROOF),)
    app = appl.evolve(app, r)
    assert rules.decide_reminders(app, at("2026-06-05"), policy, CAL) == ()


def test_no_reminder_once_the_deadline_passed_and_none_for_a_decided_application():
    app = accepted(now=at("2026-06-01"))
    assert rules.decide_reminders(app, at("2026-06-17"), ReminderPolicy(), CAL) == ()
    assert rules.decide_reminders(ruled(app), at("2026-06-15"), ReminderPolicy(), CAL) == ()
    assert next_reminder_at(ruled(app), ReminderPolicy(), CAL, at("2026-06-02")) is None
    # Never reminded (the sweep was down) and now past: not looked at again for a reminder.
    assert next_reminder_at(app, ReminderPolicy(), CAL, at("2026-06-15")) == at("2026-06-15", 0, 0)
    assert next_reminder_at(app, ReminderPolicy(), CAL, at("2026-06-17")) is None


@pytest.mark.parametrize("working_days", [-1, 11, True])
def test_reminder_policy_is_checked(working_days):
    with pytest.raises(ValueError):
        ReminderPolicy(working_days=working_days)


# ---- overdue -----------------------------------------------------------------------------------


def test_overdue_from_the_first_day_after_the_last_day():
    app = filed(now=at("2026-06-01", 16))
    assert overdue(app, at("2026-06-04", 23, 59)) is None
    late = overdue(app, at("2026-06-05", 0, 0))
    assert late is not None and (late.kind, late.days_overdue, late.case_number) == (DeadlineKind.ACCEPT, 1, "")


def test_the_heads_list_shows_the_longest_overdue_first_and_not_decided_ones():
    waiting_acceptance = filed(now=at("2026-06-01"), application_id="app-a")  # accept by 4 Jun
    in_review = accepted(filed(now=at("2026-06-01"), application_id="app-b"), now=at("2026-06-02"))  # 17 Jun
    decided = ruled(accepted(filed(application_id="app-c")))
    listed = overdue_list((in_review, decided, waiting_acceptance), at("2026-06-20"))
    assert [(o.application_id, o.kind, o.days_overdue) for o in listed] == [
        ("app-a", DeadlineKind.ACCEPT, 16), ("app-b", DeadlineKind.DECIDE, 3)]
    assert listed[1].case_number == "（2026）蒙0502民特1号"
