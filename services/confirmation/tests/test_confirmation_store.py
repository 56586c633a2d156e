"""Confirmation against the real PostgreSQL: a joint application filed, accepted with a case
number drawn safely, ruled and signed; refusals; the supplement deadline; who sees what.
The clock is set, never read from the machine."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import replace

import pytest

from liandiao.auth import Claims, Role
from liandiao.errors import NotFound, PermissionDenied, RuleViolation
from liandiao.signing import sm3_digest
from services.confirmation import verify
from services.confirmation.app import Confirmation
from services.confirmation.domain.admissibility import InadmissibleGround
from services.confirmation.domain.model import Applicant
from services.confirmation.domain.ruling import Outcome
from services.confirmation.keys import DEV_DIR, load_court_keys
from services.confirmation.tests.stack_builders import (
    COMMITTEE_CLERK,
    DALIN_JUDGE,
    HORQIN_JUDGE,
    KAILU_JUDGE,
    OPERATOR,
    Clock,
    agreement,
    both,
    cst,
    everything,
    seed_courts,
)

pytestmark = pytest.mark.stack


@pytest.fixture
def confirmation(service_pool, tmp_path):
    async def make(clock: Clock) -> tuple[Confirmation, object]:
        cm = service_pool("confirmation")
        pool = await cm.__aenter__()
        c = Confirmation(pool, load_court_keys({DEV_DIR: str(tmp_path / "keys")}, "development"), clock=clock)
        async with pool.acquire() as conn:
            await seed_courts(conn)
        return c, cm
    return make


async def _record(c: Confirmation, a) -> None:
    async with c.pool.acquire() as conn, conn.transaction():
        await c.record_agreement(conn, a, c.clock())


async def test_joint_application_accepted_ruled_valid_signed_and_verified(confirmation, tmp_path):
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a = agreement(cst(2026, 6, 1, 9))
        await _record(c, a)
        filed = await c.apply(a.agreement_id, "tribunal-dalin", both(a), everything(a), COMMITTEE_CLERK)
        assert filed.app.status.value == "filed" and filed.app.missing == ()
        clock.now = cst(2026, 6, 4)
        accepted = await c.accept(filed.app.application_id, "", "", DALIN_JUDGE)
        # A tribunal numbers under its basic court's code: 科尔沁区 is 蒙0502.
        assert re.fullmatch(r"（2026）蒙0502民特\d+号", accepted.app.case_number.text)
        # The basic court sees its tribunal's application; another court does not.
        assert (await c.get(filed.app.application_id, HORQIN_JUDGE)).app.application_id == filed.app.application_id
        with pytest.raises(NotFound):
            await c.get(filed.app.application_id, KAILU_JUDGE)
        with pytest.raises(PermissionDenied):
            await c.rule(filed.app.application_id, Outcome.VALID, None, "x", COMMITTEE_CLERK)
        clock.now = cst(2026, 6, 10)
        ruling = await c.rule(filed.app.application_id, Outcome.VALID, None, "协议系双方自愿达成，内容合法。", DALIN_JUDGE)
        document = bytes(ruling["document"])
        assert "确认调解协议有效" in document.decode() and accepted.app.case_number.text in document.decode()

        genuine, reason, _ = await c.verify(ruling["case_number"], sm3_digest(document), b"")
        assert genuine, reason
        tampered = document.replace("五千元".encode(), "五万元".encode())
        genuine, reason, _ = await c.verify(ruling["case_number"], sm3_digest(tampered), b"")
        assert not genuine and "differs" in reason

        # Offline: the file and the court's public key, nothing else.
        ring = json.loads((tmp_path / "keys" / "keys.json").read_text())
        public = next(k["public_key"] for k in ring["keys"] if k["organization_id"] == "court-horqin")
        (tmp_path / "court.pub").write_text(public)
        (tmp_path / "ruling.json").write_text(verify.signed_ruling_file(document, ruling["key_id"],
                                                                          bytes(ruling["signature"])))
        assert verify.main([str(tmp_path / "ruling.json"), "--public-key", str(tmp_path / "court.pub")]) == 0
        (tmp_path / "bad.json").write_text(verify.signed_ruling_file(tampered, ruling["key_id"],
                                                                       bytes(ruling["signature"])))
        assert verify.main([str(tmp_path / "bad.json"), "--public-key", str(tmp_path / "court.pub")]) == 1
    finally:
        await cm.__aexit__(None, None, None)


async def test_day_31_and_one_party_are_refused_with_the_advice_to_sue_and_nothing_filed(confirmation):
    clock = Clock(cst(2026, 7, 3))  # 30 days from 2026-06-01 ended 2026-07-01
    c, cm = await confirmation(clock)
    try:
        a = agreement(cst(2026, 6, 1, 9))
        await _record(c, a)
        with pytest.raises(RuleViolation, match="30 days to apply ended on 2026-07-01.*may instead sue"):
            await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
        clock.now = cst(2026, 6, 5)
        with pytest.raises(RuleViolation, match="not a joint application.*李四.*may instead sue"):
            await c.apply(a.agreement_id, "court-horqin", [Applicant(a.parties[0].party_id)], everything(a),
                          COMMITTEE_CLERK)
        seen = await c.list("", [], 200, 0, OPERATOR)
        assert all(v.app.agreement.agreement_id != a.agreement_id for v in seen)
    finally:
        await cm.__aexit__(None, None, None)


async def test_a_marriage_term_is_proposed_inadmissible_and_refused_with_advice(confirmation):
    from liandiao.confirmation.v1 import confirmation_pb2 as pb
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a = agreement(cst(2026, 6, 1, 9), terms=[pb.AgreementTerm(asks="status", description="双方解除婚姻关系",
                                                                  relation="marriage")])
        await _record(c, a)
        filed = await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
        from services.confirmation.domain.rules import proposed_admissibility
        assert InadmissibleGround.IDENTITY_RELATIONSHIP in proposed_admissibility(filed.app).grounds
        with pytest.raises(RuleViolation, match="proposed decision is to refuse"):
            await c.accept(filed.app.application_id, "", "", HORQIN_JUDGE)
        refused = await c.refuse(filed.app.application_id, [InadmissibleGround.IDENTITY_RELATIONSHIP],
                                 "婚姻关系不属于司法确认范围", "", HORQIN_JUDGE)
        assert refused.app.status.value == "refused"
        assert "may instead sue" in refused.refusal["advice"]
    finally:
        await cm.__aexit__(None, None, None)


async def test_case_numbers_are_gapless_and_distinct_under_concurrent_acceptances(confirmation):
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        ids = []
        for _ in range(6):
            a = agreement(cst(2026, 6, 1, 9))
            await _record(c, a)
            ids.append((await c.apply(a.agreement_id, "court-kailu", both(a),
                                      everything(a), COMMITTEE_CLERK)).app.application_id)
        views = await asyncio.gather(*(c.accept(i, "", "", KAILU_JUDGE) for i in ids))
        numbers = sorted(v.app.case_number.sequence for v in views)
        assert len(set(numbers)) == 6 and numbers == list(range(numbers[0], numbers[0] + 6))
        assert {v.app.case_number.court_code for v in views} == {"蒙0523"}
    finally:
        await cm.__aexit__(None, None, None)


async def test_materials_not_supplemented_by_the_deadline_withdraw_the_application(confirmation):
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a = agreement(cst(2026, 6, 1, 9))
        await _record(c, a)
        some = everything(a)[:2]
        filed = await c.apply(a.agreement_id, "court-horqin", both(a), some, COMMITTEE_CLERK)
        assert filed.app.missing
        with pytest.raises(RuleViolation, match="materials missing"):
            await c.accept(filed.app.application_id, "", "", HORQIN_JUDGE)
        asked = await c.request_supplement(filed.app.application_id, 5, [], HORQIN_JUDGE)
        assert asked.app.status.value == "awaiting_supplement"
        clock.now = cst(2026, 6, 9)  # 5 days from 06-03 end 06-08
        assert await c.sweep() >= 1
        after = await c.get(filed.app.application_id, OPERATOR)
        assert after.app.status.value == "withdrawn"
        assert "not supplemented by 2026-06-08" in after.withdrawal_reason
        # Another replica's sweep finds nothing left to do.
        assert await c.sweep() == 0
    finally:
        await cm.__aexit__(None, None, None)


async def test_the_list_shows_each_caller_only_what_it_may_see(confirmation):
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a, b = agreement(cst(2026, 6, 1, 9)), agreement(cst(2026, 6, 1, 9))
        await _record(c, a)
        await _record(c, b)
        x = await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
        y = await c.apply(b.agreement_id, "court-kailu", both(b), everything(b), COMMITTEE_CLERK)
        kailu = {v.app.application_id for v in await c.list("", [], 200, 0, KAILU_JUDGE)}
        assert y.app.application_id in kailu and x.app.application_id not in kailu
        # A party's lawyer sees the application of that party, not another's.
        lawyer_of_a = Claims("lawyer-a", "firm-1", Role.LAWYER, ("15",))
        c2 = agreement(cst(2026, 6, 1, 9), lawyer="lawyer-a")
        await _record(c, c2)
        z = await c.apply(c2.agreement_id, "court-horqin", both(c2), everything(c2), lawyer_of_a)
        mine = {v.app.application_id for v in await c.list("", [], 200, 0, lawyer_of_a)}
        assert z.app.application_id in mine and x.app.application_id not in mine
        with pytest.raises(NotFound):
            await c.get(x.app.application_id, lawyer_of_a)
        other_org = replace(COMMITTEE_CLERK, organization_id="org-elsewhere", subject=str(uuid.uuid4()))
        assert {v.app.application_id for v in await c.list("", [], 200, 0, other_org)} & {
            x.app.application_id, y.app.application_id} == set()
    finally:
        await cm.__aexit__(None, None, None)


async def test_review_extended_once_and_a_party_objects_within_15_days(confirmation):
    from datetime import date
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a = agreement(cst(2026, 6, 1, 9))
        await _record(c, a)
        filed = await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
        accepted = await c.accept(filed.app.application_id, "", "", HORQIN_JUDGE)
        assert accepted.app.decide_by.period.length == 15
        with pytest.raises(RuleViolation, match="president"):
            await c.extend(filed.app.application_id, "", "案情复杂", HORQIN_JUDGE)
        extended = await c.extend(filed.app.application_id, "院长-1", "需进一步核实", HORQIN_JUDGE)
        assert extended.app.extended and extended.app.decide_by.last_day > accepted.app.decide_by.last_day
        with pytest.raises(RuleViolation, match="extended once already"):
            await c.extend(filed.app.application_id, "院长-1", "再延", HORQIN_JUDGE)
        other_judge = replace(HORQIN_JUDGE, subject="judge-2")
        with pytest.raises(RuleViolation, match="another judge"):
            await c.rule(filed.app.application_id, Outcome.VALID, None, "理由", other_judge)
        ruling = await c.rule(filed.app.application_id, Outcome.VALID, None, "理由", HORQIN_JUDGE)
        clock.now = cst(2026, 6, 20)
        objection = await c.object(str(ruling["ruling_id"]), a.parties[1].party_id, False, "协议违背本人意愿",
                                   date(2026, 6, 12), None, HORQIN_JUDGE)
        assert "Art.372" in objection["window"].period.source
        clock.now = cst(2026, 7, 30)
        with pytest.raises(RuleViolation, match="time to object"):
            await c.object(str(ruling["ruling_id"]), a.parties[0].party_id, False, "晚了", date(2026, 6, 12),
                           None, HORQIN_JUDGE)
    finally:
        await cm.__aexit__(None, None, None)


async def test_the_first_court_to_docket_keeps_the_agreement_and_the_other_closes(confirmation):
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a = agreement(cst(2026, 6, 1, 9))
        await _record(c, a)
        horqin = await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
        kailu = await c.apply(a.agreement_id, "court-kailu", both(a), everything(a), COMMITTEE_CLERK)
        await c.accept(kailu.app.application_id, "", "", KAILU_JUDGE)
        closed = await c.get(horqin.app.application_id, OPERATOR)
        assert closed.app.status.value == "closed" and "开鲁县人民法院 docketed the agreement first" in \
            closed.withdrawal_reason
        with pytest.raises(RuleViolation, match="already docketed"):
            await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
    finally:
        await cm.__aexit__(None, None, None)


async def test_a_court_clerk_dockets_for_the_judge_who_alone_rules_and_overdue_ones_are_listed(confirmation):
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a, b = agreement(cst(2026, 6, 1, 9)), agreement(cst(2026, 6, 1, 9))
        await _record(c, a)
        await _record(c, b)
        x = await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
        y = await c.apply(b.agreement_id, "court-horqin", both(b), everything(b), COMMITTEE_CLERK)
        court_clerk = replace(HORQIN_JUDGE, subject="court-clerk-1")
        accepted = await c.accept(x.app.application_id, "", "", court_clerk, judge_id="judge-horqin")
        assert accepted.app.judge_id == "judge-horqin"
        with pytest.raises(RuleViolation, match="another judge"):
            await c.rule(x.app.application_id, Outcome.VALID, None, "理由", court_clerk)
        # Both past their deadlines by 06-20: y's 3 days to accept, x's 15 days to rule.
        clock.now = cst(2026, 6, 20)
        late = {v.app.application_id: v.days_overdue for v in await c.list("", [], 200, 0, HORQIN_JUDGE, True)}
        assert late.get(y.app.application_id, 0) > 0 and late.get(x.app.application_id, 0) > 0
        clock.now = cst(2026, 6, 4)
        assert not {x.app.application_id, y.app.application_id} & {
            v.app.application_id for v in await c.list("", [], 200, 0, HORQIN_JUDGE, True)}
    finally:
        await cm.__aexit__(None, None, None)


async def test_courts_load_from_a_file_tribunals_after_their_court_and_bad_entries_refused(service_pool):
    from services.confirmation.courts import load_courts, parse_courts
    doc = [{"court_id": "t-1", "name": "某人民法庭", "region_code": "150502", "level": "basic", "basic_court_id": "c-1"},
           {"court_id": "c-1", "name": "某区人民法院", "region_code": "150502", "level": "basic"}]
    courts = parse_courts(doc)
    assert [c.court_id for c in courts] == ["c-1", "t-1"] and courts[1].seat.court_id == "c-1"
    with pytest.raises(ValueError, match="region_code must be 6 digits"):
        parse_courts([{"court_id": "x", "name": "x", "region_code": "15", "level": "basic"}])
    with pytest.raises(ValueError, match="not in the file"):
        parse_courts(doc[:1])
    async with service_pool("confirmation") as pool, pool.acquire() as conn:
        assert await load_courts(conn, courts) == 2
        assert (await conn.fetchrow("select basic_court_id from courts where court_id = 't-1'"))[0] == "c-1"


async def _reminders(c: Confirmation, dispute_id: str) -> list[tuple[str, object]]:
    from liandiao.confirmation.v1 import confirmation_pb2 as pb
    rows = await c.pool.fetch("select event_type, payload from outbox where partition_key = $1 "
                              "and event_type like '%deadline-reminder%' order by id", dispute_id)
    return [(r["event_type"], pb.ConfirmationDeadlineReminder.FromString(r["payload"])) for r in rows]


async def test_deadline_reminders_go_out_once_each_even_with_two_sweeping_replicas(confirmation):
    clock = Clock(cst(2026, 6, 1, 16))  # Mon: accept by Thu 4 Jun
    c, cm = await confirmation(clock)
    try:
        a = agreement(cst(2026, 5, 29, 9))
        await _record(c, a)
        filed = await c.apply(a.agreement_id, "court-horqin", both(a), everything(a)[:2], COMMITTEE_CLERK)
        clock.now = cst(2026, 6, 2, 23, 59)  # before the reminder day (one working day before: Wed 3 Jun)
        await c.sweep()
        assert await _reminders(c, a.dispute_id) == []
        clock.now = cst(2026, 6, 3, 0, 1)
        await asyncio.gather(c.sweep(), c.sweep())  # two replicas at once: one reminder
        ((kind, r),) = await _reminders(c, a.dispute_id)
        assert kind == "confirmation.court-deadline-reminder.v1"
        assert (r.deadline_kind, r.deadline.last_day, r.working_days_left, r.court_org_id, list(r.party_ids)) == (
            "accept", "2026-06-04", 1, "court-horqin", [])
        await c.sweep()
        assert len(await _reminders(c, a.dispute_id)) == 1  # once per deadline
        # The court asks for materials within 5 days: the applicants are reminded the working
        # day before the last one (Mon 8 Jun -> Fri 5 Jun).
        await c.request_supplement(filed.app.application_id, 5, [], HORQIN_JUDGE)
        clock.now = cst(2026, 6, 4, 23)
        await c.sweep()
        assert len(await _reminders(c, a.dispute_id)) == 1
        clock.now = cst(2026, 6, 5, 8)
        await asyncio.gather(c.sweep(), c.sweep())
        assert len(await _reminders(c, a.dispute_id)) == 2
        kind, r = (await _reminders(c, a.dispute_id))[-1]
        assert kind == "confirmation.supplement-deadline-reminder.v1"
        assert (r.deadline_kind, r.deadline.last_day, r.working_days_left) == ("supplement", "2026-06-08", 1)
        assert sorted(r.party_ids) == sorted(p.party_id for p in a.parties) and r.outstanding
    finally:
        await cm.__aexit__(None, None, None)


async def test_the_clerk_dockets_and_names_the_judge_who_alone_rules_and_departs_from_the_proposal(confirmation):
    from liandiao.errors import InvalidInput
    from services.confirmation.tests.stack_builders import HORQIN_CLERK
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a = agreement(cst(2026, 6, 1, 9))
        await _record(c, a)
        filed = await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
        app_id = filed.app.application_id
        with pytest.raises(InvalidInput) as exc:
            await c.accept(app_id, "", "", HORQIN_CLERK)
        assert exc.value.violations[0].field == "judge_id"
        with pytest.raises(RuleViolation, match="only the judge may depart"):
            await c.accept(app_id, "", "the clerk thinks otherwise", HORQIN_CLERK, judge_id="judge-horqin")
        accepted = await c.accept(app_id, "", "", HORQIN_CLERK, judge_id="judge-horqin")
        assert accepted.app.judge_id == "judge-horqin"
        assert (await c.get(app_id, HORQIN_CLERK)).app.status.value == "accepted"  # both read
        with pytest.raises(PermissionDenied):
            await c.rule(app_id, Outcome.VALID, None, "协议合法。", HORQIN_CLERK)
        with pytest.raises(PermissionDenied):
            await c.extend(app_id, "president-horqin", "案情复杂", HORQIN_CLERK)
        ruled = await c.rule(app_id, Outcome.VALID, None, "协议系双方自愿达成，内容合法。", HORQIN_JUDGE)
        assert ruled["judge_id"] == "judge-horqin"

        # A divorce term: the proposal refuses (SPC-Interp Art.355); only the judge, with a reason, accepts.
        from liandiao.confirmation.v1 import confirmation_pb2 as pb
        status = agreement(cst(2026, 6, 1, 9), terms=[pb.AgreementTerm(asks="status", relation="marriage",
                                                                       description="双方解除婚姻关系")])
        await _record(c, status)
        other = await c.apply(status.agreement_id, "court-horqin", both(status), everything(status), COMMITTEE_CLERK)
        with pytest.raises(RuleViolation, match="only the judge may depart"):
            await c.accept(other.app.application_id, "", "系财产分割", HORQIN_CLERK, judge_id="judge-horqin")
        overridden = await c.accept(other.app.application_id, "", "条款实为财产分割", HORQIN_JUDGE)
        assert overridden.app.status.value == "accepted"
    finally:
        await cm.__aexit__(None, None, None)


def _signed(a):
    """`a` as mediation sends it: with its terms document (liandiao.agreement-terms/1) and SM3."""
    from liandiao.signing import sm3_hex
    doc = {"format": "liandiao.agreement-terms/1", "agreement_id": a.agreement_id, "agreement_digest": a.content_digest,
           "parties": [{"party_id": p.party_id, "side": p.side} for p in a.parties],
           "terms": [{"obligor_id": t.obligor_party_id, "obligee_id": t.obligee_party_id, "manner": "",
                      "deadline": t.due_on or None,
                      "owed": {"kind": "money", "amount_fen": t.amount_fen, "currency": "CNY"}} for t in a.terms]}
    a.terms_document = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    a.terms_digest = sm3_hex(a.terms_document)
    return a


async def _tamper(c: Confirmation, a, amount_fen: int) -> None:
    """What a corrupted or tampered projection looks like: the stored terms changed."""
    from services.confirmation import store as st
    a.terms[0].amount_fen = amount_fen
    await c.pool.execute("update agreements set payload = $2 where agreement_id = $1", a.agreement_id,
                         st.seal_payload(c.cipher, a.agreement_id, a.SerializeToString()))


async def test_a_tampered_projection_is_neither_filed_nor_ruled_on(confirmation):
    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a = _signed(agreement(cst(2026, 6, 1, 9)))
        await _record(c, a)
        await _tamper(c, a, 5_000_000)
        with pytest.raises(RuleViolation, match="term 1 differs from the signed one") as exc:
            await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
        assert exc.value.rule == "confirmation.agreement-digest"
        assert await c.pool.fetchval("select count(*) from applications where agreement_id = $1", a.agreement_id) == 0

        b = _signed(agreement(cst(2026, 6, 1, 9)))
        await _record(c, b)
        filed = await c.apply(b.agreement_id, "court-horqin", both(b), everything(b), COMMITTEE_CLERK)
        await c.accept(filed.app.application_id, "", "", HORQIN_JUDGE)
        await _tamper(c, b, 1)
        with pytest.raises(RuleViolation, match="not the one signed"):
            await c.rule(filed.app.application_id, Outcome.VALID, None, "协议合法。", HORQIN_JUDGE)
        assert await c.pool.fetchval("select count(*) from rulings where application_id = $1",
                                     uuid.UUID(filed.app.application_id)) == 0
    finally:
        await cm.__aexit__(None, None, None)


async def test_a_ruling_served_on_the_platform_starts_the_objection_window_on_that_day(confirmation):
    """CPL Art.90: electronic service is made the day the document reaches the addressee's
    system; notification says when (delivery-succeeded with served_at) and the 15 days of
    SPC-Interp Art.372 run from it, whatever later day the party states."""
    from datetime import date

    from liandiao.events.consumer import ConsumedEvent
    from liandiao.events.envelope import Envelope
    from liandiao.notification.v1 import notification_pb2
    from liandiao.rpc.convert import timestamp

    clock = Clock(cst(2026, 6, 3))
    c, cm = await confirmation(clock)
    try:
        a = agreement(cst(2026, 6, 1, 9))
        await _record(c, a)
        filed = await c.apply(a.agreement_id, "court-horqin", both(a), everything(a), COMMITTEE_CLERK)
        await c.accept(filed.app.application_id, "", "", HORQIN_JUDGE)
        clock.now = cst(2026, 6, 5)
        ruling = await c.rule(filed.app.application_id, Outcome.VALID, None, "理由", HORQIN_JUDGE)
        served = notification_pb2.DeliverySucceeded(
            delivery_id=str(uuid.uuid4()), dispute_id=a.dispute_id, template="ruling-issued/party",
            recipient_id=a.parties[1].party_id, served_at=timestamp(cst(2026, 6, 5, 10)))
        other = notification_pb2.DeliverySucceeded(      # not a ruling: ignored
            delivery_id=str(uuid.uuid4()), dispute_id=a.dispute_id, template="application-accepted/party",
            recipient_id=a.parties[0].party_id, served_at=timestamp(cst(2026, 6, 5, 10)))
        for payload in (served, served, other):          # a redelivery keeps the first moment
            env = Envelope(str(uuid.uuid4()), "notification.delivery-succeeded.v1", cst(2026, 6, 5, 10),
                           a.dispute_id, "150502", "", "")
            async with c.pool.acquire() as conn, conn.transaction():
                await c.on_delivery_succeeded(conn, ConsumedEvent(env, payload, "t"))
        clock.now = cst(2026, 6, 24)       # 15 days from 5 June have passed (the last day rolls to 22 June)
        with pytest.raises(RuleViolation, match="time to object"):
            await c.object(str(ruling["ruling_id"]), a.parties[1].party_id, False, "协议违背本人意愿",
                           date(2026, 6, 20), None, HORQIN_JUDGE)       # the stated later day does not count
        # The other party was not served on the platform: the day it states counts.
        objection = await c.object(str(ruling["ruling_id"]), a.parties[0].party_id, False, "协议违背本人意愿",
                                   date(2026, 6, 20), None, HORQIN_JUDGE)
        assert objection["window"].last_day == date(2026, 7, 6)
    finally:
        await cm.__aexit__(None, None, None)
