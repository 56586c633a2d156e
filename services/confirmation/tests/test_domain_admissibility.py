"""Admissibility from what the terms ask (SPC-Interp Art.355), and the judge's override."""

from __future__ import annotations

import pytest

from services.confirmation.domain import application as appl
from services.confirmation.domain import rules
from services.confirmation.domain.admissibility import (
    InadmissibleGround,
    assess_admissibility,
    decide_admission,
)
from services.confirmation.domain.commands import Accept, Refuse
from services.confirmation.domain.errors import GroundRequired, OverrideWithoutReason, ReasonsRequired
from services.confirmation.domain.events import RefusalAdvice
from services.confirmation.domain.model import (
    Asks,
    OwnershipObject,
    SpecialMatter,
    StatusRelation,
    Term,
)
from services.confirmation.domain.states import Status
from services.confirmation.tests.builders import CAL, HORQIN, NAIMAN, agreement, at, filed

G = InadmissibleGround
SUPPORT = Term(asks=Asks.PAYMENT, description="李四每月支付子女抚养费一千五百元至其年满十八周岁",
               amount_fen=150_000, obligor_party_id="p-li", obligee_party_id="p-zhang")
VISITS = Term(asks=Asks.ACT, description="张三每月两次探望子女")
DIVORCE = Term(asks=Asks.STATUS, relation=StatusRelation.MARRIAGE, description="张三与李四自愿离婚")


def _family(*terms: Term):
    return agreement(dispute_type="婚姻家庭", terms=terms)


def test_a_family_dispute_about_support_payments_is_admissible():
    proposed = assess_admissibility(_family(SUPPORT, VISITS), HORQIN)
    assert proposed.admissible and proposed.findings == ()


def test_a_family_dispute_that_declares_a_divorce_is_not():
    proposed = assess_admissibility(_family(SUPPORT, DIVORCE), HORQIN)
    assert not proposed.admissible
    (finding,) = proposed.findings
    assert (finding.ground, finding.term_no) == (G.IDENTITY_RELATIONSHIP, 2)
    assert "marriage" in finding.reason
    assert finding.ground.citation == "SPC-Interp Art.355 item 3"


@pytest.mark.parametrize(
    ("term", "ground"),
    [
        (Term(asks=Asks.STATUS, relation=StatusRelation.PARENT_CHILD, description="确认亲子关系"),
         G.IDENTITY_RELATIONSHIP),
        (Term(asks=Asks.STATUS, relation=StatusRelation.ADOPTION, description="解除收养关系"), G.IDENTITY_RELATIONSHIP),
        (Term(asks=Asks.OWNERSHIP, ownership_of=OwnershipObject.PROPERTY, description="确认房屋归张三所有"),
         G.OWNERSHIP),
        (Term(asks=Asks.OWNERSHIP, ownership_of=OwnershipObject.INTELLECTUAL_PROPERTY, description="确认专利权归属"),
         G.OWNERSHIP),
        (Term(asks=Asks.SPECIAL_PROCEDURE, matter=SpecialMatter.BANKRUPTCY, description="宣告破产"),
         G.OTHER_PROCEDURE),
        (Term(asks=Asks.SPECIAL_PROCEDURE, matter=SpecialMatter.PUBLIC_SUMMONS, description="公示催告"),
         G.OTHER_PROCEDURE),
        (Term(asks=Asks.NON_CIVIL, description="撤销行政处罚"), G.OUTSIDE_REMIT),
    ],
)
def test_each_art355_ground_from_the_terms(term, ground):
    assert assess_admissibility(agreement(terms=(term,)), HORQIN).grounds == {ground}


def test_payments_acts_and_things_are_admissible():
    thing = Term(asks=Asks.THING, description="交付耕牛两头")
    assert assess_admissibility(agreement(terms=(SUPPORT, VISITS, thing)), HORQIN).admissible


def test_a_court_without_jurisdiction_is_an_art355_item2_ground():
    proposed = assess_admissibility(agreement(), NAIMAN)
    assert proposed.grounds == {G.NOT_THIS_COURT}
    assert proposed.findings[0].term_no == 0


