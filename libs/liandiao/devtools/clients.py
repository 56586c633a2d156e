"""gRPC stubs with a caller token, for the demo, tests and benchmarks."""

from __future__ import annotations

import grpc

from liandiao import auth
from liandiao.config import _DEV_AUTH_SECRET

DEV_SECRET = _DEV_AUTH_SECRET


def token(role: auth.Role, subject: str = "demo", organization_id: str = "demo-org",
          region_scope: tuple[str, ...] = ("15",), secret: bytes = DEV_SECRET) -> tuple[tuple[str, str]]:
    """Call metadata carrying a signed token."""
    claims = auth.Claims(subject=subject, organization_id=organization_id, role=role, region_scope=region_scope)
    return (("authorization", "Bearer " + auth.issue(secret, claims)),)


def channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(address)
