"""Service-to-service identities (issue 7): each service calls others with its own
short-lived token, limited to the methods of its list in liandiao.auth.SERVICE_METHODS;
in production the token comes from a file, read again when it changes."""

from __future__ import annotations

import os
import time

import grpc
import pytest

from liandiao import auth
from liandiao.auth import Role
from liandiao.devtools.clients import service_token, token
from liandiao.devtools.issuer import dev_issuer
from liandiao.intake.v1 import intake_pb2
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc


def test_a_service_may_call_only_the_methods_of_its_own_list():
    routing = auth.service_claims("routing")
    find = "liandiao.personnel.v1.PersonnelService/FindEligibleMediators"
    everyone = auth.PEOPLE | {Role.SERVICE}
    assert auth.may_call(routing, find, everyone)
    assert not auth.may_call(routing, "liandiao.intake.v1.IntakeService/RegisterDispute", everyone)
    assert not auth.may_call(auth.service_claims("intake"), find, everyone)
    # A token naming a service the platform does not know calls nothing.
    stranger = auth.Claims("billing", "liandiao", Role.SERVICE, ("15",))
    assert not auth.may_call(stranger, find, everyone)
    # No rule for the method: nobody, service or person.
    assert not auth.may_call(routing, find, None)
    assert not auth.may_call(auth.Claims("p", "o", Role.OPERATOR, ("15",)), find, None)
    with pytest.raises(ValueError):
        auth.service_claims("billing")


def test_every_listed_method_exists_in_the_contracts():
    from tests.security.methods import all_methods
    known = {m.full_name for m in all_methods()}
    for service, methods in auth.SERVICE_METHODS.items():
        assert methods <= known, (service, methods - known)


def test_a_production_service_token_is_read_from_its_file_again_when_it_changes(tmp_path):
    path = tmp_path / "token"
    first = dev_issuer().issue(auth.service_claims("routing"), ttl_seconds=60)
    path.write_text(first + "\n")
    held = auth.service_token("routing", {auth.SERVICE_TOKEN_FILE: str(path)}, production=True)
    assert held.metadata() == (("authorization", "Bearer " + first),)
    renewed = dev_issuer().issue(auth.service_claims("routing"), ttl_seconds=120, issued_at=int(time.time()) + 1)
    path.write_text(renewed)
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert held.current() == renewed


def test_production_without_a_token_file_says_which_variable():
    with pytest.raises(ValueError, match=auth.SERVICE_TOKEN_FILE):
        auth.service_token("routing", {}, production=True)


def test_development_mints_short_lived_tokens_and_renews_them():
    held = auth.service_token("routing", {}, production=False)
    verifier = auth.TokenVerifier(dev_issuer().jwks(), issuer=auth.DEV_ISSUER)
    claims = verifier.verify(held.current())
    assert (claims.subject, claims.role) == ("routing", Role.SERVICE)
    assert claims.expires_at - time.time() <= auth.SERVICE_TOKEN_TTL_SECONDS
    held._expires = int(time.time())      # as if it were about to lapse
    assert held.current() != "" and held._expires > time.time() + 60


@pytest.mark.e2e
async def test_a_service_identity_calling_outside_its_list_is_refused(world, services):
    from liandiao.intake.v1 import intake_pb2_grpc
    from tests.security.methods import identity_channel
    stubs, prov = world
    county = prov.counties[0]
    find = personnel_pb2.FindEligibleMediatorsRequest(region_code=county.division.code)
    # Each over its own certificate. Routing may ask personnel; intake may not; nobody's service
    # token registers a dispute.
    async with identity_channel(services, "personnel", "routing") as ch:
        await personnel_pb2_grpc.PersonnelServiceStub(ch).FindEligibleMediators(find, metadata=service_token("routing"))
    for target, identity, call in [
        ("personnel", "intake", lambda ch: personnel_pb2_grpc.PersonnelServiceStub(ch).FindEligibleMediators(
            find, metadata=service_token("intake"))),
        ("intake", "routing", lambda ch: intake_pb2_grpc.IntakeServiceStub(ch).RegisterDispute(
            intake_pb2.RegisterDisputeRequest(), metadata=service_token("routing"))),
        ("intake", "confirmation", lambda ch: intake_pb2_grpc.IntakeServiceStub(ch).ListDisputes(
            intake_pb2.ListDisputesRequest(), metadata=token(Role.SERVICE, subject="confirmation"))),
    ]:
        async with identity_channel(services, target, identity) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(ch)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, refused.value.details()
    # The gateway's connection carries no service's token.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs["personnel"].FindEligibleMediators(find, metadata=service_token("routing"))
    assert refused.value.code() == (grpc.StatusCode.UNAUTHENTICATED if services.tls else grpc.StatusCode.OK)


# ---- a service token must be its connection's certificate's own (mutual TLS) ----------
@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    from liandiao.devtools import certs
    folder = tmp_path_factory.mktemp("certs")
    certs.make_all(folder)
    return folder


def _tls(folder, name: str):
    from liandiao.transport import GrpcTls
    read = lambda n: (folder / n).read_bytes()  # noqa: E731
    return GrpcTls(read(f"{name}.crt"), read(f"{name}.key"), read("ca.crt"), read("ca.crt"))


class _People(personnel_pb2_grpc.PersonnelServiceServicer):
    """A personnel servicer that answers GetPerson with an empty record: the edge's
    decision is what is under test, not personnel."""

    async def GetPerson(self, request, context):
        return personnel_pb2.Person(person_id=request.person_id)


async def test_a_service_token_over_another_services_certificate_is_refused(pki):
    from liandiao.rpc.channel import open_channel
    from liandiao.rpc.server import build_server

    def register(server):
        personnel_pb2_grpc.add_PersonnelServiceServicer_to_server(_People(), server)
        return ["liandiao.personnel.v1.PersonnelService"]

    verifier = auth.TokenVerifier.from_file(auth.DEV_JWKS_FILE, issuer=auth.DEV_ISSUER, audience=auth.AUDIENCE)
    server, _, port, _ = build_server("personnel", 0, verifier, {"GetPerson": auth.PEOPLE}, register,
                                      tls=_tls(pki, "personnel"))
    await server.start()
    ask = personnel_pb2.GetPersonRequest(person_id="p-1")
    outcomes = {}
    try:
        # routing's and mediation's lists both hold GetPerson: only the token's own certificate decides.
        for certificate, metadata, who in [("routing", service_token("routing"), "routing's token, routing's cert"),
                                           ("mediation", service_token("routing"), "routing's token, mediation's cert"),
                                           ("gateway", service_token("routing"), "routing's token, gateway's cert"),
                                           ("gateway", token(Role.CLERK), "a clerk's token, gateway's cert")]:
            async with open_channel(f"127.0.0.1:{port}", _tls(pki, certificate), retry=False) as chan:
                stub = personnel_pb2_grpc.PersonnelServiceStub(chan)
                try:
                    got = await stub.GetPerson(ask, metadata=metadata, timeout=5)
                    outcomes[who] = "OK" if got.person_id == "p-1" else "wrong answer"
                except grpc.aio.AioRpcError as exc:
                    outcomes[who] = exc.code().name
                    assert "p-1" not in (exc.details() or "")
    finally:
        await server.stop(0)
    assert outcomes == {"routing's token, routing's cert": "OK",
                        "routing's token, mediation's cert": "UNAUTHENTICATED",
                        "routing's token, gateway's cert": "UNAUTHENTICATED",
                        "a clerk's token, gateway's cert": "OK"}
