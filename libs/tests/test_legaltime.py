"""Legal time: official calendar, statutory periods, CPL 2023 Art.85 deadline counting.

Expected dates are worked out by hand from the 2026 State Council schedule (see the comments);
the oracle below is written from that schedule independently of the library's data file.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from liandiao.legaltime import (
    CALENDAR_FILE_ENV,
    CalendarDataError,
    CalendarNotLoaded,
    NaiveDatetime,
    NotConfigurable,
    Period,
    Unit,
    clear_calendar_cache,
    deadline,
    is_expired,
    load_calendar,
    nominal_last_day,
    parse_calendar,
    shipped_calendar,
    start_of_china_day,
    to_china_date,
    working_days_between,
)
from liandiao.legaltime import statutory as st

CST = timezone(timedelta(hours=8))
D = date.fromisoformat


def _span(first: str, last: str) -> set[date]:
    a, b = D(first), D(last)
    return {a + timedelta(days=i) for i in range((b - a).days + 1)}


# The 2026 schedule as recorded in shared/MACHINE-NOTES.md, written out independently.
HOLIDAYS_2026 = (
    _span("2026-01-01", "2026-01-03")
    | _span("2026-02-15", "2026-02-23")
    | _span("2026-04-04", "2026-04-06")
    | _span("2026-05-01", "2026-05-05")
    | _span("2026-06-19", "2026-06-21")
    | _span("2026-09-25", "2026-09-27")
    | _span("2026-10-01", "2026-10-07")
)
MAKEUP_2026 = {
    D(s)
    for s in (
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    )
}
DAYS_2026 = [D("2026-01-01") + timedelta(days=i) for i in range(365)]


def oracle_rest_2026(day: date) -> bool:
    return day in HOLIDAYS_2026 or (day.weekday() >= 5 and day not in MAKEUP_2026)


@pytest.fixture(scope="module")
def cal():
    return shipped_calendar()


# ---- calendar --------------------------------------------------------------------------------


def test_every_day_of_2026_matches_the_official_schedule(cal):
    wrong = [d for d in DAYS_2026 if cal.is_rest_day(d) != oracle_rest_2026(d)]
    assert wrong == []
    assert {d for d in DAYS_2026 if cal.is_statutory_holiday(d)} == HOLIDAYS_2026
    assert {d for d in DAYS_2026 if cal.is_makeup_working_day(d)} == MAKEUP_2026
    assert len(HOLIDAYS_2026) == 33


@pytest.mark.parametrize(
    ("day", "working", "statutory"),
    [
        ("2026-02-13", True, False),  # Friday before Spring Festival
        ("2026-02-14", True, False),  # Saturday, make-up working day
        ("2026-02-15", False, True),  # Sunday inside the Spring Festival period
        ("2026-02-23", False, True),  # Monday, last day of the period
        ("2026-02-24", True, False),
        ("2026-02-28", True, False),  # Saturday, make-up working day
        (
            "2026-03-07",
            False,
            False,
        ),  # ordinary Saturday: rest day, not a statutory holiday
        ("2026-09-20", True, False),  # Sunday, make-up working day
        ("2026-09-25", False, True),  # Mid-Autumn
        ("2026-10-10", True, False),  # Saturday, make-up working day
        ("2026-10-11", False, False),  # ordinary Sunday
        ("2026-01-03", False, True),  # Saturday inside the New Year period
        ("2026-01-04", True, False),  # Sunday, make-up working day
        ("2025-01-26", True, False),  # 2025: make-up Sunday before Spring Festival
        ("2025-10-08", False, True),  # 2025: National Day + Mid-Autumn, 8 days
        ("2025-10-11", True, False),
        ("2024-02-18", True, False),  # 2024: make-up Sunday after Spring Festival
        (
            "2024-06-08",
            False,
            False,
        ),  # 2024: weekend joined to Dragon Boat, not in the period
        ("2024-06-10", False, True),
    ],
)
def test_day_classification(cal, day, working, statutory):
    d = D(day)
    assert cal.is_working_day(d) is working
    assert cal.is_rest_day(d) is (not working)
    assert cal.is_statutory_holiday(d) is statutory


def test_holiday_names_come_from_the_data(cal):
    assert cal.holiday_name(D("2026-02-17")) == "春节"
    assert cal.holiday_name(D("2026-03-07")) is None


@pytest.mark.parametrize("day", ["2027-01-04", "2023-12-29", "2027-06-01"])
def test_year_not_loaded_is_refused_not_guessed(cal, day):
    d = D(day)
    assert cal.covers(d) is False
    for ask in (cal.is_working_day, cal.is_rest_day, cal.is_statutory_holiday):
        with pytest.raises(CalendarNotLoaded) as err:
            ask(d)
        assert err.value.year == d.year
        assert str(d.year) in str(err.value) and CALENDAR_FILE_ENV in str(err.value)


def test_covers_loaded_years(cal):
    assert sorted(cal.years) == [2024, 2025, 2026]
    assert cal.covers(D("2026-12-31")) and cal.covers(2024) and not cal.covers(2027)


def test_calendar_refuses_datetimes(cal):
    # A datetime never equals a date: it would silently miss every holiday.
    with pytest.raises(TypeError):
        cal.is_working_day(datetime(2026, 2, 15, 12, tzinfo=CST))


# ---- working-day periods -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start", "last_day"),
    [
        # Wed 23 Sep: Thu 24 (1); Fri 25-Sun 27 Mid-Autumn; Mon 28 (2); Tue 29 (3).
        (st.MEDIATOR_ACCEPT_OR_DECLINE, "2026-09-23", "2026-09-29"),
        # Fri 18 Sep: Sat 19 rest; Sun 20 make-up (1); Mon 21 (2); Tue 22 (3).
        (st.MEDIATOR_ACCEPT_OR_DECLINE, "2026-09-18", "2026-09-22"),
        # Tue 29 Sep: Wed 30 (1); 1-7 Oct National Day; Thu 8 (2); Fri 9 (3).
        (st.MEDIATOR_ACCEPT_OR_DECLINE, "2026-09-29", "2026-10-09"),
        # Wed 30 Sep: Thu 8 Oct (1); Fri 9 (2); Sat 10 make-up (3).
        (st.MEDIATOR_ACCEPT_OR_DECLINE, "2026-09-30", "2026-10-10"),
        # Thu 8 Oct: Fri 9 (1); Sat 10 make-up (2); Sun 11 rest; Mon 12 (3).
        (st.MEDIATOR_ACCEPT_OR_DECLINE, "2026-10-08", "2026-10-12"),
        # Fri 13 Feb: Sat 14 make-up (1); 15-23 Spring Festival; Tue 24 (2); Wed 25 (3).
        (st.MEDIATOR_ACCEPT_OR_DECLINE, "2026-02-13", "2026-02-25"),
        # Thu 12 Feb: Fri 13 (1); Sat 14 (2); Tue 24 (3).
        (st.COURT_APPOINTS_MEDIATOR, "2026-02-12", "2026-02-24"),
        # Offered on a holiday: Tue 24 (1), Wed 25 (2), Thu 26 (3).
        (st.MEDIATOR_ACCEPT_OR_DECLINE, "2026-02-15", "2026-02-26"),
        # Joint choice, 2 working days from Fri 13 Feb: Sat 14 (1), Tue 24 (2).
        (st.JOINT_CHOICE_OF_MEDIATOR, "2026-02-13", "2026-02-24"),
        # Police second session, 7 working days from Mon 27 Apr: 28, 29, 30 (3);
        # 1-5 May holiday; Wed 6, Thu 7, Fri 8 (6); Sat 9 May make-up (7).
        (st.POLICE_MEDIATION_SECOND_SESSION, "2026-04-27", "2026-05-09"),
    ],
)
def test_working_day_periods(cal, period, start, last_day):
    d = deadline(D(start), period, cal)
    assert d.started_on == D(start)
    assert d.last_day == D(last_day)
    assert d.expires_at == datetime.combine(
        D(last_day) + timedelta(days=1), datetime.min.time(), CST
    )
    assert not d.rolled_forward


@pytest.mark.parametrize(
    ("after", "until", "count"),
    [
        ("2026-09-23", "2026-09-29", 3),  # day 3 of the mediator's 3: in time
        ("2026-09-23", "2026-09-30", 4),  # day 4: late
        ("2026-09-23", "2026-09-27", 1),  # the holiday adds nothing
        ("2026-02-13", "2026-02-14", 1),  # the make-up Saturday counts
        ("2026-02-13", "2026-02-23", 1),
        ("2026-02-13", "2026-02-24", 2),
        ("2026-10-09", "2026-10-11", 1),
        ("2026-05-05", "2026-05-05", 0),
    ],
)
def test_working_days_between(cal, after, until, count):
    assert working_days_between(D(after), D(until), cal) == count


def test_working_days_between_rejects_reversed_and_unloaded(cal):
    with pytest.raises(ValueError):
        working_days_between(D("2026-09-30"), D("2026-09-23"), cal)
    with pytest.raises(CalendarNotLoaded):
        working_days_between(D("2026-12-30"), D("2027-01-05"), cal)


def test_mediator_answer_on_day_three_is_in_time_and_day_four_is_late(cal):
    d = deadline(D("2026-09-23"), st.MEDIATOR_ACCEPT_OR_DECLINE, cal)
    assert not is_expired(d, datetime(2026, 9, 29, 23, 59, 59, tzinfo=CST))
    assert is_expired(d, datetime(2026, 9, 30, 0, 0, tzinfo=CST))


# ---- calendar-day, month and year periods ------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start", "nominal", "last_day"),
    [
        # 5 Jan + 30 = Wed 4 Feb, a working day.
        (st.DELEGATED_PRE_FILING_MEDIATION, "2026-01-05", "2026-02-04", "2026-02-04"),
        # 17 Jan + 30 = Mon 16 Feb, Spring Festival: rolls to Tue 24 Feb.
        (st.DELEGATED_PRE_FILING_MEDIATION, "2026-01-17", "2026-02-16", "2026-02-24"),
        # 24 Jan + 30 = Mon 23 Feb, last day of the holiday: Tue 24 Feb.
        (st.DELEGATED_PRE_FILING_MEDIATION, "2026-01-24", "2026-02-23", "2026-02-24"),
        # 29 Jan + 30 = Sat 28 Feb, a make-up working day: no roll.
        (st.DELEGATED_PRE_FILING_MEDIATION, "2026-01-29", "2026-02-28", "2026-02-28"),
        # 5 Feb + 30 = Sat 7 Mar, an ordinary weekend: rolls to Mon 9 Mar.
        (st.DELEGATED_PRE_FILING_MEDIATION, "2026-02-05", "2026-03-07", "2026-03-09"),
        # 16 Sep + 15 = Thu 1 Oct, National Day: Thu 8 Oct.
        (st.COMMISSIONED_MEDIATION_ORDINARY, "2026-09-16", "2026-10-01", "2026-10-08"),
        # 13 Sep + 7 = Sun 20 Sep, a make-up working day: no roll.
        (
            st.COMMISSIONED_MEDIATION_SIMPLIFIED,
            "2026-09-13",
            "2026-09-20",
            "2026-09-20",
        ),
        # 18 Sep + 7 = Fri 25 Sep, Mid-Autumn (25-27): Mon 28 Sep.
        (
            st.COMMISSIONED_MEDIATION_SIMPLIFIED,
            "2026-09-18",
            "2026-09-25",
            "2026-09-28",
        ),
        # Agreement effective Mon 2 Mar + 30 = Wed 1 Apr.
        (st.CONFIRMATION_APPLICATION, "2026-03-02", "2026-04-01", "2026-04-01"),
        # 5 Mar + 30 = Sat 4 Apr, Qingming (4-6): Tue 7 Apr.
        (st.CONFIRMATION_APPLICATION, "2026-03-05", "2026-04-04", "2026-04-07"),
        # Application received Thu 30 Apr + 3 = Sun 3 May, Labour Day (1-5): Wed 6 May.
        (st.CONFIRMATION_ACCEPTANCE, "2026-04-30", "2026-05-03", "2026-05-06"),
        (st.CONFIRMATION_DECISION, "2026-06-01", "2026-06-16", "2026-06-16"),
        # 25 May + 25 = Fri 19 Jun, Dragon Boat (19-21): Mon 22 Jun.
        (st.CONFIRMATION_DECISION_EXTENDED, "2026-05-25", "2026-06-19", "2026-06-22"),
        (st.SPECIAL_PROCEDURE_CEILING, "2026-03-02", "2026-04-01", "2026-04-01"),
        # Ruling received 16 Sep + 15 = 1 Oct: 8 Oct.
        (st.PARTY_OBJECTION_TO_CONFIRMATION, "2026-09-16", "2026-10-01", "2026-10-08"),
        # 21 Dec + 10 = Thu 31 Dec 2026.
        (st.EXTENSION_APPLICATION, "2026-12-21", "2026-12-31", "2026-12-31"),
        # Practice default of about one month: 30 days.
        (st.PEOPLES_MEDIATION, "2026-01-05", "2026-02-04", "2026-02-04"),
        # 6 months: 3 Apr -> Sat 3 Oct (National Day): 8 Oct.
        (
            st.THIRD_PARTY_OBJECTION_TO_CONFIRMATION,
            "2026-04-03",
            "2026-10-03",
            "2026-10-08",
        ),
        # 31 Mar -> 30 Sep (no 31 Sep): Wed, a working day.
        (
            st.THIRD_PARTY_OBJECTION_TO_CONFIRMATION,
            "2026-03-31",
            "2026-09-30",
            "2026-09-30",
        ),
        # 31 Aug 2025 -> 28 Feb 2026 (month end), a make-up Saturday: no roll.
        (
            st.THIRD_PARTY_OBJECTION_TO_CONFIRMATION,
            "2025-08-31",
            "2026-02-28",
            "2026-02-28",
        ),
        # 2 years: 29 Feb 2024 -> 28 Feb 2026, a make-up Saturday.
        (st.ENFORCEMENT_APPLICATION, "2024-02-29", "2026-02-28", "2026-02-28"),
        # 3 Oct 2024 -> Sat 3 Oct 2026 (National Day): 8 Oct.
        (st.ENFORCEMENT_APPLICATION, "2024-10-03", "2026-10-03", "2026-10-08"),
    ],
)
def test_calendar_periods_roll_forward_past_rest_days(
    cal, period, start, nominal, last_day
):
    d = deadline(D(start), period, cal)
    assert (d.nominal_last_day, d.last_day) == (D(nominal), D(last_day))
    assert d.rolled_forward is (nominal != last_day)
    assert cal.is_working_day(d.last_day)
    assert nominal_last_day(D(start), period) == D(nominal)


def test_every_2026_calendar_period_ends_on_the_first_working_day_on_or_after_day_n(
    cal,
):
    for n in (3, 7, 15, 30):
        period = Period("probe", n, Unit.CALENDAR_DAYS, "test")
        for start in DAYS_2026[: 365 - n - 12]:  # keep the roll inside 2026
            d = deadline(start, period, cal)
            expected = start + timedelta(days=n)
            while oracle_rest_2026(expected):
                expected += timedelta(days=1)
            assert d.last_day == expected, (n, start)


def test_every_2026_working_day_period_ends_on_the_nth_working_day(cal):
    for n in (1, 2, 3, 7):
        period = Period("probe", n, Unit.WORKING_DAYS, "test")
        for start in DAYS_2026[:340]:
            expected, seen = start, 0
            while seen < n:
                expected += timedelta(days=1)
                seen += not oracle_rest_2026(expected)
            assert deadline(start, period, cal).last_day == expected, (n, start)


def test_configured_practice_period(cal):
    # A region sets people's mediation to 45 days: 5 Jan + 45 = Thu 19 Feb, Spring Festival: 24 Feb.
    d = deadline(D("2026-01-05"), st.PEOPLES_MEDIATION.configured(45), cal)
    assert d.last_day == D("2026-02-24")


def test_statutory_periods_cannot_be_configured():
    with pytest.raises(NotConfigurable):
        st.CONFIRMATION_APPLICATION.configured(31)


@pytest.mark.parametrize(
    ("period", "length", "unit", "source", "configurable"),
    [
        (st.JOINT_CHOICE_OF_MEDIATOR, 2, Unit.WORKING_DAYS, "SPC-Online Art.10", False),
        (st.COURT_APPOINTS_MEDIATOR, 3, Unit.WORKING_DAYS, "SPC-Online Art.10", False),
        (
            st.MEDIATOR_ACCEPT_OR_DECLINE,
            3,
            Unit.WORKING_DAYS,
            "SPC-Online Art.12",
            False,
        ),
        (
            st.DELEGATED_PRE_FILING_MEDIATION,
            30,
            Unit.CALENDAR_DAYS,
            "SPC-Invited Art.27",
            False,
        ),
        (
            st.COMMISSIONED_MEDIATION_ORDINARY,
            15,
            Unit.CALENDAR_DAYS,
            "SPC-Invited Art.27",
            False,
        ),
        (
            st.COMMISSIONED_MEDIATION_SIMPLIFIED,
            7,
            Unit.CALENDAR_DAYS,
            "SPC-Invited Art.27",
            False,
        ),
        (st.PEOPLES_MEDIATION, 30, Unit.CALENDAR_DAYS, "unconfirmed", True),
        (st.POLICE_MEDIATION_SECOND_SESSION, 7, Unit.WORKING_DAYS, "police", False),
        (
            st.CONFIRMATION_APPLICATION,
            30,
            Unit.CALENDAR_DAYS,
            "CPL 2023 Art.205",
            False,
        ),
        (st.CONFIRMATION_ACCEPTANCE, 3, Unit.CALENDAR_DAYS, "SPC-2011 Art.4", False),
        (st.CONFIRMATION_DECISION, 15, Unit.CALENDAR_DAYS, "SPC-2011 Art.5", False),
        (
            st.CONFIRMATION_DECISION_EXTENDED,
            25,
            Unit.CALENDAR_DAYS,
            "SPC-2011 Art.5",
            False,
        ),
        (st.SPECIAL_PROCEDURE_CEILING, 30, Unit.CALENDAR_DAYS, "CPL 2023 Art.187", False),
        (
            st.PARTY_OBJECTION_TO_CONFIRMATION,
            15,
            Unit.CALENDAR_DAYS,
            "SPC-Interp Art.372",
            False,
        ),
        (
            st.THIRD_PARTY_OBJECTION_TO_CONFIRMATION,
            6,
            Unit.MONTHS,
            "SPC-Interp Art.372",
            False,
        ),
        (st.ENFORCEMENT_APPLICATION, 2, Unit.YEARS, "CPL 2023 Art.250", False),
        (st.EXTENSION_APPLICATION, 10, Unit.CALENDAR_DAYS, "CPL 2023 Art.86", False),
    ],
)
def test_statutory_numbers_and_sources(period, length, unit, source, configurable):
    assert (period.length, period.unit, period.configurable) == (
        length,
        unit,
        configurable,
    )
    assert source in period.source
    assert period in st.ALL_PERIODS


def test_statutory_period_names_are_unique():
    names = [p.name for p in st.ALL_PERIODS]
    assert len(names) == len(set(names)) == 17


def test_materials_supplement_is_set_by_the_court(cal):
    period = st.materials_supplement(10)
    assert (period.length, period.unit) == (10, Unit.CALENDAR_DAYS)
    assert deadline(D("2026-09-21"), period, cal).last_day == D("2026-10-08")


@pytest.mark.parametrize("length", [0, -3, True])
def test_period_length_must_be_positive(length):
    with pytest.raises(ValueError):
        Period("bad", length, Unit.CALENDAR_DAYS, "test")


# ---- judicial confirmation: day 30 in time, day 31 not ------------------------------------------


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        (datetime(2026, 4, 1, 9, 0, tzinfo=CST), False),  # day 30, morning
        (datetime(2026, 4, 1, 23, 59, tzinfo=CST), False),  # day 30, 23:59 China time
        (datetime(2026, 4, 1, 23, 59, 59, 999999, tzinfo=CST), False),
        (datetime(2026, 4, 1, 15, 59, 59, tzinfo=UTC), False),  # = 23:59:59 China time
        (datetime(2026, 4, 2, 0, 0, tzinfo=CST), True),  # day 31
        (
            datetime(2026, 4, 1, 16, 0, tzinfo=UTC),
            True,
        ),  # = 00:00 on 2 April China time
        (
            datetime(2026, 4, 1, 16, 30, tzinfo=UTC),
            True,
        ),  # still 1 April in UTC, 2 April in China
        (
            datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
            False,
        ),  # the day the agreement took effect
    ],
)
def test_confirmation_application_expiry(cal, now, expired):
    d = deadline(D("2026-03-02"), st.CONFIRMATION_APPLICATION, cal)
    assert d.last_day == D("2026-04-01")
    assert d.expires_at == datetime(2026, 4, 1, 16, 0, tzinfo=UTC)
    assert is_expired(d, now) is expired


def test_day_31_application_counts_as_day_31(cal):
    d = deadline(D("2026-03-02"), st.CONFIRMATION_APPLICATION, cal)
    filed = datetime(2026, 4, 1, 16, 30, tzinfo=UTC)
    assert to_china_date(filed) == D("2026-04-02")
    assert (to_china_date(filed) - d.started_on).days == 31
    assert is_expired(d, start_of_china_day(D("2026-04-01"))) is False
    assert is_expired(d, start_of_china_day(D("2026-04-02"))) is True


# ---- time zones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "started_on", "last_day"),
    [
        # 17:00 UTC on 1 March is 01:00 on 2 March in China: the clock starts on 2 March.
        (datetime(2026, 3, 1, 17, 0, tzinfo=UTC), "2026-03-02", "2026-04-01"),
        # 15:59:59 UTC on 1 March is 23:59:59 on 1 March in China.
        (datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), "2026-03-01", "2026-03-31"),
        (datetime(2026, 3, 2, 0, 5, tzinfo=CST), "2026-03-02", "2026-04-01"),
        (
            datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2026-03-02",
            "2026-04-01",
        ),
    ],
)
def test_start_instant_is_dated_in_china_time(cal, start, started_on, last_day):
    d = deadline(start, st.CONFIRMATION_APPLICATION, cal)
    assert (d.started_on, d.last_day) == (D(started_on), D(last_day))


def test_late_evening_utc_offer_before_spring_festival(cal):
    # 16:30 UTC on Thu 12 Feb is 00:30 on Fri 13 Feb in China: Sat 14 (1), Tue 24 (2), Wed 25 (3).
    d = deadline(
        datetime(2026, 2, 12, 16, 30, tzinfo=UTC), st.MEDIATOR_ACCEPT_OR_DECLINE, cal
    )
    assert (d.started_on, d.last_day) == (D("2026-02-13"), D("2026-02-25"))


def test_expiry_instant_is_midnight_china_time(cal):
    d = deadline(D("2026-01-05"), st.DELEGATED_PRE_FILING_MEDIATION, cal)
    assert d.expires_at == datetime(2026, 2, 4, 16, 0, tzinfo=UTC)
    assert d.expires_at.utcoffset() == timedelta(hours=8)


def test_without_tz_database_china_time_is_fixed_utc_plus_8(monkeypatch):
    from zoneinfo import ZoneInfoNotFoundError

    from liandiao.legaltime import chinatime

    def missing(key: str) -> None:
        raise ZoneInfoNotFoundError(key)

    monkeypatch.setattr(chinatime, "ZoneInfo", missing)
    tz = chinatime._china_tz()
    assert datetime(2026, 7, 1, tzinfo=tz).utcoffset() == timedelta(hours=8)
    assert datetime(2026, 1, 1, tzinfo=tz).utcoffset() == timedelta(hours=8)


def test_naive_datetimes_are_refused(cal):
    d = deadline(D("2026-03-02"), st.CONFIRMATION_APPLICATION, cal)
    with pytest.raises(NaiveDatetime):
        deadline(datetime(2026, 3, 2, 9, 0), st.CONFIRMATION_APPLICATION, cal)
    with pytest.raises(NaiveDatetime):
        is_expired(d, datetime(2026, 4, 2, 9, 0))


# ---- years without a schedule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start"),
    [
        # 30 Dec: Thu 31 Dec (1), then 1 Jan 2027 is unknown.
        (st.MEDIATOR_ACCEPT_OR_DECLINE, "2026-12-30"),
        # 22 Dec + 10 = 1 Jan 2027.
        (st.EXTENSION_APPLICATION, "2026-12-22"),
        # 2 years from 2026 lands in 2028.
        (st.ENFORCEMENT_APPLICATION, "2026-03-02"),
    ],
)
def test_deadline_into_unloaded_year_raises(cal, period, start):
    with pytest.raises(CalendarNotLoaded):
        deadline(D(start), period, cal)


def test_nominal_last_day_needs_no_calendar():
    assert nominal_last_day(D("2026-03-02"), st.ENFORCEMENT_APPLICATION) == D(
        "2028-03-02"
    )
    with pytest.raises(ValueError):
        nominal_last_day(D("2026-03-02"), st.MEDIATOR_ACCEPT_OR_DECLINE)


# ---- operator data file --------------------------------------------------------------------------

FIXTURE_2027 = {  # test fixture, NOT the official 2027 schedule
    "source": "test fixture",
    "holidays": [{"name": "元旦", "first": "2027-01-01", "last": "2027-01-03"}],
    "makeup_working_days": [],
}


def _write(tmp_path, years, name="operator.json"):
    path = tmp_path / name
    path.write_text(
        json.dumps({"format": 1, "years": years}, ensure_ascii=False), "utf-8"
    )
    return path


@pytest.fixture
def fresh_cache():
    clear_calendar_cache()
    yield
    clear_calendar_cache()


def test_env_var_file_extends_the_shipped_calendar(tmp_path, monkeypatch, fresh_cache):
    monkeypatch.setenv(CALENDAR_FILE_ENV, str(_write(tmp_path, {"2027": FIXTURE_2027})))
    cal = load_calendar()
    assert sorted(cal.years) == [2024, 2025, 2026, 2027]
    assert cal.is_statutory_holiday(D("2027-01-01"))
    assert cal.is_working_day(D("2026-02-14"))  # shipped 2026 still there
    # 30 Dec 2026: Thu 31 Dec (1); 1-3 Jan holiday; Mon 4 Jan (2); Tue 5 Jan (3).
    d = deadline(D("2026-12-30"), st.MEDIATOR_ACCEPT_OR_DECLINE, cal)
    assert d.last_day == D("2027-01-05")


def test_operator_year_replaces_the_shipped_year(tmp_path, monkeypatch, fresh_cache):
    corrected_2026 = {
        "source": "test fixture",
        "holidays": [{"name": "国庆节", "first": "2026-10-01", "last": "2026-10-07"}],
        "makeup_working_days": [{"date": "2026-10-10", "for": "国庆节"}],
    }
    monkeypatch.setenv(
        CALENDAR_FILE_ENV, str(_write(tmp_path, {"2026": corrected_2026}))
    )
    cal = load_calendar()
    assert cal.is_working_day(
        D("2026-09-25")
    )  # Mid-Autumn dropped by the operator file
    assert not cal.is_statutory_holiday(D("2026-02-16"))
    assert cal.is_rest_day(
        D("2026-02-14")
    )  # no longer a make-up day: an ordinary Saturday
    assert cal.is_working_day(D("2026-10-10"))
    assert cal.covers(2025) and not cal.covers(2027)


def test_without_env_var_the_shipped_calendar_is_used(
    tmp_path, monkeypatch, fresh_cache
):
    monkeypatch.setenv(CALENDAR_FILE_ENV, str(_write(tmp_path, {"2027": FIXTURE_2027})))
    assert load_calendar().covers(2027)
    monkeypatch.delenv(CALENDAR_FILE_ENV)
    assert not load_calendar().covers(2027)
    assert load_calendar() is load_calendar()  # cached


def test_explicit_path_overrides_like_the_env_var(tmp_path, monkeypatch, fresh_cache):
    monkeypatch.delenv(CALENDAR_FILE_ENV, raising=False)
    assert load_calendar(_write(tmp_path, {"2027": FIXTURE_2027})).covers(
        D("2027-05-01")
    )


def test_missing_operator_file_is_an_error(tmp_path, monkeypatch, fresh_cache):
    monkeypatch.setenv(CALENDAR_FILE_ENV, str(tmp_path / "nowhere.json"))
    with pytest.raises(CalendarDataError):
        load_calendar()


def _hol(first: str, last: str) -> list[dict[str, str]]:
    return [{"name": "x", "first": first, "last": last}]


def _mk(day: str) -> list[dict[str, str]]:
    return [{"date": day, "for": "x"}]


@pytest.mark.parametrize(
    ("block", "fmt"),
    [
        pytest.param(
            {"holidays": [], "makeup_working_days": _mk("2027-01-05")}, 1, id="weekday"
        ),
        pytest.param(
            {
                "holidays": _hol("2027-01-02", "2027-01-03"),
                "makeup_working_days": _mk("2027-01-02"),
            },
            1,
            id="holiday-and-makeup",
        ),
        pytest.param(
            {"holidays": _hol("2027-01-03", "2027-01-01"), "makeup_working_days": []},
            1,
            id="ends-before-start",
        ),
        pytest.param(
            {"holidays": _hol("2072-01-01", "2072-01-01"), "makeup_working_days": []},
            1,
            id="typo-year",
        ),
        pytest.param(
            {"holidays": _hol("2027-13-01", "2027-13-01"), "makeup_working_days": []},
            1,
            id="not-a-date",
        ),
        pytest.param({"holidays": []}, 1, id="missing-key"),
        pytest.param(FIXTURE_2027, 2, id="unknown-format"),
    ],
)
def test_malformed_calendar_data_is_rejected(block, fmt):
    with pytest.raises(CalendarDataError):
        parse_calendar({"format": fmt, "years": {"2027": block}})


def test_parse_calendar_alone_covers_only_its_years():
    cal = parse_calendar({"format": 1, "years": {"2027": FIXTURE_2027}})
    assert cal.years == frozenset({2027})
    assert cal.is_working_day(D("2027-01-04"))
    with pytest.raises(CalendarNotLoaded):
        cal.is_working_day(D("2026-10-08"))


# ---- a year without its official schedule ------------------------------------------
def test_services_count_weekends_only_past_the_loaded_years_and_say_it_is_provisional():
    from liandiao.legaltime import statutory as _st

    strict = shipped_calendar()
    started = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 CST; day 30 is Fri 2027-01-01
    with pytest.raises(CalendarNotLoaded):
        deadline(started, _st.DELEGATED_PRE_FILING_MEDIATION, strict)
    due = deadline(started, _st.DELEGATED_PRE_FILING_MEDIATION, strict.with_weekend_fallback())
    assert due.last_day == date(2027, 1, 1) and due.provisional
    inside = deadline(datetime(2026, 11, 2, 2, 0, tzinfo=UTC), _st.DELEGATED_PRE_FILING_MEDIATION,
                      strict.with_weekend_fallback())
    assert inside.last_day == date(2026, 12, 2) and not inside.provisional
