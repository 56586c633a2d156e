"""The materials checklist (SPC-Interp Art.354, SPC-2011 Art.3), the court's supplement deadline,
deemed withdrawal (Art.357) and withdrawal before the ruling."""

from __future__ import annotations

import pytest

from services.confirmation.domain import application as appl
from services.confirmation.domain import rules
from services.confirmation.domain.commands import Accept, RequestSupplement, SubmitMaterials, Withdraw
from services.confirmation.domain.errors import (
    IllegalTransition,
    MaterialsMissing,
    NotAParty,
    NothingToSupplement,
    SupplementLate,
)
from services.confirmation.domain.materials import Material, MaterialItem, required_materials
from services.confirmation.domain.model import Applicant, Asks, Term
from services.confirmation.domain.ruling import Outcome
from services.confirmation.domain.states import Status
from services.confirmation.tests.builders import BOTH, CAL, PAY, accepted, agreement, at, filed, ruled

M = Material
PER_PARTY = (M.IDENTITY, M.DOMICILE, M.CONTACT)
CAR = Term(asks=Asks.THING, description="张三将车辆（蒙G12345）过户给李四", due_on=None)


def test_the_checklist_of_art354():
    required = required_materials(agreement(), BOTH)
    assert required == {
        MaterialItem(M.AGREEMENT), MaterialItem(M.PRESIDING_PROOF),
        *(MaterialItem(m, p) for p in ("p-zhang", "p-li") for m in PER_PARTY),
    }


def test_property_right_proof_for_each_term_that_transfers_a_thing_not_for_money():
    required = required_materials(agreement(terms=(PAY, CAR)), BOTH)
    assert [i for i in required if i.material is M.PROPERTY_RIGHT_PROOF] == [MaterialItem(M.PROPERTY_RIGHT_PROOF,
                                                                                          term_no=2)]


def test_an_agent_files_the_authorization():
    required = required_materials(agreement(), (Applicant("p-zhang", "agent-lawyer"), Applicant("p-li")))
    assert MaterialItem(M.AUTHORIZATION, "p-zhang") in required
    assert MaterialItem(M.AUTHORIZATION, "p-li") not in required


def _incomplete():
    agr = agreement()
    missing = {MaterialItem(M.PRESIDING_PROOF), MaterialItem(M.CONTACT, "p-li")}
    return filed(agr, submitted=required_materials(agr, BOTH) - missing, now=at("2026-06-01", 10))


def test_filed_with_something_missing_lists_it_and_cannot_be_accepted():
    app = _incomplete()
    assert [m.label for m in app.missing] == ["proof that the organization presided", "contact details of party p-li"]
    with pytest.raises(MaterialsMissing) as err:
        rules.decide_accept(app, Accept(judge_id="j", sequence=1), at("2026-06-02"), CAL)
    assert "contact details of party p-li" in str(err.value)


def test_supplement_deadline_then_deemed_withdrawn_the_day_after_it():
    app = _incomplete()
    asked = rules.decide_request_supplement(app, RequestSupplement(days=7), at("2026-06-02", 16), CAL)
    assert asked.items == app.missing and not asked.during_review
    assert asked.supplement_by.last_day.isoformat() == "2026-06-09"  # Tue 2 Jun + 7
    app = appl.evolve(app, asked)
    assert app.status is Status.AWAITING_SUPPLEMENT
    assert rules.decide_lapse(app, at("2026-06-09", 23, 59)) == ()
    (lapsed,) = rules.decide_lapse(app, at("2026-06-10", 0, 0))
    assert lapsed.deemed and lapsed.source == "SPC-Interp Art.357" and "2026-06-09" in lapsed.reason
    assert appl.evolve(app, lapsed).status is Status.WITHDRAWN


def test_a_supplement_deadline_ending_on_national_day_moves_to_the_next_working_day():
    app = _incomplete()
    asked = rules.decide_request_supplement(app, RequestSupplement(days=10), at("2026-09-21"), CAL)
    assert asked.supplement_by.last_day.isoformat() == "2026-10-08"


