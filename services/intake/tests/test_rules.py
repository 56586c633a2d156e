"""Intake's registration rules, table-driven, no I/O (DOMAIN.md §2, §8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from liandiao.errors import InvalidInput
from liandiao.reference import dispute_types
from services.intake.domain.model import (
    AgentAuthority,
    AgentIn,
    Consent,
    IdType,
    PartyIn,
    PartyKind,
    Procedure,
    Referral,
    ReferralKind,
    Registration,
    RiskFactors,
    Side,
    Source,
    Status,
)
from services.intake.domain.rules import RiskPolicy, assess_risk, decide_registration, duplicate_key, mask_address

TODAY = date(2026, 11, 23)
TOLD = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def person(side: Side, id_number: str = "11010519491231002X", **kw) -> PartyIn:
    base = PartyIn(kind=PartyKind.PERSON, side=side, name="王建国", phone="13800138000",
                   id_type=IdType.RESIDENT_ID, id_number=id_number, consent=Consent.GIVEN, disclosed_at=TOLD)
    return replace(base, **kw)


def registration(**kw) -> Registration:
    base = Registration(
        request_id="0192f5a4-7c1e-7000-8000-000000000001", region_code="150502", dispute_type="neighbours", source=Source.PARTY_APPLICATION,
        referral=Referral(), facts="邻里纠纷", requested_outcome="", amount_fen=0,
        parties=(person(Side.APPLICANT), person(Side.RESPONDENT, "440524188001010014")),
        registering_person_id="clerk-1", registering_org_id="office-1",
    )
    return replace(base, **kw)


def decide(reg: Registration):
    return decide_registration(reg, known_types=set(dispute_types()), today=TODAY, risk_policy=RiskPolicy())


def violations(reg: Registration) -> dict[str, str]:
    with pytest.raises(InvalidInput) as raised:
        decide(reg)
    return {v.field: v.reason for v in raised.value.violations}


def test_a_complete_registration_is_registered_with_normalised_ids():
    decision = decide(registration())
    assert decision.status is Status.REGISTERED
    assert [p.id_number for p in decision.parties] == ["11010519491231002X", "440524188001010014"]
    assert decision.parties[0].birth_sex == "female"  # sequence 002: even = female


def test_one_express_refusal_means_no_mediation_pml_art17():
    reg = registration(parties=(person(Side.APPLICANT),
                                person(Side.RESPONDENT, "440524188001010014", consent=Consent.REFUSED,
                                       routes_told=("litigation",))))
    assert decide(reg).status is Status.REFUSED


@pytest.mark.parametrize("change, field", [
    (dict(region_code="159999"), "region_code"),
    (dict(dispute_type="duel"), "dispute_type"),
    (dict(source=None), "source"),
    (dict(request_id=""), "request_id"),
    (dict(request_id="r-1"), "request_id"),
    (dict(request_id="0192f5a47c1e70008000000000000001"), "request_id"),
    (dict(facts=" "), "facts"),
    (dict(amount_fen=-1), "amount_in_dispute_fen"),
    (dict(parties=(person(Side.APPLICANT),)), "parties"),
    (dict(parties=(person(Side.APPLICANT, "11010519491231002Y"), person(Side.RESPONDENT))),
     "parties[0].id_document.number"),
    (dict(parties=(person(Side.APPLICANT, phone="12800138000"), person(Side.RESPONDENT))), "parties[0].phone"),
    (dict(parties=(person(Side.APPLICANT, consent=None), person(Side.RESPONDENT))), "parties[0].consent.decision"),
    (dict(parties=(person(Side.APPLICANT, disclosed_at=None), person(Side.RESPONDENT))),
     "parties[0].consent.disclosed_at"),
    (dict(parties=(person(Side.APPLICANT), person(Side.RESPONDENT, consent=Consent.REFUSED))),
     "parties[1].consent.routes_told"),
    (dict(parties=(person(Side.APPLICANT, id_type=IdType.NONE, id_number=""), person(Side.RESPONDENT))),
     "parties[0].no_id_reason"),
], ids=["unknown-region", "unknown-type", "no-source", "no-request-id", "request-id-not-uuid",
        "request-id-without-hyphens", "no-facts", "negative-amount",
        "missing-respondent", "bad-id-check", "bad-mobile", "no-consent", "no-disclosure", "refusal-without-routes",
        "no-id-without-reason"])
def test_each_fault_is_named_by_its_field(change, field):
    assert field in violations(registration(**change))


def test_every_fault_is_reported_at_once():
    found = violations(registration(region_code="159999", dispute_type="duel", facts=""))
    assert {"region_code", "dispute_type", "facts"} <= set(found)


def test_police_referral_needs_station_officer_and_incident_pml_art18():
    found = violations(registration(source=Source.POLICE_REFERRAL, referral=Referral(org_id="station-1")))
    assert set(found) >= {"police.officer_person_id", "police.incident_reference"}
    assert "police.station_org_id" not in found


def test_commissioned_case_needs_its_procedure_spc_invited_art27():
    found = violations(registration(source=Source.COURT_COMMISSION,
                                    referral=Referral(org_id="tribunal-1", reference="（2026）蒙0502民初1号")))
    assert "court.procedure" in found
    ok = registration(source=Source.COURT_COMMISSION, referral=Referral(
        org_id="tribunal-1", reference="（2026）蒙0502民初1号", procedure=Procedure.SIMPLIFIED))
    assert decide(ok).status is Status.REGISTERED


def test_online_application_needs_mobile_and_confirmed_service_address_spc_online_art8():
    reg = registration(source=Source.ONLINE, parties=(
        person(Side.APPLICANT, phone="", service_address="a@b.cn", service_address_confirmed=False),
        person(Side.RESPONDENT, service_address="c@d.cn", service_address_confirmed=True)))
    found = violations(reg)
    assert {"parties[0].phone", "parties[0].service_address_confirmed"} <= set(found)
    assert not any(f.startswith("parties[1]") for f in found)


def test_organization_party_with_pilot_credit_code_is_accepted_with_a_warning():
    org = PartyIn(kind=PartyKind.ORGANIZATION, side=Side.RESPONDENT, name="某物业公司",
                  credit_code="91310110666007217A", consent=Consent.GIVEN, disclosed_at=TOLD)
    decision = decide(registration(parties=(person(Side.APPLICANT), org)))
    assert decision.status is Status.REGISTERED
    assert any("parties[1].credit_code" in w for w in decision.warnings)


@pytest.mark.parametrize("factors, score, flagged", [
    (RiskFactors(), 0, False),
    (RiskFactors(threats_of_violence=True), 40, False),
    (RiskFactors(threats_of_violence=True, prior_incidents=1), 50, True),   # threshold reached exactly
    (RiskFactors(people_involved=9), 0, False),
    (RiskFactors(people_involved=30, repeat_petitions=2), 50, True),
    (RiskFactors(threats_of_violence=True, prior_incidents=9), 100, True),  # capped
])
def test_risk_score_is_the_sum_of_its_listed_reasons(factors, score, flagged):
    risk = assess_risk(factors, RiskPolicy())
    assert (risk.score, risk.flagged) == (score, flagged)
    assert sum(int(r.rsplit("+", 1)[1].rstrip(")")) for r in risk.reasons) >= score


# ---- channels ---------------------------------------------------------------------

def test_department_referral_needs_the_department_and_its_reference():
    found = violations(registration(source=Source.DEPARTMENT_REFERRAL,
                                    referral=Referral(kind=ReferralKind.DEPARTMENT, department_name=" ")))
    assert {"department.department_name", "department.reference"} <= set(found)
    ok = registration(source=Source.DEPARTMENT_REFERRAL, referral=Referral(
        kind=ReferralKind.DEPARTMENT, department_name="科尔沁区信访局", reference="信转〔2026〕17号"))
    assert decide(ok).status is Status.REGISTERED


@pytest.mark.parametrize("source, referral, field", [
    (Source.PARTY_APPLICATION, Referral(kind=ReferralKind.POLICE, org_id="s", person_id="o", reference="JQ1"),
     "police"),
    (Source.POLICE_REFERRAL, Referral(kind=ReferralKind.COURT, org_id="t", reference="（2026）蒙0502民诉前调1号"),
     "court"),
    (Source.COURT_DELEGATION, Referral(kind=ReferralKind.DEPARTMENT, department_name="信访局", reference="1"),
     "department"),
    (Source.COURT_DELEGATION, Referral(kind=ReferralKind.COURT, org_id="t", reference="（2026）蒙0502民诉前调1号",
                                       procedure=Procedure.ORDINARY), "court.procedure"),
], ids=["police-details-on-a-counter-application", "court-details-on-a-police-referral",
        "department-details-on-a-delegation", "procedure-on-a-delegation"])
def test_referral_details_must_fit_the_source(source, referral, field):
    assert field in violations(registration(source=source, referral=referral))


# ---- agents (代理人) -----------------------------------------------------------------

AGENT = AgentIn(name="李律师", id_type=IdType.RESIDENT_ID, id_number="440524188001010014", phone="13900139000",
                authority=AgentAuthority.GENERAL)


def with_agent(agent: AgentIn) -> Registration:
    return registration(parties=(person(Side.APPLICANT, agents=(agent,)),
                                 person(Side.RESPONDENT, "440524188001010014")))


def test_an_agent_is_checked_and_normalised_like_a_party():
    decision = decide(with_agent(replace(AGENT, phone="+86 139 0013 9000")))
    (agent,) = decision.parties[0].agents
    assert (agent.id_number, agent.phone) == ("440524188001010014", "13900139000")


@pytest.mark.parametrize("agent, field", [
    (replace(AGENT, name=""), "parties[0].agents[0].name"),
    (replace(AGENT, id_type=IdType.NONE, id_number=""), "parties[0].agents[0].id_document.type"),
    (replace(AGENT, id_type=None), "parties[0].agents[0].id_document.type"),
    (replace(AGENT, id_number="440524188001010015"), "parties[0].agents[0].id_document.number"),
    (replace(AGENT, phone="12345"), "parties[0].agents[0].phone"),
    (replace(AGENT, authority=None), "parties[0].agents[0].authority"),
    (replace(AGENT, authority=AgentAuthority.SPECIAL, scope=" "), "parties[0].agents[0].scope"),
], ids=["no-name", "no-id-document", "no-id-type", "bad-id-check", "bad-phone", "no-authority",
        "special-authority-without-scope"])
def test_each_agent_fault_is_named_by_its_field(agent, field):
    assert field in violations(with_agent(agent))


def test_special_authority_with_its_matters_and_a_foreign_agent_by_passport_are_accepted():
    special = replace(AGENT, authority=AgentAuthority.SPECIAL, scope="代为承认、放弃、变更请求，进行和解")
    passport = AgentIn(name="John Smith", id_type=IdType.PASSPORT, id_number="e1234567",
                       authority=AgentAuthority.GENERAL)
    reg = registration(parties=(person(Side.APPLICANT, agents=(special, passport)),
                                person(Side.RESPONDENT, "440524188001010014")))
    assert [a.id_number for a in decide(reg).parties[0].agents] == ["440524188001010014", "E1234567"]


# ---- duplicates and masking --------------------------------------------------------

def test_duplicate_key_is_the_type_and_the_set_of_party_ids():
    assert duplicate_key("neighbours", ["b", "a"]) == duplicate_key("neighbours", ["a", "b", "a"])
    assert duplicate_key("neighbours", ["a", "b"]) != duplicate_key("contract", ["a", "b"])
    assert duplicate_key("neighbours", ["a", "b"]) != duplicate_key("neighbours", ["a", "b", "c"])


@pytest.mark.parametrize("fingerprints", [[], ["a"], ["a", "a"], ["a", ""]],
                         ids=["none", "one", "one-twice", "one-and-no-id"])
def test_fewer_than_two_parties_with_an_id_never_make_a_duplicate(fingerprints):
    assert duplicate_key("neighbours", fingerprints) is None


@pytest.mark.parametrize("address, shown", [
    ("zhangsan@sd.example.cn", "zh***@sd.example.cn"),
    ("wx:zhangsan01", "wx***"),
    ("", ""),
])
def test_service_address_is_masked_in_views(address, shown):
    assert mask_address(address) == shown


# ---- bad input (issue 6): ranges that feed a rule, duplicates, bounded reasons ----------------

@pytest.mark.parametrize("factors, field", [
    (RiskFactors(threats_of_violence=True, prior_incidents=-4), "risk_factors.prior_incidents"),
    (RiskFactors(people_involved=-10), "risk_factors.people_involved"),
    (RiskFactors(people_involved=100_001), "risk_factors.people_involved"),
    (RiskFactors(repeat_petitions=2**31 - 1), "risk_factors.repeat_petitions"),
], ids=["negative-incidents-would-cancel-threats", "negative-people", "more-people-than-a-mass-incident",
        "int32-max-petitions"])
def test_risk_factors_out_of_range_are_refused_rather_than_scored(factors, field):
    assert field in violations(registration(risk=factors))


def test_risk_factors_at_their_bounds_are_scored():
    decision = decide(registration(risk=RiskFactors(prior_incidents=100, people_involved=100_000,
                                                    repeat_petitions=100)))
    assert decision.risk.score == 100 and decision.risk.flagged


@pytest.mark.parametrize("amount, accepted", [(10**14, True), (10**14 + 1, False), (2**63 - 1, False)])
def test_the_amount_in_dispute_has_an_upper_bound(amount, accepted):
    if accepted:
        assert decide(registration(amount_fen=amount)).status is Status.REGISTERED
    else:
        assert "amount_in_dispute_fen" in violations(registration(amount_fen=amount))


def test_the_same_person_twice_is_refused_naming_the_second():
    same = person(Side.RESPONDENT)   # the applicant's ID number
    found = violations(registration(parties=(person(Side.APPLICANT), same)))
    assert found == {"parties[1].id_document.number": "the same as parties[0]: each party is registered once"}


def test_parties_without_id_documents_are_not_taken_for_duplicates():
    none = dict(id_type=IdType.NONE, id_number="", no_id_reason="未携带身份证")
    reg = registration(parties=(person(Side.APPLICANT, **none), person(Side.RESPONDENT, **none)))
    assert decide(reg).status is Status.REGISTERED


def test_a_disclosure_after_the_registration_is_refused():
    later = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    reg = registration(parties=(person(Side.APPLICANT, disclosed_at=later),
                                person(Side.RESPONDENT, "440524188001010014")))
    with pytest.raises(InvalidInput) as raised:
        decide_registration(reg, known_types=set(dispute_types()), today=TODAY, risk_policy=RiskPolicy(),
                            now=datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
    assert [v.field for v in raised.value.violations] == ["parties[0].consent.disclosed_at"]


@pytest.mark.parametrize("code", ["15", "150000"])
def test_a_province_is_no_place_of_a_dispute(code):
    assert "not the province" in violations(registration(region_code=code))["region_code"]


def test_an_unknown_dispute_type_is_quoted_short():
    reason = violations(registration(dispute_type="x" * 100_000))["dispute_type"]
    assert len(reason) < 150 and "100000 characters" in reason
