"""Load: a burst far above what a service takes at once is answered with
RESOURCE_EXHAUSTED, which the platform's client channel retries with backoff,
never with a lost or half-done registration; oversized requests are refused
without harming the server.

Runs its own intake with a concurrency limit of 4, on a database of its own and
with registrations in a prefecture (1501) that no other test has mediators in, so
its events change nothing the other end-to-end tests look at."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Iterator

import asyncpg
import grpc
import pytest

from liandiao.common.v1 import common_pb2
from liandiao.devtools import metrics, province, reset
from liandiao.devtools.clients import channel, until_answered
from liandiao.devtools.localrun import REPO, LocalServices
from liandiao.ids import children
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.rpc.limits import MIB
from tests.e2e.support import CLERK

pytestmark = pytest.mark.e2e

LIMIT = 4
BURST = 60


@pytest.fixture(scope="module")
def load_dsn(stack_env) -> str:
    dsn = stack_env["LIANDIAO_DATABASE_URL"].rsplit("/", 1)[0] + "/liandiao_load"

    async def prepare() -> None:
        await reset.ensure_database(stack_env["LIANDIAO_DATABASE_URL"], "liandiao_load")
        await reset.drop_schemas(dsn)

    asyncio.run(prepare())
    return dsn


@pytest.fixture(scope="module")
def intake(stack_env, load_dsn) -> Iterator[LocalServices]:
    env = {**stack_env, "LIANDIAO_DATABASE_URL": load_dsn, "LIANDIAO_RELEASE": f"load-{uuid.uuid4().hex[:8]}",
           "LIANDIAO_GRPC_MAX_CONCURRENT_RPCS": str(LIMIT), "LIANDIAO_OUTBOX_POLL_MS": "200"}
    local = LocalServices(env=env, log_dir=REPO / ".state" / "logs" / "load", base_port=22060, metrics_base_port=9660,
                          services=("intake",))
    local.start()
    try:
        asyncio.run(local.wait_serving(timeout=90))
        yield local
    finally:
        local.stop()


def registrations(n: int, seed: int) -> list[intake_pb2.RegisterDisputeRequest]:
    rng = random.Random(seed)
    counties = [province.County(d, townships=list(children(d.code))[:2], judicial_office=str(uuid.uuid4()))
                for d in list(children("1501"))[:3]]
    prov = province.Province(counties=counties)
    return [province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION) for _ in range(n)]


async def _burst(stub, requests) -> list[intake_pb2.RegisterDisputeResponse | grpc.aio.AioRpcError]:
    """Every call in flight at once, as many counters pressing Enter together."""
    return await asyncio.gather(*(stub.RegisterDispute(r, metadata=CLERK, timeout=60) for r in requests),
                                return_exceptions=True)


def _codes(replies) -> Counter[str]:
    return Counter(r.code().name if isinstance(r, grpc.aio.AioRpcError) else "OK" for r in replies)


async def test_a_burst_over_the_limit_is_refused_retryably_and_lands_exactly_once_with_retries(intake, load_dsn):
    first, second = registrations(BURST, seed=1), registrations(BURST, seed=2)

    async with channel(intake.address("intake"), retry=False) as bare:
        replies = await _burst(intake_pb2_grpc.IntakeServiceStub(bare), first)
    codes = _codes(replies)
    # Over the limit means "not now", never a half answer: only OK and RESOURCE_EXHAUSTED.
    assert set(codes) == {"OK", "RESOURCE_EXHAUSTED"}, codes
    refused = [r for r, reply in zip(first, replies, strict=True) if isinstance(reply, grpc.aio.AioRpcError)]

    # The platform's channel retries with backoff (at most 5 attempts, gRPC's cap), and
    # a client whose attempts are spent asks again with the same request id
    # (until_answered), as real counters do: the refused ones again together with a
    # new burst, all answered. On a loaded machine the channel alone may not suffice.
    async with channel(intake.address("intake")) as retrying:
        stub = intake_pb2_grpc.IntakeServiceStub(retrying)
        replies = await asyncio.gather(*(until_answered(
            lambda r=r: stub.RegisterDispute(r, metadata=CLERK, timeout=60)) for r in refused + second),
            return_exceptions=True)
    assert _codes(replies) == {"OK": len(refused) + BURST}
    rejected = metrics.total(intake.metrics_port("intake"), "liandiao_grpc_server_handled_total",
                             method="RegisterDispute", code="RESOURCE_EXHAUSTED")
    assert rejected >= len(refused), "the second burst should have met the limit too"

    # Exactly once, whole: one dispute per request id, with its parties and its event.
    ids = [r.request_id for r in first + second]
    conn = await asyncpg.connect(load_dsn)
    try:
        per_request = await conn.fetch(
            "select request_id::text, count(*) as n from intake.disputes where request_id::text = any($1) "
            "group by request_id", ids)
        assert len(per_request) == len(ids) and {r["n"] for r in per_request} == {1}
        parties = await conn.fetch(
            "select d.dispute_id, count(p.party_id) as n from intake.disputes d left join intake.parties p using (dispute_id) "
            "where d.request_id::text = any($1) group by d.dispute_id", ids)
        assert {r["n"] for r in parties} == {2}
        events = await conn.fetch(
            "select o.headers->>'dispute-id' as dispute, count(*) as n from intake.outbox o "
            "join intake.disputes d on d.dispute_id::text = o.headers->>'dispute-id' "
            "where o.event_type = 'intake.dispute-registered.v1' and d.request_id::text = any($1) group by 1", ids)
        assert len(events) == len(ids) and {r["n"] for r in events} == {1}
    finally:
        await conn.close()


async def test_health_answers_while_the_service_is_saturated(intake):
    """Probes are not counted against the limit: a busy service is not restarted as dead."""
    stop = asyncio.Event()
    answers: Counter[str] = Counter()
    requests = iter(registrations(2000, seed=3))

    async def client(stub):
        while not stop.is_set():
            try:
                await stub.RegisterDispute(next(requests), metadata=CLERK, timeout=30)
                answers["OK"] += 1
            except grpc.aio.AioRpcError as exc:
                answers[exc.code().name] += 1

    async with channel(intake.address("intake"), retry=False) as bare:
        stub = intake_pb2_grpc.IntakeServiceStub(bare)
        clients = [asyncio.create_task(client(stub)) for _ in range(6 * LIMIT)]
        await asyncio.sleep(0.5)
        health = [await intake.health("intake") for _ in range(10)]
        stop.set()
        await asyncio.gather(*clients)
    assert answers["RESOURCE_EXHAUSTED"] > 0, answers      # it was saturated
    assert health == ["SERVING"] * 10


@pytest.mark.parametrize("retry", [False, True])
async def test_a_request_over_4_mib_is_refused_and_the_server_carries_on(intake, load_dsn, retry):
    huge = registrations(1, seed=10 + retry)[0]
    huge.facts = "x" * (5 * MIB)
    async with channel(intake.address("intake"), retry=retry) as platform, \
            grpc.aio.insecure_channel(intake.address("intake")) as raw:
        # The platform's channel refuses it before sending; a client without limits
        # sends it and the server refuses it on receipt.
        for ch in (platform, raw):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await intake_pb2_grpc.IntakeServiceStub(ch).RegisterDispute(huge, metadata=CLERK, timeout=30)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "larger than max" in (err.value.details() or "")
        normal = registrations(1, seed=20 + retry)[0]
        reply = await intake_pb2_grpc.IntakeServiceStub(platform).RegisterDispute(normal, metadata=CLERK, timeout=30)
    assert reply.dispute.status == intake_pb2.DISPUTE_STATUS_REGISTERED
    assert intake.procs["intake"].poll() is None and await intake.health("intake") == "SERVING"
    conn = await asyncpg.connect(load_dsn)
    try:
        assert await conn.fetchval("select count(*) from intake.disputes where request_id::text = $1",
                                   huge.request_id) == 0
    finally:
        await conn.close()
