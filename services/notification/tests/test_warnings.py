"""Early warnings (PML Art.25) reach the liaison officers of the offices that have not
acknowledged, tier by tier as intake re-publishes risk-flagged with a higher level;
people come from personnel's person-changed, kept as notification's own projection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from liandiao.auth import Claims, Role
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.intake.v1 import intake_pb2
from liandiao.personnel.v1 import personnel_pb2 as pp
from liandiao.pii import PiiCipher
from services.notification import config
from services.notification.app import Notification
from services.notification.channels import ConsoleChannel
from services.notification.store import Store

pytestmark = pytest.mark.stack
CFG = config.load({})
CLERK = Claims("clerk-1", "office-1", Role.CLERK, ("15",))
NOW = datetime.now(UTC)
VILLAGE = "150502001203"


def person(kind: int, region: str, name: str, roles=(pp.ROLE_LIAISON_OFFICER,), at=NOW) -> ConsumedEvent:
    payload = pp.PersonChanged(person=pp.Person(person_id=f"p-{uuid.uuid4()}", name=name, organization_id="o",
                                                roles=list(roles), region_codes=[region], languages=["zh"],
                                                masked_phone="139****0000"),
                               organization_region_code=region, organization_kind=kind)
    env = Envelope(str(uuid.uuid4()), "personnel.person-changed.v1", at, "", region, "", "")
    return ConsumedEvent(env, payload, "t")


def flagged(dispute_id: str, level: int, offices: list[str]) -> ConsumedEvent:
    payload = intake_pb2.RiskFlagged(dispute_id=dispute_id, region_code=VILLAGE, risk_score=80,
                                     reasons=["threats"], escalation_level=level, unacknowledged_offices=offices)
    env = Envelope(str(uuid.uuid4()), "intake.risk-flagged.v1", NOW + timedelta(hours=2 * level), dispute_id,
                   VILLAGE, "", "")
    return ConsumedEvent(env, payload, "t")


@pytest.fixture
async def n(service_pool):
    async with service_pool("notification") as pool:
        await pool.execute("delete from deliveries; delete from people")
        yield Notification(pool, {"console": ConsoleChannel(), "sms": ConsoleChannel(), "email": ConsoleChannel()},
                           routing=CFG.routing, templates=CFG.templates, store=Store(pool, PiiCipher(bytes(32))))


async def test_a_warning_goes_up_township_county_prefecture_to_the_offices_still_missing(n):
    station = person(pp.ORGANIZATION_KIND_POLICE_STATION, "150502001", "巴特尔")
    office = person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "150502001", "乌云")
    county = person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "150502", "张伟")
    prefecture = person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "150500", "刘洋")
    elsewhere = person(pp.ORGANIZATION_KIND_POLICE_STATION, "150502002", "其他")
    mediator = person(pp.ORGANIZATION_KIND_JUDICIAL_OFFICE, "150502001", "调解员", roles=(pp.ROLE_MEDIATOR,))
    dispute = str(uuid.uuid4())
    told: list[set[str]] = []
    async with n.pool.acquire() as conn, conn.transaction():
        for p in (station, office, county, prefecture, elsewhere, mediator):
            await n.on_person_changed(conn, p)
    for level, offices in ((0, ["police_station", "judicial_office"]), (1, ["police_station", "judicial_office"]),
                           (2, ["judicial_office"])):   # the station acknowledged after level 1
        event = flagged(dispute, level, offices)
        async with n.pool.acquire() as conn, conn.transaction():
            await n.on_event(conn, event)
        rows = await n.list(CLERK, dispute, "", 100, 0)
        told.append({d.recipient_id for d in rows if d.source_event_id == uuid.UUID(event.envelope.event_id)})
    ids = {p.payload.person.person_id: p.payload.person.name for p in (station, office, county, prefecture)}
    names = [{ids[i] for i in level} for level in told]
    assert names == [{"巴特尔", "乌云"}, {"巴特尔", "乌云", "张伟"}, {"乌云", "张伟", "刘洋"}]
    rows = await n.list(CLERK, dispute, "", 100, 0)
    assert all(d.recipient_display.startswith(("巴**", "乌*", "张*", "刘*")) for d in rows)
    second = next(d for d in rows if "第 1 次升级" in d.body and d.recipient_id == office.payload.person.person_id)
    assert "尚未确认：派出所、司法所" in second.body and "乌云" in second.body
    assert "乌云" not in second.body_masked and "乌*" in second.body_masked     # what listings show


async def test_an_older_snapshot_of_a_person_does_not_overwrite_a_newer_one(n):
    new = person(pp.ORGANIZATION_KIND_POLICE_STATION, "150502001", "新名")
    old = ConsumedEvent(Envelope(str(uuid.uuid4()), new.envelope.event_type, NOW - timedelta(days=1), "", "", "", ""),
                        pp.PersonChanged(person=pp.Person(person_id=new.payload.person.person_id, name="旧名")), "t")
    async with n.pool.acquire() as conn, conn.transaction():
        await n.on_person_changed(conn, new)
        await n.on_person_changed(conn, old)
        assert (await n.store.person(conn, new.payload.person.person_id)).name == "新名"
