"""A command the platform's client retries on UNAVAILABLE (liandiao.rpc.channel.REPEATABLE)
may have been done before the connection dropped: its repeat must change nothing. Judicial
confirmation's commands are retried since they were built (issue 9); each is sent twice here,
as a retry would send it, against the running services: the repeat is refused by the
application's state, and the court is left with one application, one case number, one ruling
and one event of each kind. Object stays ONCE_ONLY: a repeat would record a second objection."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from liandiao.confirmation.v1 import confirmation_pb2 as pb
from liandiao.events import catalog
from liandiao.rpc.channel import ONCE_ONLY, REPEATABLE
from tests.e2e.test_confirmation_flow import COMMITTEE, JUDGE, NOW, _apply, _published, confirmation  # noqa: F401

pytestmark = pytest.mark.e2e

CONFIRMATION = "liandiao.confirmation.v1.ConfirmationService"


async def _twice(call) -> tuple[object, grpc.aio.AioRpcError]:
    first = await call()
    with pytest.raises(grpc.aio.AioRpcError) as seen:
        await call()
    return first, seen.value


async def test_a_repeated_application_acceptance_or_ruling_is_refused_and_changes_nothing(confirmation, stack_env):  # noqa: F811
    stub, writer = confirmation
    a = await _published(writer, stack_env, NOW - timedelta(days=1))
    filed, again = await _twice(lambda: stub.Apply(_apply(a), metadata=COMMITTEE))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION and "pending" in again.details()
    app_id = filed.application_id
    bring = pb.SupplementMaterialsRequest(application_id=app_id, items=[pb.MaterialItem(material="agreement")])
    first = await stub.SupplementMaterials(bring, metadata=COMMITTEE)
    second = await stub.SupplementMaterials(bring, metadata=COMMITTEE)   # a union: the same set again
    assert (second.status, second.accept_by.expires_at) == (first.status, first.accept_by.expires_at)
    accepted, again = await _twice(lambda: stub.AcceptApplication(
        pb.AcceptApplicationRequest(application_id=app_id), metadata=JUDGE))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    _, again = await _twice(lambda: stub.ExtendReview(pb.ExtendReviewRequest(
        application_id=app_id, approved_by="president-horqin", reason="案情复杂"), metadata=JUDGE))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION and "once already" in again.details()
    ruling, again = await _twice(lambda: stub.Rule(pb.RuleRequest(
        application_id=app_id, outcome=pb.RULING_OUTCOME_VALID, reasons="协议系双方自愿达成。"), metadata=JUDGE))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION

    db = writer.pool
    assert await db.fetchval("select count(*) from applications where agreement_id = $1", a.agreement_id) == 1
    assert await db.fetchval("select count(*) from rulings where application_id = $1::uuid", app_id) == 1
    assert await db.fetchval("select case_number from applications where application_id = $1::uuid",
                             app_id) == accepted.case_number == ruling.case_number
    events = {r["event_type"]: r["n"] for r in await db.fetch(
        "select event_type, count(*) as n from outbox where headers->>'dispute-id' = $1 group by event_type",
        a.dispute_id)}
    assert events == {catalog.APPLICATION_FILED.key: 1, catalog.APPLICATION_ACCEPTED.key: 1,
                      catalog.RULING_ISSUED.key: 1}, events


def test_confirmation_commands_are_retried_only_where_a_repeat_changes_nothing():
    retried = {m for s, m in REPEATABLE if s == CONFIRMATION}
    assert {"Apply", "AcceptApplication", "RefuseApplication", "RequestSupplement", "SupplementMaterials",
            "ExtendReview", "Rule"} <= retried
    assert (CONFIRMATION, "Object") in ONCE_ONLY
