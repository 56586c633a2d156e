"""The whole flow, every service running (issue 9, "Done means"): a dispute registered at intake,
offered and accepted in routing, mediated to an effective written agreement, applied for jointly,
accepted by the court's clerk and ruled valid by the judge, and the signed ruling checked by the
offline verifier with only the court's public key; and a second dispute whose application the judge
rejects, with the rejection notices (SPC-2011 Art.12) reaching the mediation committee and the
parties.

The courts are loaded as an operator loads them, from a file with confirmation's own command."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.confirmation.v1 import confirmation_pb2_grpc
from liandiao.devtools import confirm
from liandiao.devtools.clients import channel, token
from liandiao.devtools.localrun import REPO
from liandiao.devtools.mediate import written_agreement
from liandiao.mediation.v1 import mediation_pb2 as mpb
from liandiao.notification.v1 import notification_pb2 as npb
from liandiao.signing import signed_ruling_file
from tests.e2e.support import OPERATOR, eventually
from tests.e2e.test_mediation_flow import complete_content, hold_a_session, open_case

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def courts(world, services):
    stubs, prov = world
    await asyncio.to_thread(confirm.load_courts, prov, services.env, REPO / ".state")
    ch = channel(services.address("confirmation"))
    yield confirmation_pb2_grpc.ConfirmationServiceStub(ch)
    await ch.close()


async def _effective_written_agreement(stubs, prov, seed: int) -> mpb.Case:
    m = stubs["mediation"]
    case, req, mediator = await open_case(stubs, prov, seed, common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    await hold_a_session(m, case, mediator)
    # Drafted, signed by every party and the mediator, sealed: the demo's own steps.
    sealed = await written_agreement(m, case, complete_content(case, req), mediator)
    assert sealed.state == mpb.AGREEMENT_STATE_EFFECTIVE
    return await m.GetCase(mpb.GetCaseRequest(case_id=case.case_id), metadata=OPERATOR)


async def _filed_and_accepted(stub, case: mpb.Case, prov) -> tuple[cpb.Application, tuple[tuple[str, str], ...]]:
    court_id = confirm.court_for(case, prov)
    assert court_id, f"no court serves {case.region_code}"
    committee = token(Role.CLERK, subject="clerk-of-the-committee", organization_id=case.organization_id,
                      region_scope=(case.region_code[:6],))
    clerk = token(Role.COURT, subject=f"clerk-{court_id}", organization_id=court_id,
                  region_scope=(case.region_code[:4],))
    # Filed as soon as confirmation has projected the agreement from mediation's event.
    filed = await eventually(lambda: stub.Apply(confirm.application(case, court_id), metadata=committee))
    assert filed.status == cpb.APPLICATION_STATUS_FILED and not filed.missing and not filed.proposed_refusal
    assert filed.court_org_id == court_id and filed.accept_by.source == "SPC-2011 Art.4"
    accepted = await stub.AcceptApplication(cpb.AcceptApplicationRequest(
        application_id=filed.application_id, judge_id=f"judge-{court_id}", reasons="材料齐全"), metadata=clerk)
    assert accepted.status == cpb.APPLICATION_STATUS_ACCEPTED and "民特" in accepted.case_number
    judge = token(Role.JUDGE, subject=f"judge-{court_id}", organization_id=court_id,
                  region_scope=(case.region_code[:4],))
    return accepted, judge


async def test_a_registered_dispute_ends_in_a_valid_ruling_that_verifies_offline(world, courts, tmp_path):
    stubs, prov = world
    case = await _effective_written_agreement(stubs, prov, 5101)
    accepted, judge = await _filed_and_accepted(courts, case, prov)
    ruling = await courts.Rule(cpb.RuleRequest(application_id=accepted.application_id,
                                               outcome=cpb.RULING_OUTCOME_VALID,
                                               reasons="协议系双方自愿达成，内容不违反法律规定。"), metadata=judge)
    assert ruling.case_number == accepted.case_number and ruling.signature
    document = ruling.document.decode()
    assert "确认调解协议有效" in document and "1200元" in document   # the agreement's term, as mediated

    ring = json.loads((REPO / ".state" / "confirmation-dev-keys" / "keys.json").read_text())
    (tmp_path / "court.pub").write_text(next(k["public_key"] for k in ring["keys"] if k["key_id"] == ruling.key_id))
    (tmp_path / "ruling.json").write_text(signed_ruling_file(ruling.document, ruling.key_id, ruling.signature))
    checked = subprocess.run([sys.executable, "-m", "services.confirmation.verify", str(tmp_path / "ruling.json"),
                              "--public-key", str(tmp_path / "court.pub")], capture_output=True, text=True, cwd=REPO,
                             env={**os.environ, "PYTHONPATH": f"{REPO / 'libs'}:{REPO}"})
    assert checked.returncode == 0 and checked.stdout.startswith(f"GENUINE: {ruling.case_number}"), checked

    # The parties hear of the ruling.
    async def told():
        page = await stubs["notification"].ListDeliveries(npb.ListDeliveriesRequest(dispute_id=case.dispute_id),
                                                          metadata=OPERATOR)
        return [d for d in page.deliveries if d.template == "ruling-issued/party"] or None

    heard = await eventually(told)
    assert {d.recipient_id for d in heard} == {p.party_id for p in case.parties}
    assert all(ruling.case_number in d.body and "调解协议有效" in d.body for d in heard)


async def test_a_rejected_application_sends_its_notices_to_the_committee_and_the_parties(world, courts):
    stubs, prov = world
    case = await _effective_written_agreement(stubs, prov, 5202)
    accepted, judge = await _filed_and_accepted(courts, case, prov)
    ruling = await courts.Rule(cpb.RuleRequest(
        application_id=accepted.application_id, outcome=cpb.RULING_OUTCOME_REJECTED,
        ground=cpb.REJECTION_GROUND_NOT_VOLUNTARY, reasons="一方当事人称系受胁迫签署协议。"), metadata=judge)
    assert ruling.outcome == cpb.RULING_OUTCOME_REJECTED and ruling.ground == cpb.REJECTION_GROUND_NOT_VOLUNTARY
    got = await courts.GetApplication(cpb.GetApplicationRequest(application_id=accepted.application_id),
                                      metadata=judge)
    assert got.status == cpb.APPLICATION_STATUS_RULED and got.ruling.outcome == cpb.RULING_OUTCOME_REJECTED

    async def notices():
        page = await stubs["notification"].ListDeliveries(npb.ListDeliveriesRequest(dispute_id=case.dispute_id),
                                                          metadata=OPERATOR)
        by_template = {}
        for d in page.deliveries:
            by_template.setdefault(d.template, []).append(d)
        wanted = ("ruling-issued/organization", "ruling-issued/party")
        return by_template if all(t in by_template for t in wanted) else None

    sent = await eventually(notices)
    committee = sent["ruling-issued/organization"]
    assert case.organization_id in {d.recipient_id for d in committee}
    assert all("驳回申请" in d.body and ruling.case_number in d.body for d in committee)
    parties = sent["ruling-issued/party"]
    assert {d.recipient_id for d in parties} == {p.party_id for p in case.parties}
    # CPL Art.206: after a rejection the parties may re-mediate or sue; the message says so.
    assert all("驳回申请" in d.body and "提起诉讼" in d.body for d in parties)
