"""The services, as the console calls them: one channel per service for the process, and
each call made with the signed-in person's own token, so that the services' access rules
(liandiao.access) decide what the person sees. A refusal becomes an exception the pages
turn into what a person understands (errors.py)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from liandiao.confirmation.v1 import confirmation_pb2_grpc
from liandiao.intake.v1 import intake_pb2_grpc
from liandiao.mediation.v1 import mediation_pb2_grpc
from liandiao.notification.v1 import notification_pb2_grpc
from liandiao.personnel.v1 import personnel_pb2_grpc
from liandiao.routing.v1 import routing_pb2_grpc
from liandiao.rpc import channel as rpc_channel
from liandiao.statistics.v1 import statistics_pb2_grpc
from services.console.config import ConsoleSettings

_STUBS = {
    "intake": intake_pb2_grpc.IntakeServiceStub,
    "personnel": personnel_pb2_grpc.PersonnelServiceStub,
    "routing": routing_pb2_grpc.RoutingServiceStub,
    "mediation": mediation_pb2_grpc.MediationServiceStub,
    "confirmation": confirmation_pb2_grpc.ConfirmationServiceStub,
    "notification": notification_pb2_grpc.NotificationServiceStub,
    "statistics": statistics_pb2_grpc.StatisticsServiceStub,
}


class Backend:
    """Stubs over long-lived channels (the platform's retry policy and size limits)."""

    def __init__(self, settings: ConsoleSettings):
        self.settings = settings
        self.channels: dict[str, grpc.aio.Channel] = {}
        self.stubs: dict[str, object] = {}

    def open(self) -> None:
        for name, stub in _STUBS.items():
            ch = rpc_channel.open_channel(self.settings.addresses[name], self.settings.grpc_tls)
            self.channels[name] = ch
            self.stubs[name] = stub(ch)

    async def close(self) -> None:
        for ch in self.channels.values():
            await ch.close()

    def as_person(self, token: str) -> Caller:
        return Caller(self, (("authorization", "Bearer " + token),))


@dataclass(frozen=True)
class Caller:
    """The services as one person: ``await caller.intake.GetDispute(request)``."""
    backend: Backend
    metadata: tuple[tuple[str, str], ...]

    def __getattr__(self, service: str) -> _Bound:
        try:
            stub = self.backend.stubs[service]
        except KeyError:
            raise AttributeError(service) from None
        return _Bound(stub, self.metadata, self.backend.settings.call_timeout)


@dataclass(frozen=True)
class _Bound:
    stub: object
    metadata: tuple[tuple[str, str], ...]
    timeout: float

    def __getattr__(self, method: str):
        rpc = getattr(self.stub, method)

        async def call(request):
            return await rpc(request, metadata=self.metadata, timeout=self.timeout)
        return call
