"""The statutory mediation periods, pinned at their boundaries (SPC-Invited Art.27)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from liandiao.legaltime import NotConfigurable, is_expired, shipped_calendar, statutory
from services.mediation.domain.rules import case_deadline, mediation_period

CAL = shipped_calendar()


@pytest.mark.parametrize("source, procedure, days", [
    ("court_delegation", "", 30),
    ("court_commission", "ordinary", 15),
    ("court_commission", "simplified", 7),
    ("police_referral", "", 30),
    ("party_application", "", 30),
])
def test_period_by_source(source, procedure, days):
    assert mediation_period(source, procedure).length == days


def test_delegated_case_accepted_5_jan_ends_4_feb_2026():
    # accepted 2026-01-05 10:00 CST: day 1 is 01-06, day 30 is 02-04 (a Wednesday)
    due = case_deadline(datetime(2026, 1, 5, 2, 0, tzinfo=UTC), "court_delegation", "", CAL)
    assert due.last_day == date(2026, 2, 4)
    assert not is_expired(due, datetime(2026, 2, 4, 15, 59, tzinfo=UTC))   # 23:59 CST on day 30
    assert is_expired(due, datetime(2026, 2, 4, 16, 0, tzinfo=UTC))        # 00:00 CST on day 31


def test_simplified_commission_ending_on_a_weekend_rolls_to_monday():
    # accepted Friday 2026-03-06: day 7 is Friday 03-13; from Sunday 03-01 day 7 is Sunday 03-08 -> Monday 03-09
    due = case_deadline(datetime(2026, 3, 1, 2, 0, tzinfo=UTC), "court_commission", "simplified", CAL)
    assert due.last_day == date(2026, 3, 9)


def test_peoples_mediation_length_is_configurable_but_statute_is_not():
    assert mediation_period("party_application", "", peoples_mediation_days=45).length == 45
    with pytest.raises(NotConfigurable):
        statutory.DELEGATED_PRE_FILING_MEDIATION.configured(45)


def test_peoples_mediation_days_setting():
    from liandiao.config import SettingsError
    from services.mediation.main import load_config

    assert load_config({}).peoples_mediation_days is None
    assert load_config({"PEOPLES_MEDIATION_DAYS": "45"}).peoples_mediation_days == 45
    # The reminder goes out this many working days before the last day (issue 8: configurable).
    assert load_config({}).reminder_working_days == 3
    assert load_config({"MEDIATION_REMINDER_WORKING_DAYS": "5"}).reminder_working_days == 5
    with pytest.raises(SettingsError, match="MEDIATION_REMINDER_WORKING_DAYS=0 must be between 1 and 20"):
        load_config({"MEDIATION_REMINDER_WORKING_DAYS": "0"})
    with pytest.raises(SettingsError, match="LIANDIAO_PEOPLES_MEDIATION_DAYS='a month' is not a whole number"):
        load_config({"PEOPLES_MEDIATION_DAYS": "a month"})