def test_supplemented_in_parts_then_complete_restarts_the_three_days():
    app = appl.evolve(_incomplete(), rules.decide_request_supplement(_incomplete(), RequestSupplement(days=7),
                                                                     at("2026-06-02"), CAL))
    part = rules.decide_submit(app, SubmitMaterials(items=frozenset({MaterialItem(M.PRESIDING_PROOF)})),
                               at("2026-06-04"), CAL)
    assert part.outstanding == (MaterialItem(M.CONTACT, "p-li"),) and part.accept_by is None
    app = appl.evolve(app, part)
    assert app.status is Status.AWAITING_SUPPLEMENT
    rest = rules.decide_submit(app, SubmitMaterials(items=frozenset({MaterialItem(M.CONTACT, "p-li")})),
                               at("2026-06-08"), CAL)
    app = appl.evolve(app, rest)
    assert app.status is Status.FILED and app.missing == ()
    assert app.accept_by.last_day.isoformat() == "2026-06-11"  # Mon 8 Jun + 3
    assert rules.decide_lapse(app, at("2026-06-20")) == ()


def test_materials_after_the_deadline_are_not_taken():
    app = appl.evolve(_incomplete(), rules.decide_request_supplement(_incomplete(), RequestSupplement(days=7),
                                                                     at("2026-06-02"), CAL))
    everything = SubmitMaterials(items=frozenset(app.missing))
    assert rules.decide_submit(app, everything, at("2026-06-09", 23, 59), CAL).outstanding == ()
    with pytest.raises(SupplementLate, match="2026-06-09"):
        rules.decide_submit(app, everything, at("2026-06-10", 0, 0), CAL)


def test_nothing_to_ask_for_when_nothing_is_missing():
    with pytest.raises(NothingToSupplement):
        rules.decide_request_supplement(filed(), RequestSupplement(days=7), at("2026-06-02"), CAL)


def test_review_supplement_art356_lapses_to_withdrawn_too():
    app = accepted()
    with pytest.raises(NothingToSupplement):
        rules.decide_request_supplement(app, RequestSupplement(days=5), at("2026-06-04"), CAL)
    asked = rules.decide_request_supplement(
        app, RequestSupplement(days=5, items=(MaterialItem(M.STATEMENT, "p-li"),)), at("2026-06-04"), CAL)
    assert asked.during_review
    app = appl.evolve(app, asked)
    assert app.status is Status.REVIEW_AWAITING_SUPPLEMENT
    (lapsed,) = rules.decide_lapse(app, at("2026-06-10", 0, 0))  # Thu 4 Jun + 5 = Tue 9 Jun
    assert appl.evolve(app, lapsed).status is Status.WITHDRAWN


def test_review_supplement_complete_returns_to_review_with_the_same_clock():
    app = accepted()
    before = app.decide_by
    app = appl.evolve(app, rules.decide_request_supplement(
        app, RequestSupplement(days=5, items=(MaterialItem(M.FURTHER_PROOF, "p-zhang"),)), at("2026-06-04"), CAL))
    app = appl.evolve(app, rules.decide_submit(
        app, SubmitMaterials(items=frozenset({MaterialItem(M.FURTHER_PROOF, "p-zhang")})), at("2026-06-05"), CAL))
    assert app.status is Status.ACCEPTED and app.decide_by == before


def test_while_waiting_for_review_supplement_the_judge_may_reject_but_not_confirm():
    app = accepted()
    app = appl.evolve(app, rules.decide_request_supplement(
        app, RequestSupplement(days=5, items=(MaterialItem(M.STATEMENT, "p-li"),)), at("2026-06-04"), CAL))
    with pytest.raises(IllegalTransition):
        ruled(app)
    from services.confirmation.domain.ruling import RejectionGround
    assert ruled(app, outcome=Outcome.REJECTED, ground=RejectionGround.UNCLEAR).status is Status.RULED_REJECTED


@pytest.mark.parametrize("stage", ["filed", "awaiting", "accepted"])
def test_either_party_may_withdraw_before_the_ruling(stage):
    app = {"filed": filed(), "accepted": accepted()}.get(stage) or appl.evolve(
        _incomplete(), rules.decide_request_supplement(_incomplete(), RequestSupplement(days=7), at("2026-06-02"), CAL))
    event = rules.decide_withdraw(app, Withdraw(party_id="p-li", reason="已自行履行"), at("2026-06-05"))
    assert not event.deemed and event.by_party_id == "p-li"
    assert appl.evolve(app, event).status is Status.WITHDRAWN


def test_no_withdrawal_after_the_ruling_and_none_by_a_stranger():
    with pytest.raises(IllegalTransition) as err:
        rules.decide_withdraw(ruled(), Withdraw(party_id="p-li"), at("2026-06-11"))
    assert (err.value.state, err.value.action.value) == (Status.RULED_VALID, "withdraw")
    with pytest.raises(NotAParty):
        rules.decide_withdraw(filed(), Withdraw(party_id="p-stranger"), at("2026-06-02"))
