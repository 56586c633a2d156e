"""Notification's gRPC surface with the six services running: a case's deliveries as
the region's clerk sees them (names masked), Preview in a party's language with the
fallback to Chinese, and ResendDelivery under the access policy and the state table."""

from __future__ import annotations

import grpc
import pytest

from liandiao.auth import Role
from liandiao.devtools.clients import token
from liandiao.notification.v1 import notification_pb2
from tests.e2e.support import CLERK, OPERATOR, eventually
from tests.e2e.test_mediation_access import open_police_case

pytestmark = pytest.mark.e2e


async def test_deliveries_are_sent_listed_masked_and_not_resent(world):
    stubs, prov = world
    case, req = await open_police_case(stubs, prov, seed=4242)
    n = stubs["notification"]
    listing = notification_pb2.ListDeliveriesRequest(dispute_id=case.dispute_id, page_size=100)

    async def all_sent():
        got = (await n.ListDeliveries(listing, metadata=CLERK)).deliveries
        done = {notification_pb2.DELIVERY_STATUS_SENT, notification_pb2.DELIVERY_STATUS_DELIVERED}
        return got if got and all(d.status in done for d in got) else None

    deliveries = await eventually(all_sent)
    for d in deliveries:
        for party in req.parties:
            assert party.name not in d.body + d.recipient_display and party.phone not in d.body
    sent = deliveries[0]
    again = notification_pb2.ResendDeliveryRequest(delivery_id=sent.delivery_id)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await n.ResendDelivery(again, metadata=OPERATOR)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "resend-from-sent" in refused.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as mediator:
        await n.ResendDelivery(again, metadata=token(Role.MEDIATOR, subject=case.mediator_id))
    assert mediator.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await n.ResendDelivery(notification_pb2.ResendDeliveryRequest(
            delivery_id="01a23300-0000-7000-8000-000000000000"), metadata=OPERATOR)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    # The operator's list of dead letters answers (none of this case's are dead).
    dead = await n.ListDeliveries(notification_pb2.ListDeliveriesRequest(page_size=100), metadata=OPERATOR)
    assert case.dispute_id not in {d.dispute_id for d in dead.deliveries}


async def test_preview_renders_in_the_language_asked_or_in_chinese(world):
    stubs, _ = world
    n = stubs["notification"]
    values = {"name": "Bayar", "short_id": "1234abcd", "type_zh": "邻里纠纷", "mediator": "宝音", "region": "科尔沁区",
              "party_count": "2"}
    en = await n.Preview(notification_pb2.PreviewRequest(template="dispute-assigned/party", values=values,
                                                         locale="en"), metadata=CLERK)
    assert en.locale == "en" and "Bayar" in en.body and "free of charge" in en.body
    fallback = await n.Preview(notification_pb2.PreviewRequest(template="dispute-assigned/mediator", values=values,
                                                               locale="en"), metadata=CLERK)
    assert fallback.locale == "zh-CN" and "请在期限内开展调解" in fallback.body
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await n.Preview(notification_pb2.PreviewRequest(template="dispute-assigned/party", values={"name": "x"}),
                        metadata=CLERK)
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
