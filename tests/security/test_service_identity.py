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
from liandiao.personnel.v1 import personnel_pb2


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
async def test_a_service_identity_calling_outside_its_list_is_refused(world):
    stubs, prov = world
    county = prov.counties[0]
    find = personnel_pb2.FindEligibleMediatorsRequest(region_code=county.division.code)
    # Routing may ask personnel; intake may not; nobody's service token registers a dispute.
    await stubs["personnel"].FindEligibleMediators(find, metadata=service_token("routing"))
    for call, metadata in [
        (lambda md: stubs["personnel"].FindEligibleMediators(find, metadata=md), service_token("intake")),
        (lambda md: stubs["intake"].RegisterDispute(intake_pb2.RegisterDisputeRequest(), metadata=md),
         service_token("routing")),
        (lambda md: stubs["intake"].ListDisputes(intake_pb2.ListDisputesRequest(), metadata=md),
         token(Role.SERVICE, subject="confirmation")),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(metadata)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, refused.value.details()
