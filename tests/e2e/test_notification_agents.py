"""A party's agent (代理人) is an audience (issue 10): intake's contacts name the agents,
notification tells each what their party is told, in the party's language, at the agent's
own phone, and the party's messages are readable by that agent and the case's mediator, not
by another party's agent or another mediator."""

from __future__ import annotations

import random
from datetime import date

import pytest

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.devtools import province
from liandiao.devtools.clients import token
from liandiao.intake.v1 import intake_pb2
from liandiao.notification.v1 import notification_pb2
from liandiao.personnel.v1 import personnel_pb2 as pp
from liandiao.routing.v1 import routing_pb2
from tests.e2e.support import CLERK, OPERATOR, eventually

pytestmark = pytest.mark.e2e
AGENT_PHONE = "13900139077"
DONE = {notification_pb2.DELIVERY_STATUS_SENT, notification_pb2.DELIVERY_STATUS_DELIVERED}


async def test_an_agent_is_told_what_their_party_is_told_and_reads_the_party_s_messages(world, sms):
    stubs, prov = world
    rng = random.Random(7481)     # a seed of its own: the same parties twice would be one dispute
    req = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
    req.parties[1].language = "mn"          # the agent's party reads Mongolian: so does what the agent gets
    agent_number = province.resident_id(random.Random(7482), req.region_code, date(1979, 3, 4), True)
    req.parties[1].agents.append(intake_pb2.AgentInput(
        name="巴特尔", phone=AGENT_PHONE, authority=intake_pb2.AGENT_AUTHORITY_GENERAL,
        id_document=intake_pb2.IdDocument(type=intake_pb2.ID_DOCUMENT_TYPE_RESIDENT_ID, number=agent_number)))
    d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute
    n = stubs["notification"]
    listing = notification_pb2.ListDeliveriesRequest(dispute_id=d.dispute_id, page_size=100)

    async def registered():
        got = [x for x in (await n.ListDeliveries(listing, metadata=CLERK)).deliveries
               if x.template == "dispute-registered/party" and x.status in DONE]
        return got if len(got) == len(req.parties) + 1 else None

    told = await eventually(registered)
    [to_agent] = [x for x in told if x.recipient_kind == notification_pb2.RECIPIENT_KIND_AGENT]
    party_ids = {x.recipient_id for x in told if x.recipient_kind == notification_pb2.RECIPIENT_KIND_PARTY}
    [represented] = [p.party_id for p in d.parties if p.agents]
    [unrepresented] = [p.party_id for p in d.parties if not p.agents]
    [to_party] = [x for x in told if x.recipient_id == represented]
    assert to_agent.channel == notification_pb2.CHANNEL_SMS and to_agent.locale == to_party.locale
    assert "巴特尔" not in to_agent.body and req.parties[1].name not in to_agent.body     # listings mask names
    [sent] = [m for m in sms.state.messages if m["out_id"] == to_agent.delivery_id]
    assert sent["phone"] == AGENT_PHONE                       # the agent's own phone, read from intake
    assert "巴特尔" in sent["content"] and req.parties[1].name in sent["content"]   # whose agent, whose message
    assert d.dispute_id[-8:] in sent["content"]

    # Read access: the agent reads their party's messages and their own, not the other party's.
    agent = token(Role.LAWYER, subject=to_agent.recipient_id, region_scope=(d.region_code[:4],))
    seen = {x.recipient_id for x in (await n.ListDeliveries(listing, metadata=agent)).deliveries}
    assert seen == {to_agent.recipient_id, represented}
    assert unrepresented in party_ids
    stranger = token(Role.LAWYER, subject="agent-of-nobody", region_scope=(d.region_code[:4],))
    assert not (await n.ListDeliveries(listing, metadata=stranger)).deliveries

    # The case's mediator, once assigned, reads the parties' messages sent before; another does not.
    async def placed():
        a = await stubs["routing"].GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=d.dispute_id),
                                                 metadata=CLERK)
        return a if a.mediator_id else None

    offer = await eventually(placed)
    if offer.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED:
        await stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
            dispute_id=d.dispute_id, mediator_id=offer.mediator_id),
            metadata=token(Role.MEDIATOR, subject=offer.mediator_id))
    mediator = token(Role.MEDIATOR, subject=offer.mediator_id, region_scope=(d.region_code[:4],))

    async def mediator_sees():
        got = {x.recipient_id for x in (await n.ListDeliveries(listing, metadata=mediator)).deliveries}
        return got if party_ids | {to_agent.recipient_id} <= got else None

    await eventually(mediator_sees)

    # What the party is told of the assignment, the agent is told too, in the party's Mongolian.
    async def assigned_to_agent():
        got = [x for x in (await n.ListDeliveries(listing, metadata=CLERK)).deliveries
               if x.template == "dispute-assigned/party" and x.recipient_id == to_agent.recipient_id
               and x.status in DONE]
        return got or None

    [assigned] = await eventually(assigned_to_agent)
    assert assigned.locale == "mn-Mong"
    [sent] = [m for m in sms.state.messages if m["out_id"] == assigned.delivery_id]
    assert sent["phone"] == AGENT_PHONE and "ᠮᠠᠷᠭᠤᠯᠳᠤᠭᠠᠨ" in sent["content"]
    other = token(Role.MEDIATOR, subject="another-mediator", region_scope=(d.region_code[:4],))
    assert not (await n.ListDeliveries(listing, metadata=other)).deliveries

    # Leave nothing in flight: personnel's performance file has counted the acceptance (a later
    # test that counts one more case for a mediator must not count this one).
    async def filed():
        f = await stubs["personnel"].GetPerformanceFile(pp.GetPerformanceFileRequest(person_id=offer.mediator_id),
                                                        metadata=OPERATOR)
        return any(c.dispute_id == d.dispute_id for c in f.cases) or None

    await eventually(filed)
