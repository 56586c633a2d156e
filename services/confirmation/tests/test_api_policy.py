"""Every RPC of the contract has a method rule, and the API implements every one. Pure."""

from __future__ import annotations

import inspect

from liandiao.auth import Role
from liandiao.confirmation.v1 import confirmation_pb2, confirmation_pb2_grpc
from services.confirmation.api import POLICY, ConfirmationApi

METHODS = {m.name for m in confirmation_pb2.DESCRIPTOR.services_by_name["ConfirmationService"].methods}


def test_every_method_has_a_rule_and_an_implementation():
    assert set(POLICY) == METHODS
    base = confirmation_pb2_grpc.ConfirmationServiceServicer
    assert {m for m in METHODS if getattr(ConfirmationApi, m) is getattr(base, m)} == set()
    assert all(inspect.iscoroutinefunction(getattr(ConfirmationApi, m)) for m in METHODS)


def test_clerks_docket_the_judge_rules_and_no_service_identity_is_granted():
    for method in ("AcceptApplication", "RefuseApplication", "RequestSupplement"):
        assert POLICY[method] == frozenset({Role.COURT, Role.JUDGE})
    for method in ("ExtendReview", "Rule"):
        assert POLICY[method] == frozenset({Role.JUDGE})
    assert all(Role.SERVICE not in roles for roles in POLICY.values())
