"""Every gRPC method of every service, fuzzed with requests generated from its
protobuf descriptor (hypothesis). Methods are discovered from the generated
stubs, so a new one is fuzzed without a line here.

Each answer must be OK or a refusal a client can act on (INVALID_ARGUMENT with a
google.rpc.BadRequest naming a real field, FAILED_PRECONDITION, NOT_FOUND,
ALREADY_EXISTS, PERMISSION_DENIED); error messages stay bounded whatever the
input; a refusal leaves the service's tables (outbox included) as they were; an
accepted request publishes no event near Kafka's message limit; the process lives.

Derandomized and without an example database: ``make test`` runs the same requests
every time. LIANDIAO_FUZZ_EXAMPLES=2000 for a long run."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from liandiao.auth import Role
from tests.fuzz import harness as h
from tests.fuzz.conftest import EXAMPLES
from tests.fuzz.protostrategies import Builder

pytestmark = pytest.mark.e2e

METHODS = h.all_methods()
MAX_REPORTED = 8


def requests_for(fz: h.Harness, method) -> st.SearchStrategy:
    builder = Builder(hint=fz.hints)
    desc = method.input_type
    plausible = fz.bases.get(desc.full_name)
    if plausible is None:
        plausible = builder.message(desc, plausible=True)
    # Mostly broken versions of a plausible request: that is where defects hide
    # behind the first checks. Some wholly generated ones, some plausible ones.
    return st.one_of(builder.message(desc), builder.mutated(plausible), builder.mutated(plausible), plausible)


def callers_for(fz: h.Harness, svc: str, method: str) -> st.SearchStrategy:
    f = fz.hints.facts
    roles = h.roles_for(svc, method)
    # The service identities that may call it (e.g. external-systems on RegisterDispute, the
    # console on GetCaseStatus), each over its own certificate (see Harness.call).
    services = h.service_callers(svc, method)
    as_service = st.builds(h.Caller, role=st.just(Role.SERVICE), subject=st.sampled_from(services),
                           organization_id=st.just("liandiao")) if services else None
    if roles == [Role.SERVICE] and as_service is not None:   # no person may call it
        return as_service
    people = st.builds(h.Caller, role=st.sampled_from(roles),
                       subject=st.sampled_from(["fuzz", *f.person_ids[:4]]),
                       organization_id=st.sampled_from(["fuzz-org", *f.org_ids[:6]]),
                       region_scope=st.sampled_from([("15",), ("1505",), ("150502", "150521")]))
    return st.one_of(people, as_service) if as_service is not None else people


@pytest.mark.parametrize(("svc", "method"), METHODS, ids=[f"{s}.{m.name}" for s, m in METHODS])
def test_every_answer_is_a_clean_one(fuzz, svc, method):
    fuzz.settle()
    found: list[str] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(request=requests_for(fuzz, method), caller=callers_for(fuzz, svc, method.name))
    def send(request, caller):
        found.extend(fuzz.exercise(svc, method, request, caller)[1])

    send()
    assert not found, f"{len(found)} bad answer(s):\n" + "\n".join(found[:MAX_REPORTED])
