"""The false-mediation rule against the real PostgreSQL (issue 8): a party already in another case of
the committee this quarter reaches an effective agreement in this one (the rule set at 2); the same transaction holds
the case and puts the false-mediation report, naming the rule, in the outbox for notification
(the judicial office and, the case being court-delegated, the court). A case of another
committee does not count."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from liandiao.common.v1 import common_pb2
from liandiao.legaltime import shipped_calendar
from liandiao.mediation.v1 import mediation_pb2
from services.mediation.app import Mediation, Settings
from services.mediation.domain import agreement as ag
from services.mediation.domain.content import AgreementMode, SignatureMethod, SignerRole
from services.mediation.domain.false_mediation import REPEAT_PARTY, FalseMediationRules
from services.mediation.domain.model import HoldKind
from services.mediation.domain.states import CaseState
from services.mediation.tests.test_cases_store import COMPLETE, MEDIATOR, PARTIES, PII, _open, accepted

pytestmark = pytest.mark.stack

RULES = FalseMediationRules(fast_amount_fen=0, fast_minutes=0, repeat_cases=2, repeat_days=90)


@pytest.fixture
async def pool(service_pool):
    async with service_pool("mediation") as p:
        yield p


def same_person(fingerprint: str) -> list[common_pb2.PartyRef]:
    applicant = common_pb2.PartyRef()
    applicant.CopyFrom(PARTIES[0])
    applicant.id_fingerprint = fingerprint
    return [applicant, PARTIES[1]]


async def test_a_repeat_party_reaching_an_agreement_is_held_and_reported_by_the_rule(pool):
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    m = Mediation(pool, PII, Settings(false_mediation=RULES), calendar=shipped_calendar(), now=lambda: now)
    who = f"fp-{uuid.uuid4().hex}"
    earlier = await _open(pool, m, accepted(now - timedelta(days=60), parties=same_person(who)))
    await _open(pool, m, accepted(now - timedelta(days=120), parties=same_person(who)))  # before the window
    other_committee = accepted(now - timedelta(days=1), parties=same_person(who))
    other_committee.payload.organization_id = "org-2"
    await _open(pool, m, other_committee)
    case = await _open(pool, m, accepted(now - timedelta(hours=3), parties=same_person(who)))
    async with pool.acquire() as conn:
        seen = await m.store.cases_of_parties(conn, "org-1", [who], now - timedelta(days=91))
    assert {c.case_id for c in seen} == {earlier.case_id, case.case_id}

    cid, aid = str(case.case_id), f"a-{case.case_id}"
    case = await m.case_command(MEDIATOR, cid, "draft", lambda c, a, t: ag.decide_draft_agreement(
        c, ag.DraftAgreement(agreement_id=aid, mode=AgreementMode.WRITTEN, actor=a, content=COMPLETE), t))
    for signer, role in (("p-a", SignerRole.PARTY), ("p-r", SignerRole.PARTY), ("m-1", SignerRole.MEDIATOR)):
        await m.agreement_command(MEDIATOR, aid, "sign", m.sign(signer, role, SignatureMethod.PAPER_IN_PERSON,
                                                                case.agreement.digest, ""))
    case = await m.agreement_command(MEDIATOR, aid, "seal", m.apply_seal())
    # Effective, and held for a person to clear; the timeline names the rule as who flagged it.
    assert case.agreement.effective_on is not None
    assert case.state is CaseState.SUSPENDED and case.hold(HoldKind.FALSE_MEDIATION)
    assert case.timeline[-1].actor.person_id == REPEAT_PARTY
    async with pool.acquire() as conn:
        rows = await conn.fetch("select event_type, payload from outbox where partition_key = $1 order by event_id",
                                str(case.dispute_id))
    types = [r["event_type"] for r in rows]
    assert types[-2:] == ["mediation.agreement-effective.v1", "mediation.false-mediation-reported.v1"]
    report = mediation_pb2.FalseMediationReported.FromString(rows[-1]["payload"])
    assert report.reported_by == REPEAT_PARTY and report.court_id == "court-1" and report.agreement_id == aid
    assert "2 cases" in report.reason
