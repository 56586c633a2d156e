"""The ruling: outcome and ground (CPL 2023 Art.206, SPC-Interp Art.358), rejection notices
(SPC-2011 Art.12), the canonical document, objection windows (SPC-Interp Art.372) and the
enforcement deadline (CPL 2023 Art.250)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import date

import pytest

from services.confirmation.domain import application as appl
from services.confirmation.domain import events as ev
from services.confirmation.domain import rules
from services.confirmation.domain.commands import Object, Rule
from services.confirmation.domain.errors import (
    GroundRequired,
    IllegalTransition,
    InvalidObjection,
    NotAParty,
    ObjectionOutOfTime,
    ReasonsRequired,
)
from services.confirmation.domain.model import Asks, Term
from services.confirmation.domain.remedies import (
    enforcement_deadline,
    enforcement_start,
    objection_in_time,
    party_objection_window,
    third_party_objection_window,
)
from services.confirmation.domain.ruling import (
    InvalidRulingDocument,
    Outcome,
    RejectionGround,
    RulingDocument,
    SignedRuling,
    parse_ruling,
    render_ruling,
    sign_ruling,
    verify_ruling,
)
from services.confirmation.domain.states import Status
from services.confirmation.tests.builders import CAL, COMMITTEE, PAY, accepted, at, filed, ruled


def _rule(outcome=Outcome.VALID, ground=None, reasons="双方自愿达成协议，内容不违反法律规定。"):
    return Rule(ruling_id="rul-1", judge_id="judge-1", judge_name="审判员甲", outcome=outcome, ground=ground,
                reasons=reasons)


# ---- outcome ------------------------------------------------------------------------------------


def test_a_valid_ruling_carries_the_case_number_and_the_enforcement_deadline():
    app = accepted(now=at("2026-06-03"))
    (issued,) = rules.decide_rule(app, _rule(), at("2026-06-10"), CAL)
    assert isinstance(issued, ev.RulingIssued)
    assert (issued.outcome, issued.ground, issued.case_number.text) == (Outcome.VALID, None, "（2026）蒙0502民特1号")
    assert issued.document_digest == ""  # filled in by the signing layer
    # The agreement's payment is due 30 Jun 2026: two years from then, Fri 30 Jun 2028 (provisional).
    assert issued.enforcement_by is not None
    assert issued.enforcement_by.last_day == date(2028, 6, 30) and issued.enforcement_by.provisional
    assert issued.enforcement_by.period.source == "CPL 2023 Art.250"
    assert appl.evolve(app, issued).status is Status.RULED_VALID


@pytest.mark.parametrize("ground", list(RejectionGround))
def test_a_rejection_on_each_ground_notifies_the_administration_and_the_committee(ground):
    app = accepted()
    issued, *notices = rules.decide_rule(app, _rule(Outcome.REJECTED, ground, "协议内容违反自愿原则"), at("2026-06-10"), CAL)
    assert (issued.outcome, issued.ground, issued.enforcement_by) == (Outcome.REJECTED, ground, None)
    assert [(n.recipient, n.recipient_ref, n.ground) for n in notices] == [
        (ev.NoticeRecipient.JUDICIAL_ADMINISTRATION, "150502", ground),
        (ev.NoticeRecipient.MEDIATION_COMMITTEE, COMMITTEE.organization_id, ground),
    ]
    assert appl.evolve(app, issued).status is Status.RULED_REJECTED


def test_the_judge_picks_a_ground_for_a_rejection_and_writes_reasons():
    app = accepted()
    with pytest.raises(GroundRequired):
        rules.decide_rule(app, _rule(Outcome.REJECTED), at("2026-06-10"), CAL)
    with pytest.raises(GroundRequired):
        rules.decide_rule(app, _rule(Outcome.VALID, RejectionGround.UNCLEAR), at("2026-06-10"), CAL)
    with pytest.raises(ReasonsRequired):
        rules.decide_rule(app, _rule(Outcome.REJECTED, RejectionGround.UNCLEAR, reasons=" \n "), at("2026-06-10"), CAL)


def test_no_ruling_before_acceptance():
    with pytest.raises(IllegalTransition):
        rules.decide_rule(filed(), _rule(), at("2026-06-03"), CAL)


# ---- the canonical document ----------------------------------------------------------------------


def _document(**changes) -> RulingDocument:
    (issued,) = rules.decide_rule(accepted(), _rule(), at("2026-06-10"), CAL)
    return replace(issued.document, **changes)


def test_the_canonical_form_reads_as_a_ruling():
    text = render_ruling(_document()).decode("utf-8")
    assert text.splitlines()[:4] == ["民事裁定书", "版式：liandiao-ruling/1", "法院：通辽市科尔沁区人民法院",
                                     "法院标识：court-horqin"]
    assert "案号：（2026）蒙0502民特1号\n" in text
    assert "  - 甲方 p-zhang 张三\n  - 乙方 p-li 李四\n" in text
    assert "  - 1 给付金钱 500000 2026-06-30 李四向张三支付赔偿款五千元\n" in text
    assert "裁定结果：确认调解协议有效\n驳回依据：-\n" in text
    assert "法律依据：《中华人民共和国民事诉讼法》第二百零六条\n" in text
    assert text.endswith("裁定日期：2026-06-10\n")


def test_a_rejection_cites_its_item():
    doc = _document(outcome=Outcome.REJECTED, ground=RejectionGround.NOT_VOLUNTARY)
    text = render_ruling(doc).decode("utf-8")
    assert "驳回依据：art358_4 违反自愿原则\n" in text
    assert "第三百五十八条第四项" in text and "驳回申请" in text


def test_rendering_is_deterministic_and_normalizes_text():
    plain = _document(reasons="第一行\n第二行", judge_name="审判员甲")
    messy = _document(reasons="  第一行  \r\n\n\t第二行\n\n", judge_name=" 审判员甲 ")
    assert plain == messy and render_ruling(plain) == render_ruling(messy)
    decomposed = _document(court_name="Cafe\u0301 court")  # NFD e + combining acute
    assert render_ruling(decomposed) == render_ruling(_document(court_name="Caf\u00e9 court"))


def test_parse_inverts_render_even_for_awkward_text():
    doc = _document(reasons="理由：第一点\n  - 不是条目\n法院：不是字段", judge_name="Ma  Li - 法官")
    content = render_ruling(doc)
    assert parse_ruling(content) == doc
    assert render_ruling(parse_ruling(content)) == content


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b.replace(b"500000", b"900000"),  # changed amount: still canonical, different
        lambda b: b.replace("确认调解协议有效".encode(), "驳回申请".encode()),  # outcome without a ground
        lambda b: b.replace("裁定日期".encode(), "日期".encode()),
        lambda b: b + b"extra\n",
        lambda b: b[:-1],
        lambda b: b.replace(b"\n", b"\r\n"),
        lambda b: b.replace(b"liandiao-ruling/1", b"liandiao-ruling/2"),
        lambda b: b.replace("张三\n".encode(), "张三 \n".encode()),
        lambda b: b"\xff" + b,
    ],
)
def test_parse_refuses_or_reads_differently_any_change(tamper):
    original = render_ruling(_document())
    changed = tamper(original)
    assert changed != original
    try:
        parsed = parse_ruling(changed)
    except InvalidRulingDocument:
        return
    assert parsed != parse_ruling(original)


def test_a_document_is_checked_when_built():
    with pytest.raises(ValueError, match="ground"):
        _document(outcome=Outcome.REJECTED)
    with pytest.raises(ValueError, match="one word"):
        _document(case_number="（2026） 蒙0502民特1号")
    with pytest.raises(ValueError, match="reasons"):
        _document(reasons="\n\n")


class _FakeSigner:
    """Stands in for liandiao.signing (an HMAC, not SM2): the domain only needs the shape."""

    def __init__(self, key: bytes, key_id: str) -> None:
        self._key, self._key_id = key, key_id

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verify(self, message: bytes, signature: bytes, key_id: str) -> bool:
        return key_id == self._key_id and hmac.compare_digest(self.sign(message), signature)


def test_a_signed_ruling_verifies_and_one_changed_character_does_not():
    signer = _FakeSigner(b"court-key", "horqin-2026-1")
    signed = sign_ruling(_document(), signer)
    assert signed.key_id == "horqin-2026-1" and signed.content == render_ruling(_document())
    assert verify_ruling(signed, signer) == _document()
    tampered = SignedRuling(signed.content.replace("张三".encode(), "张王".encode()), signed.key_id, signed.signature)
    assert verify_ruling(tampered, signer) is None
    assert verify_ruling(SignedRuling(signed.content, "other-key", signed.signature), signer) is None


# ---- objections: day 15 in time, day 16 late (SPC-Interp Art.372) ------------------------------


def _ruled_on_5_june():
    return ruled(accepted(now=at("2026-06-02")), now=at("2026-06-05"))


def test_party_objection_window_day_15_vs_16():
    window = party_objection_window(date(2026, 6, 8), CAL)  # received Mon 8 Jun
    assert window.last_day == date(2026, 6, 23)
    assert objection_in_time(window, at("2026-06-23", 23, 59)) and not objection_in_time(window, at("2026-06-24", 0))
    app = _ruled_on_5_june()
    cmd = Object(objection_id="obj-1", objector="p-li", third_party=False, grounds="非本人真实意思",
                 received_on=date(2026, 6, 8))
    filed_objection = rules.decide_object(app, cmd, at("2026-06-23", 23, 59), CAL)
    assert filed_objection.window.last_day == date(2026, 6, 23)
    assert appl.evolve(app, filed_objection).objection_ids == ("obj-1",)
    with pytest.raises(ObjectionOutOfTime, match="2026-06-23"):
        rules.decide_object(app, cmd, at("2026-06-24", 0), CAL)


def test_party_objection_window_ending_in_national_day():
    assert party_objection_window(date(2026, 9, 16), CAL).last_day == date(2026, 10, 8)


def test_third_party_objection_six_months_from_knowing():
    window = third_party_objection_window(date(2026, 6, 8), CAL)
    assert window.last_day == date(2026, 12, 8)
    app = _ruled_on_5_june()
    cmd = Object(objection_id="obj-2", objector="债权人王五", third_party=True, grounds="恶意串通转移财产",
                 knew_on=date(2026, 6, 8))
    assert rules.decide_object(app, cmd, at("2026-12-08", 18), CAL).third_party
    with pytest.raises(ObjectionOutOfTime):
        rules.decide_object(app, cmd, at("2026-12-09", 0), CAL)


def test_who_objects_and_from_when():
    app = _ruled_on_5_june()
    with pytest.raises(NotAParty):
        rules.decide_object(app, Object(objection_id="o", objector="王五", third_party=False, grounds="g",
                                        received_on=date(2026, 6, 8)), at("2026-06-09"), CAL)
    with pytest.raises(InvalidObjection, match="a party objects as a party"):
        rules.decide_object(app, Object(objection_id="o", objector="p-li", third_party=True, grounds="g",
                                        knew_on=date(2026, 6, 8)), at("2026-06-09"), CAL)
    with pytest.raises(InvalidObjection, match="received"):
        rules.decide_object(app, Object(objection_id="o", objector="p-li", third_party=False, grounds="g"),
                            at("2026-06-09"), CAL)
    with pytest.raises(InvalidObjection, match="issued on 2026-06-05"):
        rules.decide_object(app, Object(objection_id="o", objector="p-li", third_party=False, grounds="g",
                                        received_on=date(2026, 6, 4)), at("2026-06-09"), CAL)
    with pytest.raises(ReasonsRequired):
        rules.decide_object(app, Object(objection_id="o", objector="p-li", third_party=False, grounds=" ",
                                        received_on=date(2026, 6, 8)), at("2026-06-09"), CAL)
    with pytest.raises(IllegalTransition):
        rules.decide_object(accepted(), Object(objection_id="o", objector="p-li", third_party=False, grounds="g",
                                               received_on=date(2026, 6, 8)), at("2026-06-09"), CAL)


# ---- enforcement: 2 years (CPL 2023 Art.250) ----------------------------------------------------


def test_enforcement_runs_from_the_last_instalment_or_from_the_ruling():
    first = replace(PAY, due_on=date(2026, 7, 31))
    last = replace(PAY, due_on=date(2026, 12, 31))
    assert enforcement_start((first, last), at("2026-06-10")) == date(2026, 12, 31)
    apology = Term(asks=Asks.ACT, description="赔礼道歉")
    assert enforcement_start((apology,), at("2026-06-10")) == date(2026, 6, 10)
    assert enforcement_start((replace(PAY, due_on=date(2026, 5, 1)),), at("2026-06-10")) == date(2026, 6, 10)


def test_enforcement_deadline_rolls_past_a_rest_day_where_the_calendar_is_known():
    # 3 Oct 2024 + 2 years = Sat 3 Oct 2026, National Day: Thu 8 Oct (both years loaded, not provisional).
    got = enforcement_deadline((), date(2024, 10, 3), CAL)
    assert (got.last_day, got.provisional) == (date(2026, 10, 8), False)


def test_the_ruled_state_keeps_the_outcome():
    done = ruled(accepted(), outcome=Outcome.REJECTED, ground=RejectionGround.PUBLIC_ORDER)
    assert done.ruling is not None and (done.ruling.outcome, done.ruling.ground) == (
        Outcome.REJECTED, RejectionGround.PUBLIC_ORDER)
