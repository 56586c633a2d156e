"""gRPC stubs with a caller token, for the demo, tests and benchmarks."""

from __future__ import annotations

import grpc

from liandiao import auth
from liandiao.devtools.issuer import dev_issuer


def token(role: auth.Role, subject: str = "demo", organization_id: str = "demo-org",
          region_scope: tuple[str, ...] = ("15",)) -> tuple[tuple[str, str]]:
    """Call metadata carrying a token of the local development issuer."""
    claims = auth.Claims(subject=subject, organization_id=organization_id, role=role, region_scope=region_scope)
    return (("authorization", "Bearer " + dev_issuer().issue(claims)),)


def channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(address)
