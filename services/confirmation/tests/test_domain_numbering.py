"""Case numbers: （2026）蒙0502民特123号, 诉前调确 after the court's own pre-filing mediation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.confirmation.domain import rules
from services.confirmation.domain.commands import Accept
from services.confirmation.domain.errors import InvalidCaseNumber
from services.confirmation.domain.model import Court, CourtLevel
from services.confirmation.domain.numbering import (
    CaseNumber,
    CaseType,
    case_type_for,
    court_code,
    format_case_number,
    parse_case_number,
)
from services.confirmation.tests.builders import (
    CAL,
    DALIN,
    HORQIN,
    INNER_MONGOLIA_HIGH,
    KAILU,
    TONGLIAO_INTERMEDIATE,
    agreement,
    at,
    filed,
)


@pytest.mark.parametrize(
    ("court", "code"),
    [
        (HORQIN, "蒙0502"),
        (DALIN, "蒙0502"),  # a tribunal numbers under its basic court
        (KAILU, "蒙0523"),
        (TONGLIAO_INTERMEDIATE, "蒙05"),
        (INNER_MONGOLIA_HIGH, "蒙"),
        (Court(court_id="c", name="北京市朝阳区人民法院", region_code="110105", level=CourtLevel.BASIC), "京0105"),
        (Court(court_id="c", name="北京市第一中级人民法院", region_code="110100", level=CourtLevel.INTERMEDIATE,
               case_code="京01"), "京01"),
    ],
)
def test_court_codes(court, code):
    assert court_code(court) == code


def test_a_region_without_a_court_abbreviation_needs_an_explicit_code():
    with pytest.raises(ValueError, match="case_code"):
        court_code(Court(court_id="c", name="x", region_code="810000", level=CourtLevel.BASIC))


def test_format():
    assert format_case_number(HORQIN, 2026, CaseType.CIVIL_SPECIAL, 123).text == "（2026）蒙0502民特123号"
    assert str(format_case_number(DALIN, 2026, CaseType.PRE_FILING_CONFIRMATION, 7)) == "（2026）蒙0502诉前调确7号"
    assert format_case_number(TONGLIAO_INTERMEDIATE, 2027, CaseType.CIVIL_SPECIAL, 1).text == "（2027）蒙05民特1号"


@pytest.mark.parametrize("text", ["（2026）蒙0502民特123号", "（2026）蒙0502诉前调确1号", "（2026）蒙05民特45号",
                                  "（2026）蒙民特9号", "（2024）京0105民特100000号"])
def test_parse_inverts_format(text):
    number = parse_case_number(text)
    assert number.text == text
    assert parse_case_number(number.text) == number


def test_parse_reads_ascii_brackets_and_gives_the_full_width_form():
    assert parse_case_number(" (2026)蒙0502民特123号 ").text == "（2026）蒙0502民特123号"


@pytest.mark.parametrize(
    "text",
    [
        "（2026）蒙0502民特0123号",  # leading zero
        "（2026）蒙0502民特0号",
        "（26）蒙0502民特123号",
        "（2026）蒙0502民特123",  # no 号
        "（2026）蒙0502民初123号",  # not a confirmation type
        "（2026）X0502民特123号",
        "（2026）蒙050民特123号",  # three digits
        "（2026）蒙050201民特123号",
        "（2026）台0502民特1号",  # no mainland court
        "",
    ],
)
def test_parse_refuses_what_is_not_a_case_number(text):
    with pytest.raises(InvalidCaseNumber):
        parse_case_number(text)


def test_a_case_number_is_validated_when_built():
    with pytest.raises(InvalidCaseNumber):
        CaseNumber(2026, "蒙0502", CaseType.CIVIL_SPECIAL, 0)
    with pytest.raises(InvalidCaseNumber):
        CaseNumber(26, "蒙0502", CaseType.CIVIL_SPECIAL, 1)
    with pytest.raises(InvalidCaseNumber):
        CaseNumber(2026, "Mongolia", CaseType.CIVIL_SPECIAL, 1)


def test_type_is_pre_filing_only_when_this_court_delegated_the_mediation():
    assert case_type_for(agreement(), HORQIN) is CaseType.CIVIL_SPECIAL
    assert case_type_for(agreement(delegating_court_id=HORQIN.court_id), HORQIN) is CaseType.PRE_FILING_CONFIRMATION


def test_sequences_run_per_court_code_year_and_type():
    court_app, tribunal_app = filed(), filed(court=DALIN, application_id="app-2")
    now = at("2026-06-03")
    assert rules.case_counter_key(court_app, now) == rules.case_counter_key(tribunal_app, now) == (
        "蒙0502", 2026, CaseType.CIVIL_SPECIAL)
    delegated = filed(agreement(delegating_court_id=HORQIN.court_id), application_id="app-3")
    assert rules.case_counter_key(delegated, now)[2] is CaseType.PRE_FILING_CONFIRMATION
    assert rules.case_counter_key(filed(court=KAILU, application_id="app-4"), now)[0] == "蒙0523"


def test_the_year_is_the_china_year_of_acceptance():
    services_calendar = CAL.with_weekend_fallback()  # as services run it (docs/decisions.md)
    app = filed(agreement(effective_at=at("2026-12-20")), now=at("2026-12-30"), calendar=services_calendar)
    new_year_in_china = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 Jan 2027 in China
    event = rules.decide_accept(app, Accept(judge_id="j", sequence=1), new_year_in_china, services_calendar)
    assert event.case_number.text == "（2027）蒙0502民特1号"
    assert event.decide_by.provisional  # 2027's holidays are not loaded: counted on weekends, marked
