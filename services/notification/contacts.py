"""Where a message goes: recipients' real phones and e-mail addresses, read at the moment
they are needed from the services that keep them (intake for a dispute's parties,
personnel for staff), over gRPC with notification's own service token (docs/decisions.md
"No raw personal data in events"). Nothing here logs an address; the app keeps what it read
encrypted for a short lifetime (store.contact_lookups)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import grpc

from liandiao.auth import ServiceToken
from liandiao.intake.v1 import intake_pb2, intake_pb2_grpc
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc
from liandiao.rpc.channel import open_channel
from liandiao.rpc.enums import CASE_SOURCE
from liandiao.transport import GrpcTls

# Not now: the lookup is tried again (the consumer waits these out, as a database outage).
_NOT_NOW = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                      grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED})


class ContactsUnavailable(ConnectionError):
    """The service that keeps the addresses did not answer; the event is handled again
    later (an OSError, so the consumer waits it out without spending attempts)."""


@dataclass(frozen=True)
class Found:
    addresses: Mapping[str, str] = field(default_factory=dict)   # channel -> address
    language: str = ""
    agents: tuple[tuple[str, str], ...] = ()   # a party's agents: (agent id, name)


@dataclass(frozen=True)
class System:
    """A case system that referred the dispute: it hears results at its webhook."""
    system_id: str
    organization_id: str
    reference: str
    source: str        # the CaseSource's domain name, e.g. "police_referral"


class Directory(Protocol):
    async def parties(self, dispute_id: str) -> dict[str, Found]:
        """Each party's (and, keyed by agent id, each agent's) addresses; {} if unknown."""

    async def person(self, person_id: str) -> Found | None:
        """A member of staff's addresses; None if unknown."""

    async def referring_systems(self, dispute_id: str) -> list[System]:
        """Every case system that referred the dispute (a linked duplicate too), first first."""


def _sms_email(phone: str, email: str = "") -> dict[str, str]:
    return {k: v for k, v in (("sms", phone), ("email", email)) if v}


class GrpcDirectory:
    """Reads intake's GetDisputeContacts and personnel's GetPersonContact."""

    def __init__(self, intake_address: str, personnel_address: str, tls: GrpcTls | None, token: ServiceToken,
                 timeout_seconds: float = 3.0):
        self.token, self.timeout, self.tls = token, timeout_seconds, tls
        self.addresses = {"intake": intake_address, "personnel": personnel_address}
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _channel(self, service: str) -> grpc.aio.Channel:
        # Opened on first use, inside the running event loop the calls run on.
        if service not in self._channels:
            self._channels[service] = open_channel(self.addresses[service], self.tls)
        return self._channels[service]

    @property
    def _intake(self):
        return intake_pb2_grpc.IntakeServiceStub(self._channel("intake")) if self.addresses["intake"] else None

    @property
    def _personnel(self):
        return personnel_pb2_grpc.PersonnelServiceStub(self._channel("personnel")) \
            if self.addresses["personnel"] else None

    async def _call(self, method, request):
        try:
            return await method(request, metadata=self.token.metadata(), timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _NOT_NOW:
                raise ContactsUnavailable(f"contact lookup: {exc.code().name}") from None
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise

    async def parties(self, dispute_id: str) -> dict[str, Found]:
        if self._intake is None:
            return {}
        reply = await self._call(self._intake.GetDisputeContacts,
                                 intake_pb2.GetDisputeContactsRequest(dispute_id=dispute_id))
        out: dict[str, Found] = {}
        for p in reply.parties if reply else ():
            out[p.party_id] = Found(_sms_email(p.phone, p.email), p.language,
                                    tuple((a.agent_id, a.name) for a in p.agents))
            for a in p.agents:
                out[a.agent_id] = Found(_sms_email(a.phone), p.language)
        return out

    async def referring_systems(self, dispute_id: str) -> list[System]:
        if self._intake is None:
            return []
        reply = await self._call(self._intake.GetDisputeContacts,
                                 intake_pb2.GetDisputeContactsRequest(dispute_id=dispute_id))
        return [System(r.system_id, r.organization_id, r.reference, CASE_SOURCE.to_domain(r.source) or "")
                for r in (reply.referring_systems if reply else ())]

    async def person(self, person_id: str) -> Found | None:
        if self._personnel is None:
            return None
        reply = await self._call(self._personnel.GetPersonContact,
                                 personnel_pb2.GetPersonContactRequest(person_id=person_id))
        return Found(_sms_email(reply.phone, reply.email), reply.language) if reply else None
