"""Against the real PostgreSQL: the applicants withdraw before the ruling (SPC-Interp Art.357),
an objection to the ruling is recorded once (SPC-Interp Art.372), and a ruling signed with a key
the court later revoked no longer verifies, online or offline; each with its event."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from liandiao.confirmation.v1 import confirmation_pb2 as pb
from liandiao.errors import InvalidInput, RuleViolation
from liandiao.signing import PrivateKey, sm3_digest
from services.confirmation import keys as court_keys
from services.confirmation import verify
from services.confirmation.api import ConfirmationApi, to_proto
from services.confirmation.app import Confirmation
from services.confirmation.domain.ruling import Outcome
from services.confirmation.keys import DEV_DIR, KEYS_FILE, load_court_keys
from services.confirmation.tests.stack_builders import (
    COMMITTEE_CLERK,
    HORQIN_JUDGE,
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
async def pool(service_pool):
    async with service_pool("confirmation") as p:
        async with p.acquire() as conn:
            await seed_courts(conn)
        yield p


def _confirmation(pool, keys, now) -> Confirmation:
    return Confirmation(pool, keys, clock=Clock(now))


async def _filed(c: Confirmation, a, court: str = "court-horqin"):
    async with c.pool.acquire() as conn, conn.transaction():
        await c.record_agreement(conn, a, c.clock())
    return await c.apply(a.agreement_id, court, both(a), everything(a), COMMITTEE_CLERK)


async def _events(c: Confirmation, dispute_id: str, kind: str) -> list[bytes]:
    rows = await c.pool.fetch("select payload from outbox where partition_key = $1 and event_type = $2 "
                              "order by event_id", dispute_id, f"confirmation.{kind}.v1")
    return [bytes(r["payload"]) for r in rows]


async def test_an_applicant_withdraws_before_the_ruling_and_the_withdrawal_is_published(pool, tmp_path):
    c = _confirmation(pool, load_court_keys({DEV_DIR: str(tmp_path)}, "development"), cst(2026, 6, 3))
    a = agreement(cst(2026, 6, 1, 9))
    filed = await _filed(c, a)
    await c.accept(filed.app.application_id, "", "", HORQIN_JUDGE)
    with pytest.raises(RuleViolation, match="not a party"):
        await c.withdraw(filed.app.application_id, "someone-else", "", COMMITTEE_CLERK)
    done = await c.withdraw(filed.app.application_id, a.parties[1].party_id, "双方已自行履行", COMMITTEE_CLERK)
    assert to_proto(done).status == pb.APPLICATION_STATUS_WITHDRAWN and done.withdrawal_reason == "双方已自行履行"
    with pytest.raises(RuleViolation):   # withdrawn is withdrawn: a repeat changes nothing
        await c.withdraw(filed.app.application_id, a.parties[1].party_id, "", COMMITTEE_CLERK)
    with pytest.raises(RuleViolation):   # and there is nothing left to rule on
        await c.rule(filed.app.application_id, Outcome.VALID, None, "理由", HORQIN_JUDGE)
    (body,) = await _events(c, a.dispute_id, "application-withdrawn")
    event = pb.ApplicationWithdrawn.FromString(body)
    assert (event.by_party_id, event.deemed, event.court_org_id) == (a.parties[1].party_id, False, "court-horqin")
    assert sorted(event.party_ids) == sorted(p.party_id for p in a.parties)


async def test_materials_missing_at_the_deadline_publish_a_deemed_withdrawal(pool, tmp_path):
    clock = Clock(cst(2026, 6, 3))
    c = Confirmation(pool, load_court_keys({DEV_DIR: str(tmp_path)}, "development"), clock=clock)
    a = agreement(cst(2026, 6, 1, 9))
    async with c.pool.acquire() as conn, conn.transaction():
        await c.record_agreement(conn, a, clock())
    filed = await c.apply(a.agreement_id, "court-horqin", both(a), everything(a)[:2], COMMITTEE_CLERK)
    await c.request_supplement(filed.app.application_id, 5, [], HORQIN_JUDGE)
    clock.now = cst(2026, 6, 9)   # 5 days from 06-03 ended on 06-08 (SPC-Interp Art.357)
    await c.sweep()
    (body,) = await _events(c, a.dispute_id, "application-withdrawn")
    event = pb.ApplicationWithdrawn.FromString(body)
    assert event.deemed and event.by_party_id == "" and "2026-06-08" in event.reason


async def test_an_objection_is_recorded_once_by_its_id_shown_with_the_application_and_published(pool, tmp_path):
    clock = Clock(cst(2026, 6, 3))
    c = Confirmation(pool, load_court_keys({DEV_DIR: str(tmp_path)}, "development"), clock=clock)
    a = agreement(cst(2026, 6, 1, 9))
    filed = await _filed(c, a)
    await c.accept(filed.app.application_id, "", "", HORQIN_JUDGE)
    ruling = await c.rule(filed.app.application_id, Outcome.VALID, None, "协议合法有效", HORQIN_JUDGE)
    clock.now = cst(2026, 6, 10)
    chosen = str(uuid.uuid4())
    with pytest.raises(InvalidInput):
        await c.object(str(ruling["ruling_id"]), a.parties[1].party_id, False, "违背本人意愿", date(2026, 6, 4),
                       None, HORQIN_JUDGE, "not-a-uuid")
    first = await c.object(str(ruling["ruling_id"]), a.parties[1].party_id, False, "违背本人意愿",
                           date(2026, 6, 4), None, HORQIN_JUDGE, chosen)
    assert str(first["objection_id"]) == chosen
    with pytest.raises(InvalidInput, match="already used"):   # a retry after a lost reply
        await c.object(str(ruling["ruling_id"]), a.parties[1].party_id, False, "违背本人意愿",
                       date(2026, 6, 4), None, HORQIN_JUDGE, chosen)
    shown = to_proto(await c.get(filed.app.application_id, OPERATOR))
    (objection,) = shown.objections
    # Received on 06-04: the 15th day is 06-19, the Dragon Boat holiday (06-19..21), so the window
    # ends on Monday 06-22 (SPC-Interp Art.372; CPL 2023 Art.85).
    assert (objection.objection_id, objection.objector, objection.window.last_day) == (
        chosen, a.parties[1].party_id, "2026-06-22")
    assert "Art.372" in objection.window.source
    (body,) = await _events(c, a.dispute_id, "objection-filed")
    event = pb.ObjectionFiled.FromString(body)
    assert (event.objection_id, event.ruling_id, event.case_number) == (
        chosen, str(ruling["ruling_id"]), ruling["case_number"])


async def test_a_ruling_signed_with_a_revoked_key_fails_online_and_offline_and_the_keys_are_published(
        pool, tmp_path):
    old, new = PrivateKey.generate(), PrivateKey.generate()
    (tmp_path / "old.pem").write_text(old.to_pem())
    (tmp_path / "new.pem").write_text(new.to_pem())

    def key_file(revoke: bool) -> str:
        entries = [{"key_id": "horqin-2026a", "organization_id": "court-horqin", "public_key": old.public_key().to_hex(),
                    **({"revoked": True} if revoke else {"active": True, "private_key_file": "old.pem"})}]
        if revoke:
            entries.append({"key_id": "horqin-2026b", "organization_id": "court-horqin", "active": True,
                            "public_key": new.public_key().to_hex(), "private_key_file": "new.pem"})
        path = tmp_path / ("revoked.json" if revoke else "keys.json")
        path.write_text(json.dumps({"format": 1, "keys": entries}))
        return str(path)

    c = _confirmation(pool, load_court_keys({KEYS_FILE: key_file(False)}, "production"), cst(2026, 6, 3))
    a = agreement(cst(2026, 6, 1, 9))
    filed = await _filed(c, a)
    await c.accept(filed.app.application_id, "", "", HORQIN_JUDGE)
    ruling = await c.rule(filed.app.application_id, Outcome.VALID, None, "协议合法有效", HORQIN_JUDGE)
    document = bytes(ruling["document"])
    assert (await c.verify(ruling["case_number"], sm3_digest(document), b""))[0]

    # The old key leaked: the court revokes it and signs with a new one.
    after = _confirmation(pool, load_court_keys({KEYS_FILE: key_file(True)}, "production"), cst(2026, 6, 20))
    genuine, reason, _ = await after.verify(ruling["case_number"], sm3_digest(document), b"")
    assert not genuine and "revoked" in reason
    api = ConfirmationApi(after)
    listed = await api.ListCourtKeys(pb.ListCourtKeysRequest(court_org_id="court-horqin"), None)
    assert {(k.key_id, k.active, k.revoked) for k in listed.keys} == {
        ("horqin-2026a", False, True), ("horqin-2026b", True, False)}
    assert all("BEGIN PUBLIC KEY" in k.public_key_pem for k in listed.keys)
    assert not (await api.ListCourtKeys(pb.ListCourtKeysRequest(court_org_id="court-kailu"), None)).keys

    # Offline, with the published file (public halves only, the revoked key marked).
    assert court_keys.main(["publish", key_file(True), str(tmp_path / "published.json")]) == 0
    text = (tmp_path / "published.json").read_text()
    assert "private_key_file" not in text and "PRIVATE" not in text
    (tmp_path / "ruling.json").write_text(verify.signed_ruling_file(document, ruling["key_id"],
                                                                     bytes(ruling["signature"])))
    assert verify.main([str(tmp_path / "ruling.json"), "--keys", str(tmp_path / "published.json")]) == 1
    # Before the revocation, the same file verifies with the court's published ring.
    assert court_keys.main(["publish", key_file(False), str(tmp_path / "before.json")]) == 0
    assert verify.main([str(tmp_path / "ruling.json"), "--keys", str(tmp_path / "before.json")]) == 0
