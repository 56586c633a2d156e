"""Which courts may confirm (CPL 2023 Art.205, SPC-Interp Art.352; SPC-2011 Art.1-2).

The agreement of builders.agreement(): 张三 domiciled in Horqin (150502), 李四 in Kailu
(150523), the subject matter and the committee in Horqin's 大林镇 (150502100)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.confirmation.domain import application as appl
from services.confirmation.domain import events as ev
from services.confirmation.domain import rules
from services.confirmation.domain.commands import FileApplication
from services.confirmation.domain.errors import AlreadyApplied, NotCompetent
from services.confirmation.domain.jurisdiction import Connection, assess_jurisdiction, competent_courts
from services.confirmation.domain.model import Court, CourtLevel, DisputeLevel
from services.confirmation.domain.states import Status
from services.confirmation.tests.builders import (
    ALL_COURTS,
    BOTH,
    CAL,
    DALIN,
    HOHHOT_XINCHENG,
    HORQIN,
    INNER_MONGOLIA_HIGH,
    KAILU,
    LI,
    NAIMAN,
    TONGLIAO_INTERMEDIATE,
    ZHANG,
    accepted,
    agreement,
    at,
    complete,
    filed,
)


def test_basic_courts_of_a_domicile_the_subject_matter_or_the_committee_are_competent():
    agr = agreement()
    horqin = assess_jurisdiction(HORQIN, agr)
    assert {c for c, _ in horqin.connections} == {
        Connection.PARTY_DOMICILE, Connection.SUBJECT_MATTER, Connection.ORGANIZATION_SEAT}
    kailu = assess_jurisdiction(KAILU, agr)
    assert kailu.connections == ((Connection.PARTY_DOMICILE, "domicile of 李四"),)
    assert competent_courts(agr, ALL_COURTS) == (HORQIN, DALIN, KAILU)


def test_a_tribunal_is_competent_for_its_basic_court():
    assert assess_jurisdiction(DALIN, agreement()).competent


def test_a_tribunal_may_be_narrowed_to_its_townships():
    def tribunal(township: str) -> Court:
        return Court(court_id="tribunal-x", name="某法庭", region_code="150502", level=CourtLevel.BASIC,
                     basic_court=HORQIN, jurisdiction_regions=(township,))
    # 张三 now lives in Kailu; what remains in Horqin is the subject matter and the committee, in 大林镇.
    agr = agreement(parties=(replace(ZHANG, domicile_region="150523100"), LI))
    assert assess_jurisdiction(tribunal("150502100"), agr).competent
    assert not assess_jurisdiction(tribunal("150502001"), agr).competent


@pytest.mark.parametrize("court", [NAIMAN, HOHHOT_XINCHENG])
def test_a_court_with_no_connection_is_refused_with_the_reason(court):
    competence = assess_jurisdiction(court, agreement())
    assert not competence.competent
    assert "CPL 2023 Art.205 item 2" in competence.reason and court.name in competence.reason


def test_filing_at_a_court_without_jurisdiction_names_the_competent_ones():
    agr = agreement()
    cmd = FileApplication(application_id="a", agreement=agr, court=NAIMAN, applicants=BOTH,
                          submitted=complete(agr), known_courts=ALL_COURTS)
    with pytest.raises(NotCompetent) as err:
        rules.decide_file(cmd, (), at("2026-06-02"), CAL)
    assert err.value.rule == "confirmation.jurisdiction"
    assert HORQIN.name in str(err.value) and KAILU.name in str(err.value) and NAIMAN.name in str(err.value)


def test_an_intermediate_level_dispute_goes_to_the_intermediate_court_only():
    agr = agreement(level=DisputeLevel.INTERMEDIATE)
    assert competent_courts(agr, ALL_COURTS) == (TONGLIAO_INTERMEDIATE,)
    refused = assess_jurisdiction(HORQIN, agr)
    assert "intermediate court" in refused.reason


def test_a_basic_level_dispute_is_not_for_the_intermediate_or_high_court():
    for court in (TONGLIAO_INTERMEDIATE, INNER_MONGOLIA_HIGH):
        assert not assess_jurisdiction(court, agreement()).competent


def test_only_the_delegating_court_may_confirm_a_delegated_mediation():
    agr = agreement(delegating_court_id=KAILU.court_id)
    assert competent_courts(agr, ALL_COURTS) == (KAILU,)
    refused = assess_jurisdiction(HORQIN, agr)
    assert "delegated by court court-kailu" in refused.reason and "item 1" in refused.reason


def test_a_region_code_coarser_than_a_county_names_no_place():
    assert not HORQIN.covers("1505") and not HORQIN.covers(None) and HORQIN.covers("150502")


# ---- several courts: first to docket keeps it (SPC-Interp Art.352) ------------------------------


def test_the_same_agreement_may_be_filed_at_two_competent_courts():
    at_horqin = filed()
    at_kailu = filed(court=KAILU, application_id="app-2")
    assert at_horqin.status is at_kailu.status is Status.FILED


def test_the_court_that_dockets_first_keeps_the_application_and_the_others_close():
    at_horqin = filed(now=at("2026-06-02", 9))
    at_kailu = accepted(filed(court=KAILU, application_id="app-2", now=at("2026-06-02", 11)), now=at("2026-06-03", 9))
    closed = rules.decide_competition((at_horqin, at_kailu), at("2026-06-03", 9, 1))
    assert [(c.application_id, c.winner_application_id, c.winner_court_id) for c in closed] == [
        ("app-1", "app-2", KAILU.court_id)]
    assert "SPC-Interp Art.352" in closed[0].reason
    assert appl.evolve(at_horqin, closed[0]).status is Status.CLOSED


def test_when_both_courts_docketed_the_later_one_closes():
    early = accepted(filed(), now=at("2026-06-03", 9))
    late = accepted(filed(court=KAILU, application_id="app-2"), now=at("2026-06-03", 10))
    closed = rules.decide_competition((late, early), at("2026-06-03", 11))
    assert [c.application_id for c in closed] == ["app-2"]


def test_nothing_closes_while_no_court_has_docketed():
    assert rules.decide_competition((filed(), filed(court=KAILU, application_id="app-2")), at("2026-06-03")) == ()


def test_filing_again_after_a_court_docketed_is_refused():
    docketed = accepted()
    agr = docketed.agreement
    cmd = FileApplication(application_id="app-2", agreement=agr, court=KAILU, applicants=BOTH, submitted=complete(agr))
    with pytest.raises(AlreadyApplied) as err:
        rules.decide_file(cmd, (docketed,), at("2026-06-04"), CAL)
    assert "（2026）蒙0502民特1号" in str(err.value)


def test_filing_twice_at_the_same_court_is_refused_but_after_a_withdrawal_allowed():
    first = filed()
    agr = first.agreement
    cmd = FileApplication(application_id="app-2", agreement=agr, court=HORQIN, applicants=BOTH, submitted=complete(agr))
    with pytest.raises(AlreadyApplied):
        rules.decide_file(cmd, (first,), at("2026-06-03"), CAL)
    withdrawn = appl.evolve(first, ev.ApplicationWithdrawn(application_id="app-1", at=at("2026-06-03"),
                                                           by_party_id="p-li", deemed=False, reason="", source=""))
    assert rules.decide_file(cmd, (withdrawn,), at("2026-06-04"), CAL).application_id == "app-2"


def test_a_docketed_application_at_another_court_blocks_even_when_pending_here():
    # The store passes every application for the agreement; a docketed one wins over any pending.
    docketed = accepted(filed(court=KAILU, application_id="app-k"), now=at("2026-06-03"))
    cmd = FileApplication(application_id="app-h", agreement=docketed.agreement, court=HORQIN, applicants=BOTH)
    with pytest.raises(AlreadyApplied):
        rules.decide_file(cmd, (docketed,), at("2026-06-03", 12), CAL)


# ---- from mediation's event: the places it carries found the competence --------------------------


def _from_event(domiciles: tuple[str, str], subject_matter: str, referring_court: str = ""):
    from liandiao.common.v1 import common_pb2
    from liandiao.mediation.v1 import mediation_pb2 as m
    from services.confirmation.app import agreement_of, from_agreement_effective
    e = m.AgreementEffective(
        agreement_id="agr-e", dispute_id="0190f000-0000-7000-8000-000000000001", case_id="c", organization_id="org",
        region_code="150502", referring_court_id=referring_court, digest="00" * 32, dispute_type="contract",
        content=m.AgreementContent(
            subject_matter_region=subject_matter,
            parties=[m.AgreementParty(party_id="p-a", name="张三", side=common_pb2.PARTY_SIDE_APPLICANT,
                                      domicile_region=domiciles[0]),
                     m.AgreementParty(party_id="p-r", name="李四", side=common_pb2.PARTY_SIDE_RESPONDENT,
                                      domicile_region=domiciles[1])],
            terms=[m.Term(obligor_id="p-r", obligee_id="p-a", money=m.Money(amount_fen=100_000, currency="CNY"),
                          deadline="2026-07-01")]))
    e.effective_at.FromJsonString("2026-06-01T02:00:00Z")
    return agreement_of(from_agreement_effective(e))


@pytest.mark.parametrize("domiciles, subject_matter, court, link", [
    (("150502", "150523101"), "", KAILU, Connection.PARTY_DOMICILE),       # the respondent lives in Kailu
    (("150502", "150502"), "150525200", NAIMAN, Connection.SUBJECT_MATTER),  # the land lies in Naiman
    (("150523", "150525"), "", HORQIN, Connection.ORGANIZATION_SEAT),     # the committee sits in Horqin
])
def test_the_event_s_domiciles_and_subject_matter_make_a_court_competent(domiciles, subject_matter, court, link):
    competence = assess_jurisdiction(court, _from_event(domiciles, subject_matter))
    assert competence.competent and link in [c for c, _ in competence.connections]


def test_no_place_in_the_court_s_area_and_a_delegating_court_exclude_it():
    assert not assess_jurisdiction(NAIMAN, _from_event(("150502", "150523"), "")).competent
    assert not assess_jurisdiction(KAILU, _from_event(("150523", "150523"), "150523", referring_court="court-horqin")
                                   ).competent
