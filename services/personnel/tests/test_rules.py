"""Personnel's rules, table-driven, no I/O (DOMAIN §1, §6, §8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from liandiao.errors import InvalidInput, RuleViolation
from liandiao.ids import credit_code_check_character, parse_resident_id
from liandiao.legaltime import NaiveDatetime
from liandiao.reference import dispute_types
from services.personnel.app import mask_licence, sectors
from services.personnel.domain import duty, performance, relations, roster
from services.personnel.domain.model import (
    NewOrganization,
    NewPerson,
    OrgKind,
    Parent,
    PersonUpdate,
    Role,
    RosterStatus,
    check_organization,
    check_person,
    merge_update,
)

TODAY = date(2026, 3, 4)
TYPES = set(dispute_types())
SECTORS = sectors()


def uscc(prefix: str, region: str = "150502", org: str = "MA0000001") -> str:
    first17 = prefix + region + org
    return first17 + credit_code_check_character(first17)


def violations(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {v.field: v.reason for v in exc.value.violations}


# ---- organizations ------------------------------------------------------------

COURT = Parent(OrgKind.BASIC_COURT, "150502")
OFFICE = Parent(OrgKind.JUDICIAL_OFFICE, "150502")


def org(kind: OrgKind, **kw) -> NewOrganization:
    return replace(NewOrganization(kind=kind, name="某机构", region_code="150502"), **kw)


@pytest.mark.parametrize("o, parent", [
    (org(OrgKind.LAW_FIRM, credit_code=uscc("31")), None),
    (org(OrgKind.LEGAL_SERVICE_OFFICE, credit_code=uscc("33")), None),
    (org(OrgKind.PEOPLES_TRIBUNAL), COURT),
    (org(OrgKind.PEOPLES_TRIBUNAL, region_code="150502001"), COURT),   # a township of the court's county
    (org(OrgKind.MEDIATION_COMMITTEE, committee_level="township"), OFFICE),
    (org(OrgKind.MEDIATION_COMMITTEE, committee_level="village"), None),
    (org(OrgKind.MEDIATION_COMMITTEE, committee_level="sector", sector="traffic"), None),
    (org(OrgKind.JUDICIAL_OFFICE, credit_code=uscc("11")), None),
    (org(OrgKind.POLICE_STATION), None),
], ids=["law-firm-31", "legal-service-office-33", "tribunal-under-basic-court", "tribunal-in-a-township",
        "township-committee", "village-committee", "sector-committee", "judicial-office-with-code",
        "police-station-without-code"])
def test_organizations_that_are_accepted(o, parent):
    code, warnings = check_organization(o, parent, SECTORS)
    assert code == o.credit_code and warnings == []


@pytest.mark.parametrize("o, parent, field, says", [
    (org(OrgKind.LAW_FIRM, credit_code=uscc("91")), None, "credit_code", "starts 31"),
    (org(OrgKind.LAW_FIRM, credit_code=uscc("33")), None, "credit_code", "starts 31"),
    (org(OrgKind.LEGAL_SERVICE_OFFICE, credit_code=uscc("31")), None, "credit_code", "starts 33"),
    (org(OrgKind.LAW_FIRM), None, "credit_code", "required"),
    (org(OrgKind.LEGAL_SERVICE_OFFICE), None, "credit_code", "required"),
    (org(OrgKind.LAW_FIRM, credit_code="31150502MA00000"), None, "credit_code", "18 characters"),
    (org(OrgKind.PEOPLES_TRIBUNAL), None, "parent_organization_id", "names its basic court"),
    (org(OrgKind.PEOPLES_TRIBUNAL), OFFICE, "parent_organization_id", "parent is a basic court"),
    (org(OrgKind.PEOPLES_TRIBUNAL, region_code="150521"), COURT, "region_code", "within its basic court"),
    (org(OrgKind.MEDIATION_COMMITTEE), None, "committee_level", "PML Art.8"),
    (org(OrgKind.MEDIATION_COMMITTEE, committee_level="sector"), None, "sector", "names its sector"),
    (org(OrgKind.MEDIATION_COMMITTEE, committee_level="sector", sector="astrology"), None, "sector", "unknown"),
    (org(OrgKind.MEDIATION_COMMITTEE, committee_level="township", sector="labour"), None, "sector", "only a sector"),
    (org(OrgKind.MEDIATION_COMMITTEE, committee_level="township"), Parent(OrgKind.POLICE_STATION, "150502"),
     "parent_organization_id", "judicial office"),
    (org(OrgKind.JUDICIAL_OFFICE, committee_level="township"), None, "committee_level", "only a mediation"),
    (org(OrgKind.POLICE_STATION, sector="traffic"), None, "sector", "only a sector"),
    (org(None, name=" "), None, "kind", "required"),
    (org(OrgKind.POLICE_STATION, region_code="150599"), None, "region_code", "unknown"),
])
def test_organizations_that_are_refused_name_the_field(o, parent, field, says):
    with pytest.raises(InvalidInput) as exc:
        check_organization(o, parent, SECTORS)
    assert says in violations(exc)[field]


def test_a_pilot_credit_code_failing_its_check_is_accepted_with_a_warning_gb32100():
    good = uscc("31")
    wrong_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    code, warnings = check_organization(org(OrgKind.LAW_FIRM, credit_code=wrong_check.lower()), None, SECTORS)
    assert code == wrong_check
    assert any("check character" in w for w in warnings)


def test_sectors_include_the_dictionary_rosters_and_spc_online_art28():
    assert {"labour", "family", "traffic", "medical", "financial_consumer", "intellectual_property"} <= SECTORS


# ---- people -------------------------------------------------------------------

LICENCE = "11505201210123456"


def person(*roles: Role, **kw) -> NewPerson:
    return replace(NewPerson(name="王建国", organization_id="x", roles=roles, region_codes=("150502",)), **kw)


@pytest.mark.parametrize("p, org_kind", [
    (person(Role.LAWYER, lawyer_licence_number=LICENCE), OrgKind.LAW_FIRM),
    (person(Role.LAWYER, Role.MEDIATOR, lawyer_licence_number=LICENCE), OrgKind.LAW_FIRM),
    (person(Role.LEGAL_SERVICE_WORKER), OrgKind.LEGAL_SERVICE_OFFICE),
    (person(Role.JUDGE, Role.LIAISON_OFFICER), OrgKind.PEOPLES_TRIBUNAL),
    (person(Role.POLICE_OFFICER, Role.LIAISON_OFFICER), OrgKind.POLICE_STATION),
    (person(Role.MEDIATOR, languages=("zh", "mn")), OrgKind.MEDIATION_COMMITTEE),
    (person(Role.MEDIATOR), OrgKind.JUDICIAL_OFFICE),
    (person(Role.CLERK, Role.LIAISON_OFFICER), OrgKind.JUDICIAL_OFFICE),
])
def test_people_that_are_accepted(p, org_kind):
    checked = check_person(p, org_kind, TYPES, TODAY)
    assert checked.lawyer_licence == p.lawyer_licence_number


@pytest.mark.parametrize("p, org_kind, field, says", [
    (person(Role.LAWYER), OrgKind.LAW_FIRM, "lawyer_licence_number", "required"),
    (person(Role.LAWYER, lawyer_licence_number=LICENCE[:16]), OrgKind.LAW_FIRM, "lawyer_licence_number", "17 digits"),
    (person(Role.LAWYER, lawyer_licence_number=LICENCE + "0"), OrgKind.LAW_FIRM, "lawyer_licence_number", "17 digits"),
    (person(Role.LAWYER, lawyer_licence_number=LICENCE[:16] + "X"), OrgKind.LAW_FIRM, "lawyer_licence_number",
     "17 digits"),
    (person(Role.MEDIATOR, lawyer_licence_number=LICENCE), OrgKind.MEDIATION_COMMITTEE, "lawyer_licence_number",
     "only a lawyer"),
    (person(Role.LAWYER, lawyer_licence_number=LICENCE), OrgKind.JUDICIAL_OFFICE, "roles[0]", "law_firm"),
    (person(Role.MEDIATOR, Role.LEGAL_SERVICE_WORKER), OrgKind.LAW_FIRM, "roles[1]", "legal_service_office"),
    (person(Role.POLICE_OFFICER), OrgKind.PEOPLES_TRIBUNAL, "roles[0]", "police_station"),
    (person(Role.JUDGE), OrgKind.JUDICIAL_OFFICE, "roles[0]", "peoples_tribunal"),
    (person(Role.MEDIATOR, Role.MEDIATOR), OrgKind.MEDIATION_COMMITTEE, "roles", "twice"),
    (person(), OrgKind.MEDIATION_COMMITTEE, "roles", "at least one"),
    (person(Role.MEDIATOR, region_codes=()), OrgKind.MEDIATION_COMMITTEE, "region_codes", "at least one region"),
    (person(Role.MEDIATOR, languages=("Mongolian",)), OrgKind.MEDIATION_COMMITTEE, "languages[0]", "BCP-47"),
    (person(Role.MEDIATOR, specialties=("neighbours", "gossip")), OrgKind.MEDIATION_COMMITTEE, "specialties[1]",
     "unknown"),
    (person(Role.MEDIATOR, phone="12345"), OrgKind.MEDIATION_COMMITTEE, "phone", ""),
    (person(Role.MEDIATOR, id_number="110105194912310021"), OrgKind.MEDIATION_COMMITTEE, "id_number", ""),
])
def test_people_that_are_refused_name_the_field(p, org_kind, field, says):
    with pytest.raises(InvalidInput) as exc:
        check_person(p, org_kind, TYPES, TODAY)
    assert says in violations(exc)[field]


def test_an_update_may_keep_the_licence_on_file():
    assert check_person(person(Role.LAWYER), OrgKind.LAW_FIRM, TYPES, TODAY, licence_on_file=True).lawyer_licence == ""


def test_a_licence_is_masked_to_its_region_and_last_digit():
    assert mask_licence(LICENCE) == "1150************6"
    assert LICENCE[4:16] not in mask_licence(LICENCE)


def test_an_update_changes_only_the_named_fields():
    current = person(Role.MEDIATOR, specialties=("neighbours",), languages=("zh",), on_duty=True)
    merged = merge_update(current, PersonUpdate(paths=("languages", "on_duty"), languages=("zh", "mn"),
                                                specialties=("labour",), on_duty=False))
    assert merged.languages == ("zh", "mn") and merged.on_duty is False
    assert merged.specialties == ("neighbours",), "specialties were not named in the mask"


@pytest.mark.parametrize("paths, says", [((), "name the fields"), (("name",), "cannot change 'name'")])
def test_an_update_needs_a_mask_of_changeable_fields(paths, says):
    with pytest.raises(InvalidInput) as exc:
        merge_update(person(Role.MEDIATOR), PersonUpdate(paths=paths))
    assert says in violations(exc)["update_mask"]


def test_clearing_the_languages_leaves_mandarin():
    assert merge_update(person(Role.MEDIATOR), PersonUpdate(paths=("languages",))).languages == ("zh",)


# ---- declared relations -----------------------------------------------------------

@pytest.mark.parametrize("d, expected", [
    # intake stores a resident ID as parse_resident_id(...).number: upper-case X, no spaces
    (relations.Declaration(relations.RelationKind.NEAR_RELATIVE, id_number=" 11010519491231002x "),
     parse_resident_id("11010519491231002X", today=TODAY).number),
    (relations.Declaration(relations.RelationKind.INTEREST, passport_number=" e1234567 "), "E1234567"),
    (relations.Declaration(relations.RelationKind.OTHER, credit_code=uscc("91").lower()), uscc("91")),
])
def test_a_related_id_is_normalised_as_intake_normalises_parties(d, expected):
    assert relations.related_id(d, TODAY) == expected


@pytest.mark.parametrize("d, field", [
    (relations.Declaration(None, id_number="11010519491231002X"), "kind"),
    (relations.Declaration(relations.RelationKind.OTHER), "related_id_number"),
    (relations.Declaration(relations.RelationKind.OTHER, id_number="11010519491231002X", credit_code=uscc("91")),
     "related_id_number"),
    (relations.Declaration(relations.RelationKind.OTHER, id_number="110105194912310021"), "related_id_number"),
    (relations.Declaration(relations.RelationKind.OTHER, credit_code="91-bad"), "related_credit_code"),
    (relations.Declaration(relations.RelationKind.OTHER, id_number="11010519491231002X", note="x" * 501), "note"),
])
def test_a_bad_declaration_is_refused(d, field):
    with pytest.raises(InvalidInput) as exc:
        relations.related_id(d, TODAY)
    assert field in violations(exc)


# ---- rosters ------------------------------------------------------------------

MEDIATOR_AT_COMMITTEE = roster.Member(True, OrgKind.MEDIATION_COMMITTEE, (Role.MEDIATOR,))
LAWYER_MEDIATOR = roster.Member(True, OrgKind.LAW_FIRM, (Role.LAWYER, Role.MEDIATOR))
FREE = roster.Listing(("neighbours",), False, "")
CHARGING = roster.Listing(("contract",), True, "每件500元")


@pytest.mark.parametrize("court, member, listing", [
    (OrgKind.BASIC_COURT, MEDIATOR_AT_COMMITTEE, FREE),
    (OrgKind.PEOPLES_TRIBUNAL, MEDIATOR_AT_COMMITTEE, FREE),
    (OrgKind.BASIC_COURT, LAWYER_MEDIATOR, CHARGING),
    (OrgKind.BASIC_COURT, roster.Member(False, OrgKind.LAW_FIRM), CHARGING),
    (OrgKind.BASIC_COURT, roster.Member(False, OrgKind.LEGAL_SERVICE_OFFICE), CHARGING),
    (OrgKind.BASIC_COURT, roster.Member(False, OrgKind.MEDIATION_COMMITTEE), FREE),
])
def test_roster_entries_that_are_accepted(court, member, listing):
    roster.check_listing(court, member, listing, TYPES)


@pytest.mark.parametrize("court, member, listing, rule", [
    (OrgKind.JUDICIAL_OFFICE, MEDIATOR_AT_COMMITTEE, FREE, "SPC-Online Art.5"),
    (OrgKind.BASIC_COURT, roster.Member(True, OrgKind.POLICE_STATION, (Role.POLICE_OFFICER,)), FREE,
     "SPC-Invited Art.10"),
    (OrgKind.BASIC_COURT, replace(MEDIATOR_AT_COMMITTEE, roster_status=RosterStatus.REMOVED), FREE,
     "SPC-Invited Art.28"),
    (OrgKind.BASIC_COURT, roster.Member(False, OrgKind.POLICE_STATION), FREE, "SPC-Invited Art.10"),
    (OrgKind.BASIC_COURT, MEDIATOR_AT_COMMITTEE, replace(CHARGING, dispute_scope=("neighbours",)), "PML Art.4"),
    (OrgKind.BASIC_COURT, roster.Member(False, OrgKind.MEDIATION_COMMITTEE), CHARGING, "PML Art.4"),
])
def test_roster_entries_a_rule_forbids(court, member, listing, rule):
    with pytest.raises(RuleViolation) as exc:
        roster.check_listing(court, member, listing, TYPES)
    assert exc.value.rule == rule


@pytest.mark.parametrize("listing, field", [
    (roster.Listing((), False, ""), "dispute_scope"),
    (roster.Listing(("neighbours", "gossip"), False, ""), "dispute_scope[1]"),
    (roster.Listing(("neighbours", "neighbours"), False, ""), "dispute_scope"),
    (roster.Listing(("contract",), True, " "), "fee_standard"),
    (roster.Listing(("contract",), False, "每件500元"), "fee_standard"),
])
def test_bad_roster_requests_name_the_field(listing, field):
    with pytest.raises(InvalidInput) as exc:
        roster.check_listing(OrgKind.BASIC_COURT, LAWYER_MEDIATOR, listing, TYPES)
    assert field in violations(exc)


@pytest.mark.parametrize("orgs, start, chain", [
    ({"t": (OrgKind.PEOPLES_TRIBUNAL, "c"), "c": (OrgKind.BASIC_COURT, None)}, "t", ["t", "c"]),
    ({"c": (OrgKind.BASIC_COURT, None)}, "c", ["c"]),
    # the walk stops at an ancestor that is no court
    ({"t": (OrgKind.PEOPLES_TRIBUNAL, "j"), "j": (OrgKind.JUDICIAL_OFFICE, None)}, "t", ["t"]),
    ({"a": (OrgKind.BASIC_COURT, "b"), "b": (OrgKind.BASIC_COURT, "a")}, "a", ["a", "b"]),   # a loop ends
    ({"t": (OrgKind.PEOPLES_TRIBUNAL, "gone")}, "t", ["t"]),
], ids=["tribunal-uses-its-basic-court", "basic-court-alone", "non-court-parent", "loop", "unknown-parent"])
def test_a_lower_court_uses_the_rosters_above_it(orgs, start, chain):
    assert roster.court_chain(start, orgs) == chain


# ---- duty rota ----------------------------------------------------------------

W = duty.IsoWeek


@pytest.mark.parametrize("day, week", [
    (date(2026, 3, 2), W(2026, 10)),     # Monday
    (date(2026, 3, 8), W(2026, 10)),     # Sunday: same week
    (date(2026, 3, 9), W(2026, 11)),     # next Monday
    (date(2025, 12, 29), W(2026, 1)),    # a Monday of December in the next ISO year
    (date(2027, 1, 3), W(2026, 53)),     # 2026 is a long ISO year
    # instants are taken to their China day first
    (datetime(2026, 3, 8, 15, 59, tzinfo=UTC), W(2026, 10)),    # Sunday 23:59 in Beijing
    (datetime(2026, 3, 8, 16, 0, tzinfo=UTC), W(2026, 11)),     # Monday 00:00 in Beijing, still Sunday in UTC
])
def test_weeks_are_iso_weeks_of_china_days(day, week):
    assert duty.week_of(day) == week


def test_a_naive_instant_is_refused():
    with pytest.raises(NaiveDatetime):
        duty.week_of(datetime(2026, 3, 8, 23, 0))


WEEKS = [W(2026, 10), W(2026, 11), W(2026, 12)]


@pytest.mark.parametrize("days, missing", [
    ([date(2026, 3, 4)], [W(2026, 11), W(2026, 12)]),                     # exactly one day covers its week
    ([date(2026, 3, 8), date(2026, 3, 9)], [W(2026, 12)]),                 # Sunday and the next Monday
    ([], WEEKS),                                                             # a week with none is listed
    ([date(2026, 3, 1), date(2026, 3, 23)], WEEKS),                       # days just outside do not count
    ([date(2026, 3, 2), date(2026, 3, 10), date(2026, 3, 22)], []),
])
def test_a_week_is_covered_by_one_duty_day(days, missing):
    assert duty.uncovered(WEEKS, days) == missing


def test_coverage_gaps_list_offices_with_an_uncovered_week_only():
    offices = [duty.Office("po", "B派出所", OrgKind.POLICE_STATION, "150502"),
               duty.Office("jo", "A司法所", OrgKind.JUDICIAL_OFFICE, "150502"),
               duty.Office("full", "C司法所", OrgKind.JUDICIAL_OFFICE, "150502"),
               duty.Office("trib", "法庭", OrgKind.PEOPLES_TRIBUNAL, "150502")]
    days = {"full": [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)], "jo": [date(2026, 3, 10)]}
    gaps = duty.coverage_gaps(offices, WEEKS, days)
    assert [(g.office.organization_id, [str(w) for w in g.uncovered], g.covered) for g in gaps] == [
        ("jo", ["2026-W10", "2026-W12"], 1), ("po", ["2026-W10", "2026-W11", "2026-W12"], 0)]


@pytest.mark.parametrize("start, end, first, last, count", [
    ("2026-W10", "2026-W10", "2026-W10", "2026-W10", 1),
    ("2025-W52", "2026-W02", "2025-W52", "2026-W02", 3),
    ("2026-W52", "2027-W01", "2026-W52", "2027-W01", 3),   # through 2026-W53
    ("2026-W01", "2026-W53", "2026-W01", "2026-W53", 53),
])
def test_report_weeks(start, end, first, last, count):
    weeks = duty.report_weeks(start, end)
    assert (str(weeks[0]), str(weeks[-1]), len(weeks)) == (first, last, count)


@pytest.mark.parametrize("start, end, field", [
    ("2025-W53", "2026-W01", "from_week"),      # 2025 has 52 ISO weeks
    ("2026-10", "2026-W12", "from_week"),
    ("2026-W12", "2026-W10", "to_week"),
    ("2026-W01", "2027-W01", "to_week"),        # 54 weeks
])
def test_bad_report_ranges_are_refused(start, end, field):
    with pytest.raises(InvalidInput) as exc:
        duty.report_weeks(start, end)
    assert field in violations(exc)


def test_duty_days_are_deduplicated_and_sorted():
    assert duty.check_duty([Role.LAWYER], OrgKind.POLICE_STATION, ["2026-03-10", "2026-03-02", "2026-03-10"]) == [
        date(2026, 3, 2), date(2026, 3, 10)]


@pytest.mark.parametrize("roles, office, dates, error, says", [
    ([Role.MEDIATOR], OrgKind.JUDICIAL_OFFICE, ["2026-03-02"], RuleViolation, "lawyers and legal-service"),
    ([Role.LEGAL_SERVICE_WORKER], OrgKind.PEOPLES_TRIBUNAL, ["2026-03-02"], RuleViolation, "judicial offices"),
    ([Role.LAWYER], OrgKind.JUDICIAL_OFFICE, [], InvalidInput, "at least one date"),
    ([Role.LAWYER], OrgKind.JUDICIAL_OFFICE, ["2026-02-30"], InvalidInput, "ISO date"),
])
def test_duty_is_for_lawyers_and_legal_service_workers_at_offices(roles, office, dates, error, says):
    with pytest.raises(error, match=says):
        duty.check_duty(roles, office, dates)


# ---- performance file -------------------------------------------------------------

OUT = performance.Outcome


def facts(**kw) -> performance.Facts:
    return replace(performance.Facts(outcomes=(), offers_lapsed=0, scores=(), complaints=0, training_hours=0), **kw)


def test_the_summary_counts_cases_outcomes_and_feedback():
    s = performance.summarise(facts(outcomes=[OUT.AGREEMENT, OUT.AGREEMENT, OUT.FAILED, OUT.OPEN, OUT.SETTLED],
                                    scores=[5, 4, 4], complaints=1, training_hours=7.5), performance.ReviewPolicy())
    assert (s.cases_accepted, s.agreements, s.failures, s.open_cases, s.settled) == (5, 2, 1, 1, 1)
    assert (s.feedback_count, s.feedback_average, s.complaints, s.training_hours) == (3, 4.33, 1, 7.5)
    assert s.review_flags == ()


@pytest.mark.parametrize("lapsed, flagged", [(2, False), (3, True), (4, True)])
def test_repeated_lapsed_offers_are_flagged_for_review_spc_invited_art28(lapsed, flagged):
    s = performance.summarise(facts(offers_lapsed=lapsed), performance.ReviewPolicy(lapsed_offers=3))
    assert s.offers_lapsed == lapsed
    assert any("SPC-Invited Art.28" in f for f in s.review_flags) is flagged


def test_complaints_and_an_incompetent_evaluation_are_flagged():
    s = performance.summarise(facts(complaints=2, incompetent_evaluations=["2025"]), performance.ReviewPolicy())
    assert len(s.review_flags) == 2 and "2025" in s.review_flags[1]


def test_no_feedback_averages_zero():
    assert performance.summarise(facts(), performance.ReviewPolicy()).feedback_average == 0.0


@pytest.mark.parametrize("score, ok", [(0, False), (1, True), (5, True), (6, False)])
def test_feedback_scores_run_from_1_to_5(score, ok):
    if ok:
        assert performance.check_feedback(score, " 态度不好 ") == "态度不好"
    else:
        with pytest.raises(InvalidInput):
            performance.check_feedback(score, "")


@pytest.mark.parametrize("course, hours, held, field", [
    ("", 2, "2026-03-01", "course"),
    ("调解技巧", 0, "2026-03-01", "hours"),
    ("调解技巧", 0.3, "2026-03-01", "hours"),
    ("调解技巧", 200.5, "2026-03-01", "hours"),
    ("调解技巧", 2, "2026-03-05", "date"),       # tomorrow
    ("调解技巧", 2, "03/01/2026", "date"),
])
def test_bad_training_records_are_refused(course, hours, held, field):
    with pytest.raises(InvalidInput) as exc:
        performance.check_training(course, hours, held, TODAY)
    assert field in violations(exc)


def test_a_training_on_the_day_is_accepted():
    assert performance.check_training("调解技巧", 0.5, "2026-03-04", TODAY) == TODAY
    assert performance.check_training("调解技巧", 200, "2026-03-04", TODAY) == TODAY


@pytest.mark.parametrize("period, ok", [
    ("2025", True), ("2026", True), ("2026-H1", True), ("2026-Q1", True), ("2026-03", True),
    ("2026-04", False), ("2026-Q2", False), ("2026-H2", False), ("2027", False),   # not begun on 2026-03-04
    ("2025-13", False), ("2025-Q5", False), ("25", False),
])
def test_evaluation_periods(period, ok):
    if ok:
        assert performance.check_evaluation(period, performance.EvaluationResult.COMPETENT, "", TODAY) == period
    else:
        with pytest.raises(InvalidInput):
            performance.check_evaluation(period, performance.EvaluationResult.COMPETENT, "", TODAY)


# ---- bad input (issue 6): duplicates, calendar ranges, bounded reasons -----------------

@pytest.mark.parametrize("field, values", [("specialties", ("labour", "labour")), ("languages", ("zh", "zh")),
                                           ("region_codes", ("150502", "150502"))])
def test_a_value_named_twice_is_refused(field, values):
    with pytest.raises(InvalidInput) as exc:
        check_person(person(Role.MEDIATOR, **{field: values}), OrgKind.MEDIATION_COMMITTEE, TYPES, TODAY)
    assert violations(exc)[field] == "a value is named twice"


def test_a_field_named_twice_in_the_mask_is_refused():
    with pytest.raises(InvalidInput) as exc:
        merge_update(person(Role.MEDIATOR), PersonUpdate(paths=("phone", "phone")))
    assert "twice" in violations(exc)["update_mask"]


def test_unknown_mask_paths_are_quoted_short():
    with pytest.raises(InvalidInput) as exc:
        merge_update(person(Role.MEDIATOR), PersonUpdate(paths=tuple("x" * 5000 + str(i) for i in range(10))))
    assert len(violations(exc)["update_mask"]) < 400


@pytest.mark.parametrize("text", ["x" * 10_000, "\x00" * 10_000])
def test_bad_values_are_quoted_short_in_reasons(text):
    for call in (lambda: check_person(person(Role.MEDIATOR, languages=(text,), specialties=(text,)),
                                      OrgKind.MEDIATION_COMMITTEE, TYPES, TODAY),
                 lambda: duty.report_weeks(text, text), lambda: duty.check_duty([Role.LAWYER], OrgKind.POLICE_STATION,
                                                                                [text]),
                 lambda: performance.check_training("调解技巧", 2, text, TODAY)):
        with pytest.raises(InvalidInput) as exc:
            call()
        assert all(len(reason) < 300 for reason in violations(exc).values())


@pytest.mark.parametrize("start", ["9999-W52", "0001-W01", "1979-W52"])
def test_weeks_far_from_any_rota_are_refused(start):
    with pytest.raises(InvalidInput) as exc:
        duty.report_weeks(start, start)
    assert "from_week" in violations(exc)


def test_the_last_week_of_the_last_year_is_reported_without_overflow():
    assert [str(w) for w in duty.report_weeks("2100-W52", "2100-W52")] == ["2100-W52"]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1979-12-31", "2101-01-01"])
def test_rota_days_far_from_today_are_refused(day):
    with pytest.raises(InvalidInput) as exc:
        duty.check_duty([Role.LAWYER], OrgKind.POLICE_STATION, [day])
    assert "dates[0]" in violations(exc)


def test_a_training_before_1980_or_an_evaluation_period_before_it_is_refused():
    with pytest.raises(InvalidInput) as exc:
        performance.check_training("调解技巧", 2, "0001-01-01", TODAY)
    assert "date" in violations(exc)
    with pytest.raises(InvalidInput) as exc:
        performance.check_evaluation("0001", performance.EvaluationResult.COMPETENT, "", TODAY)
    assert "period" in violations(exc)
