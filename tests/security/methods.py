"""Every RPC of the platform, read from the generated contracts (proto descriptors),
with the method-level rule its service's interceptor enforces: so a method added to
a .proto without a rule is found by the tests, not by a caller."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from liandiao.auth import Role

SERVICES = ("intake", "personnel", "routing", "mediation", "confirmation", "notification", "statistics")


@dataclass(frozen=True)
class Method:
    service: str          # intake, personnel, ...
    full_name: str        # liandiao.intake.v1.IntakeService/GetDispute
    name: str             # GetDispute
    input_type: type      # the request message class


def all_methods() -> list[Method]:
    out = []
    for service in SERVICES:
        pb2 = importlib.import_module(f"liandiao.{service}.v1.{service}_pb2")
        for desc in pb2.DESCRIPTOR.services_by_name.values():
            for m in desc.methods:
                out.append(Method(service, f"{desc.full_name}/{m.name}", m.name,
                                  getattr(pb2, m.input_type.name)))
    return out


def policies() -> Mapping[str, Mapping[str, frozenset[Role]]]:
    """Each service's method policy, as its main module hands it to the interceptor."""
    out = {}
    for service in SERVICES:
        main = importlib.import_module(f"services.{service}.main")
        out[service] = main.app.policy
    return out


def identity_channel(services, target: str, identity: str):
    """A channel to the local service ``target`` presenting ``identity``'s own certificate
    when the services run over mutual TLS (a service token is refused on a connection
    certified as another: liandiao.rpc.server), plain text otherwise."""
    from liandiao.rpc.channel import open_channel
    return open_channel(services.address(target), services.client_tls(identity), retry=False)
