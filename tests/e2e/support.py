"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from liandiao.auth import Role
from liandiao.devtools.clients import token

CLERK = token(Role.CLERK, region_scope=("15",))
OPERATOR = token(Role.OPERATOR, region_scope=("15",))


async def eventually(probe, timeout: float = 30.0, interval: float = 0.2):
    """Calls ``probe`` until it returns something truthy; fails with its last error."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = await probe()
            if result:
                return result
        except grpc.aio.AioRpcError as exc:
            last = exc
        await asyncio.sleep(interval)
    pytest.fail(f"not reached within {timeout}s (last: {last})")
