"""Where the party page gets its answers: intake's GetCaseStatus, called with the
console's own service identity (liandiao.auth.SERVICE_METHODS "console"), and the name
of the mediator's organization from personnel (public, as the roster is). The page
itself holds no data and no sign-in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc

Metadata = Sequence[tuple[str, str]]


class Refused(Exception):
    """What the page tells the visitor, as a kind: ``no_match`` (a wrong code and wrong
    digits alike), ``invalid`` (with the fields at fault), ``locked`` (with the minutes
    to wait) or ``unavailable``."""

    def __init__(self, kind: str, fields: dict[str, str] | None = None, retry_after_seconds: int = 0):
        self.kind, self.fields, self.retry_after_seconds = kind, fields or {}, retry_after_seconds
        super().__init__(kind)


class StatusSource(Protocol):
    async def case_status(self, code: str, phone_last4: str, client_address: str,
                          language: str) -> intake_pb2.CaseStatus: ...

    async def organization_name(self, organization_id: str) -> str: ...


@dataclass
class GrpcStatusSource:
    """``intake`` / ``personnel``: make a grpc.aio channel (called once per event loop,
    so the page also runs under a test client's loop); ``metadata``: the console's
    service token as call metadata, fresh on every call (it is short-lived)."""
    intake: Callable[[], grpc.aio.Channel]
    metadata: Callable[[], Metadata]
    personnel: Callable[[], grpc.aio.Channel] | None = None
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        self._channels: dict[tuple[int, str], grpc.aio.Channel] = {}

    def _channel(self, which: str) -> grpc.aio.Channel:
        key = (id(asyncio.get_running_loop()), which)
        if key not in self._channels:
            make = self.intake if which == "intake" else self.personnel
            assert make is not None
            self._channels[key] = make()
        return self._channels[key]

    async def case_status(self, code: str, phone_last4: str, client_address: str,
                          language: str) -> intake_pb2.CaseStatus:
        stub = intake_pb2_grpc.IntakeServiceStub(self._channel("intake"))
        try:
            return await stub.GetCaseStatus(intake_pb2.GetCaseStatusRequest(
                case_code=code, phone_last4=phone_last4, client_address=client_address, language=language),
                metadata=self.metadata(), timeout=self.timeout_seconds)
        except grpc.aio.AioRpcError as err:
            raise refusal(err) from None

    async def organization_name(self, organization_id: str) -> str:
        """"" when it cannot be had: the page then shows the mediator's name alone."""
        if not organization_id or self.personnel is None:
            return ""
        stub = personnel_pb2_grpc.PersonnelServiceStub(self._channel("personnel"))
        try:
            org = await stub.GetOrganization(personnel_pb2.GetOrganizationRequest(organization_id=organization_id),
                                             metadata=self.metadata(), timeout=self.timeout_seconds)
        except grpc.aio.AioRpcError:
            return ""
        return org.name

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()


def refusal(err: grpc.aio.AioRpcError) -> Refused:
    code = err.code()
    if code == grpc.StatusCode.NOT_FOUND:
        return Refused("no_match")
    status = None
    try:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
    except ValueError:
        pass
    fields: dict[str, str] = {}
    retry = 0
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            fields.update({v.field: v.description for v in br.field_violations})
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            ri = error_details_pb2.RetryInfo()
            detail.Unpack(ri)
            retry = ri.retry_delay.seconds
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return Refused("invalid", fields)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return Refused("locked", retry_after_seconds=retry)
    return Refused("unavailable")
