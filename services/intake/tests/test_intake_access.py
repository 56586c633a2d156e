"""Intake's registration path under the access policy (issue 7): a retried request id
answers only a caller who may see the dispute, a duplicate is never linked to (nor
shown from) a dispute the caller may not see, and a police station's or court's own
referral names the organization of its token, not one the request chose."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest

from liandiao.auth import Claims, Role
from liandiao.errors import InvalidInput, NotFound
from services.intake.app import POSSIBLE_DUPLICATE, DisputeQuery
from services.intake.domain.model import Referral, ReferralKind, Source
from services.intake.tests.test_intake_store import T0, intake, new_id, police, pool, registration  # noqa: F401

pytestmark = pytest.mark.stack
HOHHOT = Claims("clerk-1", "office-1", Role.CLERK, ("1501",))
# A clerk of one county (回民区) of the same prefecture, and of another prefecture.
HUIMIN = Claims("clerk-2", "office-2", Role.CLERK, ("150103",))
BAOTOU = Claims("clerk-3", "office-3", Role.CLERK, ("1502",))


@pytest.fixture
def ids() -> tuple[str, str]:
    rng = random.Random(uuid.uuid4().int)
    return new_id(rng), new_id(rng)


async def test_a_retried_request_id_is_answered_only_to_who_may_see_the_dispute(intake, ids):  # noqa: F811
    reg = registration(ids)
    first = await intake.register(reg, HOHHOT, T0)
    for outsider in (BAOTOU, HUIMIN, Claims("officer-1", "station-9", Role.POLICE, ("1501",))):
        with pytest.raises(NotFound) as refused:
            await intake.register(reg, outsider, T0)
        # Nothing of the dispute in the answer: not its id, not its parties.
        assert str(first.record.dispute.dispute_id) not in str(refused.value)
        assert "王建国" not in str(refused.value)
    again = await intake.register(reg, HOHHOT, T0)
    assert again.replayed and again.record.dispute.dispute_id == first.record.dispute.dispute_id


async def test_a_request_id_must_be_a_uuid(intake, ids):  # noqa: F811
    with pytest.raises(InvalidInput) as refused:
        await intake.register(registration(ids, request_id="r-1"), HOHHOT, T0)
    assert [v.field for v in refused.value.violations] == ["request_id"]


async def test_a_duplicate_the_caller_may_not_see_is_neither_linked_nor_shown(intake, ids):  # noqa: F811
    first = await intake.register(registration(ids), HOHHOT, T0)            # 新城区
    elsewhere = registration(ids, region_code="150103")                     # the same parties, 回民区
    second = await intake.register(elsewhere, HUIMIN, T0 + timedelta(hours=1))
    assert not second.linked and second.record.dispute.dispute_id != first.record.dispute.dispute_id
    assert POSSIBLE_DUPLICATE in second.warnings
    assert not any(str(first.record.dispute.dispute_id) in w for w in second.warnings)
    # The prefecture's clerk sees both and reconciles them; the county clerk only its own.
    seen = {r.dispute.dispute_id for r in (await intake.list(HUIMIN, DisputeQuery(page_size=100)))[0]}
    assert second.record.dispute.dispute_id in seen and first.record.dispute.dispute_id not in seen
    # A caller who may see the open dispute is linked as before.
    third = await intake.register(registration(ids, **police()), HOHHOT, T0 + timedelta(hours=2))
    assert third.linked and third.record.dispute.dispute_id == first.record.dispute.dispute_id


async def test_a_station_refers_in_its_own_name(intake, ids):  # noqa: F811
    station = Claims("officer-7", "station-1", Role.POLICE, ("1501",))
    with pytest.raises(InvalidInput) as refused:
        await intake.register(registration(ids, **police("station-2")), station, T0)
    assert [v.field for v in refused.value.violations] == ["police.station_org_id"]
    blank = registration(ids, source=Source.POLICE_REFERRAL,
                         referral=Referral(kind=ReferralKind.POLICE, person_id="officer-7", reference="JQ1"))
    mine = await intake.register(blank, station, T0)
    assert mine.record.dispute.referring_org_id == "station-1"
    assert (await intake.get(str(mine.record.dispute.dispute_id), station)).dispute.dispute_id == \
        mine.record.dispute.dispute_id
    court = Claims("judge-1", "court-1", Role.COURT, ("1501",))
    with pytest.raises(InvalidInput) as refused:
        await intake.register(registration(ids, request_id=str(uuid.uuid4()), **police("station-1")), court, T0)
    assert [v.field for v in refused.value.violations] == ["police"]


async def test_only_the_external_systems_adapter_names_a_referring_system(intake, ids, pool):  # noqa: F811
    """The system named is where results go back (notification's webhooks): a clerk, a station
    or another service cannot name one; the adapter's identity can, and the event carries it
    with the station's own reference (issue 10)."""
    from services.intake.app import EXTERNAL_SYSTEMS
    from services.intake.tests.test_intake_store import events_of

    for who in (HOHHOT, Claims("officer-7", "station-1", Role.POLICE, ("1501",)),
                Claims("routing", "liandiao", Role.SERVICE, ("15",))):
        with pytest.raises(InvalidInput) as refused:
            await intake.register(registration(ids, referring_system_id="police-1501", **police()), who, T0)
        assert [v.field for v in refused.value.violations] == ["referring_system_id"]
    adapter = Claims(EXTERNAL_SYSTEMS, "liandiao", Role.SERVICE, ("15",))
    made = await intake.register(registration(ids, referring_system_id="police-1501", **police()), adapter, T0)
    assert made.record.dispute.referring_system_id == "police-1501"
    from liandiao.intake.v1 import intake_pb2
    [(payload, _)] = await events_of(pool, made.record.dispute.dispute_id, "intake.dispute-registered.v1")
    event = intake_pb2.DisputeRegistered.FromString(payload)
    assert (event.referring_system_id, event.referral_reference) == ("police-1501", "JQ20261123001")
