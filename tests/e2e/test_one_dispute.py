"""One dispute end to end, across the six services running as processes:
registered at intake, placed by routing from personnel's roster, accepted by the
mediator, opened as a case by mediation, announced by notification; one trace."""

from __future__ import annotations

import random

import grpc
import pytest

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import metrics, province
from liandiao.devtools.clients import token
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2
from liandiao.notification.v1 import notification_pb2
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.errors import field_violations
from tests.e2e.support import CLERK, OPERATOR, eventually

pytestmark = pytest.mark.e2e


async def test_police_referral_flows_to_an_open_case_with_deliveries_in_one_trace(world, services, otlp):
    stubs, prov = world
    rng = random.Random(11)
    req = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_POLICE_REFERRAL)

    reply = await stubs["intake"].RegisterDispute(req, metadata=CLERK)
    dispute = reply.dispute
    assert dispute.status == intake_pb2.DISPUTE_STATUS_REGISTERED
    assert dispute.prefecture == "1505"
    assert all("*" in p.masked_id_number for p in dispute.parties), "ID numbers must come back masked"

    get = routing_pb2.GetAssignmentRequest(dispute_id=dispute.dispute_id)

    async def offered():
        a = await stubs["routing"].GetAssignment(get, metadata=CLERK)
        return a if a.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED else None

    offer = await eventually(offered)
    assert offer.mediator_id in prov.mediators
    assert offer.respond_by.source.startswith("SPC-Online Art.12")
    assert "specialty " + req.dispute_type in offer.reason

    mediator = token(Role.MEDIATOR, subject=offer.mediator_id)
    accepted = await stubs["routing"].AcceptAssignment(
        routing_pb2.AcceptAssignmentRequest(dispute_id=dispute.dispute_id, mediator_id=offer.mediator_id),
        metadata=mediator)
    assert accepted.status == routing_pb2.ASSIGNMENT_STATUS_ACCEPTED

    case = await eventually(lambda: stubs["mediation"].GetCase(
        mediation_pb2.GetCaseRequest(dispute_id=dispute.dispute_id), metadata=OPERATOR))
    assert case.status == mediation_pb2.CASE_STATUS_OPEN
    assert case.mediator_id == offer.mediator_id
    assert case.deadline.period_name == "peoples_mediation"  # a police referral is people's mediation

    async def all_sent():
        listed = await stubs["notification"].ListDeliveries(
            notification_pb2.ListDeliveriesRequest(dispute_id=dispute.dispute_id), metadata=CLERK)
        sent = [d for d in listed.deliveries if d.status == notification_pb2.DELIVERY_STATUS_SENT]
        return listed.deliveries if len(sent) == 6 == len(listed.deliveries) else None

    deliveries = await eventually(all_sent)
    kinds = sorted(d.template for d in deliveries)
    assert kinds == ["dispute-assigned/mediator", "dispute-assigned/party", "dispute-assigned/party",
                     "dispute-assigned/referrer", "dispute-registered/party", "dispute-registered/party"]
    for d in deliveries:
        assert req.parties[0].phone not in d.body + d.recipient_display
        assert req.parties[0].id_document.number not in d.body

    states = {s: await services.health(s) for s in services.procs}
    assert states == dict.fromkeys(services.procs, "SERVING")

    async def one_trace():
        traces = otlp.traces_of_dispute(dispute.dispute_id)
        wanted = {"liandiao-intake", "liandiao-routing", "liandiao-mediation", "liandiao-notification"}
        return [t for t, svcs in traces.items() if wanted <= svcs]

    assert await eventually(one_trace, timeout=15)

    # What an operator's Prometheus sees.
    async def outboxes_drained():
        return all(metrics.total(services.metrics_port(s), "liandiao_outbox_backlog") == 0 for s in services.procs)

    assert await eventually(outboxes_drained, timeout=10)
    intake_port, routing_port = services.metrics_port("intake"), services.metrics_port("routing")
    assert metrics.total(intake_port, "liandiao_grpc_server_handled_total", method="RegisterDispute", code="OK") >= 1
    assert metrics.total(intake_port, "liandiao_grpc_server_handling_seconds_count", method="RegisterDispute") >= 1
    assert metrics.total(routing_port, "liandiao_event_handler_seconds_count", consumer="routing.disputes") >= 1
    lag = [v for (name, labels), v in metrics.scrape(routing_port).items()
           if name == "liandiao_consumer_lag" and ("consumer", "routing.disputes") in labels]
    assert lag and min(lag) == 0
    assert metrics.total(intake_port, "liandiao_business_events_total", fact="dispute_registered",
                         prefecture="1505") >= 1


@pytest.mark.parametrize("mutate, field", [
    (lambda r: r.parties[0].id_document.__setattr__("number", r.parties[0].id_document.number[:-1] +
                                                    ("0" if r.parties[0].id_document.number[-1] != "0" else "1")),
     "parties[0].id_document.number"),
    (lambda r: r.__setattr__("region_code", "159999"), "region_code"),
    (lambda r: r.parties.pop(), "parties"),
], ids=["bad-id-checksum", "unknown-region", "missing-respondent"])
async def test_bad_input_is_refused_with_the_field_and_nothing_is_stored(world, stack_env, mutate, field):
    import asyncpg

    stubs, prov = world
    req = province.dispute_request(random.Random(99), prov)
    mutate(req)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs["intake"].RegisterDispute(req, metadata=CLERK)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(raised.value)

    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        stored = await conn.fetchval("select count(*) from intake.disputes where request_id = $1", req.request_id)
        outbox = await conn.fetchval("select count(*) from intake.outbox where headers->>'dispute-id' in "
                                     "(select dispute_id::text from intake.disputes where request_id = $1)",
                                     req.request_id)
    finally:
        await conn.close()
    assert (stored, outbox) == (0, 0)
