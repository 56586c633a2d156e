"""The Supervisor keeps a service's background tasks running (issue 6): a task that
fails or ends early is restarted with backoff, and readiness sees it as down meanwhile."""

from __future__ import annotations

import asyncio

from liandiao.supervise import Supervisor


async def test_a_failing_task_is_restarted_and_reported_down_while_it_waits():
    stopping = asyncio.Event()
    runs: list[int] = []
    release = asyncio.Event()

    async def relay():
        runs.append(1)
        if len(runs) < 3:
            raise ConnectionResetError("connection is closed")
        await release.wait()
        await stopping.wait()

    sup = Supervisor("t", stopping, first_delay=0.2, max_delay=0.2)
    sup.start("relay", relay)
    await asyncio.sleep(0.05)
    assert sup.down() == ["relay"]          # failed once, in its backoff
    await asyncio.sleep(0.6)
    assert len(runs) == 3 and sup.down() == []
    stopping.set()
    release.set()
    await sup.stop(timeout=1)


async def test_a_loop_that_returns_while_not_stopping_is_started_again():
    stopping = asyncio.Event()
    runs: list[int] = []

    async def sweep():
        runs.append(1)
        if len(runs) >= 2:
            await stopping.wait()

    sup = Supervisor("t", stopping, first_delay=0.01)
    sup.start("sweep", sweep)
    await asyncio.sleep(0.1)
    assert len(runs) == 2
    stopping.set()
    await sup.stop(timeout=1)


async def test_a_start_up_job_is_retried_until_it_completes_then_left_alone():
    stopping = asyncio.Event()
    runs: list[int] = []

    async def firm_up():
        runs.append(1)
        if len(runs) == 1:
            raise TimeoutError("database not there yet")

    sup = Supervisor("t", stopping, first_delay=0.01)
    sup.start("firm-up", firm_up, once=True)
    await asyncio.sleep(0.1)
    assert len(runs) == 2 and sup.down() == []
    stopping.set()
    await sup.stop(timeout=1)


async def test_an_optional_task_does_not_make_the_service_unready():
    stopping = asyncio.Event()

    async def retention():
        raise OSError("disk full")

    sup = Supervisor("t", stopping, first_delay=5)
    sup.start("retention", retention, required=False)
    await asyncio.sleep(0.05)
    assert sup.down() == []
    stopping.set()
    await sup.stop(timeout=1)


async def test_the_backoff_grows_and_starts_again_after_a_healthy_run():
    stopping = asyncio.Event()
    times: list[float] = []
    loop = asyncio.get_running_loop()

    async def task():
        times.append(loop.time())
        if len(times) == 4:
            await asyncio.sleep(0.25)   # a healthy run (healthy_after=0.2)
        raise RuntimeError("boom")

    sup = Supervisor("t", stopping, first_delay=0.04, max_delay=1.0, healthy_after=0.2)
    sup.start("task", task)
    while len(times) < 6:
        await asyncio.sleep(0.01)
    stopping.set()
    await sup.stop(timeout=1)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[1] > gaps[0] * 1.4 and gaps[2] > gaps[1] * 1.4     # 0.04, 0.08, 0.16 (jitter 0.75-1)
    assert gaps[4] < gaps[2]                                          # reset after the healthy run
