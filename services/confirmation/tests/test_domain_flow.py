"""One application from filing to ruling and objection through the pure decisions, and the
canonical ruling as a property: any document parses back to itself."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import date

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.confirmation.domain import application as appl
from services.confirmation.domain import events as ev
from services.confirmation.domain import rules
from services.confirmation.domain.commands import (
    Accept,
    Extend,
    FileApplication,
    Object,
    RequestSupplement,
    Rule,
    SubmitMaterials,
)
from services.confirmation.domain.materials import Material, MaterialItem, required_materials
from services.confirmation.domain.model import Applicant, Asks
from services.confirmation.domain.ruling import DocParty, DocTerm, Outcome, RejectionGround, parse_ruling, render_ruling
from services.confirmation.domain.states import Status
from services.confirmation.tests.builders import BOTH, CAL, HORQIN, accepted, agreement, at


def test_from_filing_through_supplement_extension_and_ruling_to_an_objection():
    agr = agreement(delegating_court_id=HORQIN.court_id)
    applicants = (Applicant("p-zhang", "agent-lawyer"), Applicant("p-li"))
    authorization = MaterialItem(Material.AUTHORIZATION, "p-zhang")
    submitted = required_materials(agr, applicants) - {authorization}
    filed = rules.decide_file(FileApplication(application_id="app-1", agreement=agr, court=HORQIN,
                                              applicants=applicants, submitted=submitted), (), at("2026-06-01"), CAL)
    assert filed.missing == (authorization,) and filed.proposed.admissible
    history: list[ev.Event] = [filed]
    app = appl.start(filed, agr, HORQIN, required_materials(agr, applicants))

    def step(event: ev.Event) -> None:
        nonlocal app
        history.append(event)
        app = appl.evolve(app, event)

    step(rules.decide_request_supplement(app, RequestSupplement(days=5), at("2026-06-02"), CAL))
    step(rules.decide_submit(app, SubmitMaterials(items=frozenset({authorization})), at("2026-06-03"), CAL))
    # Complete on Wed 3 Jun: the 3 days restart and end on Sat 6 Jun, a rest day, so Mon 8 Jun.
    assert app.status is Status.FILED and app.accept_by.last_day == date(2026, 6, 8)
    step(rules.decide_accept(app, Accept(judge_id="judge-1", sequence=42), at("2026-06-05"), CAL))
    assert app.case_number is not None and app.case_number.text == "（2026）蒙0502诉前调确42号"
    step(rules.decide_extend(app, Extend(approved_by="president-1", reason="需向调解组织核实"), at("2026-06-18"), CAL))
    (ruling,) = rules.decide_rule(app, Rule(ruling_id="rul-1", judge_id="judge-1", judge_name="审判员甲",
                                            outcome=Outcome.VALID, reasons="自愿合法"), at("2026-06-25"), CAL)
    step(ruling)
    assert not ruling.late and app.status is Status.RULED_VALID
    step(rules.decide_object(app, Object(objection_id="obj-1", objector="p-li", third_party=False, grounds="被胁迫",
                                         received_on=date(2026, 6, 26)), at("2026-07-01"), CAL))
    replayed = appl.start(filed, agr, HORQIN, required_materials(agr, applicants))
    for event in history[1:]:
        replayed = appl.evolve(replayed, event)
    assert replayed == app and app.objection_ids == ("obj-1",)


def test_filed_to_rejected_with_its_two_notices():
    agr = agreement()
    filed = rules.decide_file(FileApplication(application_id="app-9", agreement=agr, court=HORQIN, applicants=BOTH,
                                              submitted=required_materials(agr, BOTH)), (), at("2026-06-01"), CAL)
    app = appl.start(filed, agr, HORQIN, required_materials(agr, BOTH))
    app = appl.evolve(app, rules.decide_accept(app, Accept(judge_id="j", sequence=3), at("2026-06-02"), CAL))
    events = rules.decide_rule(app, Rule(ruling_id="r", judge_id="j", judge_name="审判员乙", outcome=Outcome.REJECTED,
                                         ground=RejectionGround.HARMS_OTHERS, reasons="损害案外人合法权益"),
                               at("2026-06-09"), CAL)
    assert [type(e).__name__ for e in events] == ["RulingIssued", "RejectionNotice", "RejectionNotice"]
    for event in events:
        app = appl.evolve(app, event)
    assert app.status is Status.RULED_REJECTED


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
_word = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(name=_text, description=_text, reasons=st.lists(_text, min_size=1, max_size=4), judge=_text,
       party_id=_word, amount=st.none() | st.integers(1, 10**12), rejected=st.booleans())
def test_any_ruling_document_parses_back_to_itself(name, description, reasons, judge, party_id, amount, rejected):
    base = _base_document()
    try:
        doc = replace(base, parties=(DocParty(base.parties[0].side, party_id, name), *base.parties[1:]),
                      terms=(DocTerm(Asks.PAYMENT, description, amount, None),), reasons="\n".join(reasons),
                      judge_name=judge, outcome=Outcome.REJECTED if rejected else Outcome.VALID,
                      ground=RejectionGround.OTHER if rejected else None)
    except ValueError:
        assume(False)  # text that is only whitespace: refused when built, as it should be
    content = render_ruling(doc)
    assert parse_ruling(content) == doc
    assert render_ruling(parse_ruling(content)) == content


@functools.cache
def _base_document():
    (issued,) = rules.decide_rule(accepted(), Rule(ruling_id="r", judge_id="j", judge_name="甲", outcome=Outcome.VALID,
                                                   reasons="理由"), at("2026-06-10"), CAL)
    return issued.document
