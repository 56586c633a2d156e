"""Intake's registration rules, table-driven, no I/O (DOMAIN.md §2, §8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from liandiao.errors import InvalidInput
from liandiao.reference import dispute_types
from services.intake.domain.model import (
    Consent,
    IdType,
    PartyIn,
    PartyKind,
    Procedure,
    Referral,
    Registration,
    RiskFactors,
    Side,
    Source,
    Status,
)
from services.intake.domain.rules import RiskPolicy, assess_risk, decide_registration

TODAY = date(2026, 11, 23)
TOLD = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def person(side: Side, id_number: str = "11010519491231002X", **kw) -> PartyIn:
    base = PartyIn(kind=PartyKind.PERSON, side=side, name="王建国", phone="13800138000",
                   id_type=IdType.RESIDENT_ID, id_number=id_number, consent=Consent.GIVEN, disclosed_at=TOLD)
    return replace(base, **kw)


def registration(**kw) -> Registration:
    base = Registration(
        request_id="r-1", region_code="150502", dispute_type="neighbours", source=Source.PARTY_APPLICATION,
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
], ids=["unknown-region", "unknown-type", "no-source", "no-request-id", "no-facts", "negative-amount",
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