def test_term_qualifiers_belong_to_their_kind():
    with pytest.raises(ValueError, match="needs relation"):
        Term(asks=Asks.STATUS, description="离婚")
    with pytest.raises(ValueError, match="belongs to a payment term"):
        Term(asks=Asks.ACT, description="道歉", amount_fen=100)
    with pytest.raises(ValueError, match="positive"):
        Term(asks=Asks.PAYMENT, description="支付", amount_fen=0)


# ---- the judge's decision ----------------------------------------------------------------------


def test_accepting_what_is_proposed_needs_no_reason():
    decision = decide_admission(assess_admissibility(agreement(), HORQIN), accept=True)
    assert decision.accept and not decision.overridden


def test_accepting_against_the_proposal_needs_a_recorded_reason():
    proposed = assess_admissibility(_family(DIVORCE), HORQIN)
    with pytest.raises(OverrideWithoutReason) as err:
        decide_admission(proposed, accept=True, override_reason="  ")
    assert err.value.rule == "confirmation.admissibility-override"
    decision = decide_admission(proposed, accept=True, override_reason="条款实为财产分割，身份关系已由民政部门登记解除")
    assert decision.overridden and decision.proposed is proposed


def test_refusing_on_the_proposed_grounds_is_no_override():
    proposed = assess_admissibility(_family(DIVORCE), HORQIN)
    decision = decide_admission(proposed, accept=False, grounds=(G.IDENTITY_RELATIONSHIP,), reasons="涉及解除婚姻关系")
    assert not decision.accept and not decision.overridden and decision.grounds == {G.IDENTITY_RELATIONSHIP}


def test_refusing_an_admissible_application_needs_a_ground_reasons_and_an_override_reason():
    proposed = assess_admissibility(agreement(), HORQIN)
    with pytest.raises(GroundRequired):
        decide_admission(proposed, accept=False, reasons="不予受理")
    with pytest.raises(ReasonsRequired):
        decide_admission(proposed, accept=False, grounds=(G.OUTSIDE_REMIT,))
    with pytest.raises(OverrideWithoutReason):
        decide_admission(proposed, accept=False, grounds=(G.OUTSIDE_REMIT,), reasons="不属于民事案件")
    decision = decide_admission(proposed, accept=False, grounds=(G.OUTSIDE_REMIT,), reasons="不属于民事案件",
                                override_reason="协议实为行政争议")
    assert decision.overridden


def test_an_acceptance_names_no_refusal_ground():
    with pytest.raises(GroundRequired):
        decide_admission(assess_admissibility(agreement(), HORQIN), accept=True, grounds=(G.OWNERSHIP,))


def test_the_accept_and_refuse_events_record_proposal_and_override():
    app = filed(_family(DIVORCE))
    with pytest.raises(OverrideWithoutReason):
        rules.decide_accept(app, Accept(judge_id="j", sequence=1), at("2026-06-03"), CAL)
    refused = rules.decide_refuse(app, Refuse(judge_id="j", grounds=(G.IDENTITY_RELATIONSHIP,), reasons="离婚不予确认"),
                                  at("2026-06-03"))
    assert refused.decision.proposed.grounds == {G.IDENTITY_RELATIONSHIP} and not refused.decision.overridden
    assert "sue" in refused.advice and not refused.late
    assert refused.advice_code is RefusalAdvice.MEDIATE_AGAIN_OR_SUE
    assert appl.evolve(app, refused).status is Status.REFUSED


def test_a_refusal_for_jurisdiction_advises_a_competent_court():
    app = filed()
    refused = rules.decide_refuse(app, Refuse(judge_id="j", grounds=(G.NOT_THIS_COURT,), reasons="管辖",
                                              override_reason="当事人住所地有误"), at("2026-06-03"))
    assert "competent court" in refused.advice
    assert refused.advice_code is RefusalAdvice.APPLY_TO_COMPETENT_COURT
