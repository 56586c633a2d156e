"""The client side of load: which calls a retry may repeat, the service config
that says so, and the concurrency setting. Pure, no stack."""

from __future__ import annotations

import json

import pytest

from liandiao.config import DEFAULT_GRPC_MAX_CONCURRENT_RPCS, SettingsError, grpc_max_concurrent_rpcs, load_settings
from liandiao.confirmation.v1 import confirmation_pb2
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2
from liandiao.notification.v1 import notification_pb2
from liandiao.personnel.v1 import personnel_pb2
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.channel import ONCE_ONLY, REPEATABLE, channel_options, service_config
from liandiao.rpc.limits import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES

BASE = {"LIANDIAO_DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "LIANDIAO_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
        "LIANDIAO_ENV": "development"}
CONTRACTS = [confirmation_pb2, intake_pb2, mediation_pb2, notification_pb2, personnel_pb2, routing_pb2]


def _all_methods() -> set[tuple[str, str]]:
    return {(svc.full_name, m.name) for module in CONTRACTS for svc in module.DESCRIPTOR.services_by_name.values()
            for m in svc.methods}


def test_every_rpc_of_the_contracts_is_classified_once():
    # A new RPC fails here until someone decides whether a repeat could do it twice.
    methods = _all_methods()
    assert not REPEATABLE & ONCE_ONLY
    assert methods - (REPEATABLE | ONCE_ONLY) == set()
    assert (REPEATABLE | ONCE_ONLY) - methods == set(), "classified methods that no contract has"


def test_creating_commands_are_never_repeated_after_unavailable():
    config = json.loads(service_config())
    wide = {(n["service"], n["method"]) for mc in config["methodConfig"] for n in mc["name"]
            if "UNAVAILABLE" in mc["retryPolicy"]["retryableStatusCodes"]}
    assert ("liandiao.intake.v1.IntakeService", "RegisterDispute") in wide
    assert ("liandiao.personnel.v1.PersonnelService", "CreatePerson") not in wide
    assert ("liandiao.routing.v1.RoutingService", "Reassign") not in wide
    assert wide == REPEATABLE


def test_every_method_is_retried_when_the_server_was_busy():
    config = json.loads(service_config())
    default = next(mc for mc in config["methodConfig"] if mc["name"] == [{}])
    policy = default["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["RESOURCE_EXHAUSTED"]
    assert 2 <= policy["maxAttempts"] <= 5            # gRPC caps attempts at 5
    assert policy["initialBackoff"].endswith("s") and policy["backoffMultiplier"] > 1


def test_channel_options_carry_limits_and_retries():
    with_retry = dict(channel_options())
    assert with_retry["grpc.enable_retries"] == 1 and json.loads(with_retry["grpc.service_config"])
    assert with_retry["grpc.max_send_message_length"] == MAX_REQUEST_BYTES == 4 * 1024 * 1024
    assert with_retry["grpc.max_receive_message_length"] == MAX_RESPONSE_BYTES > MAX_REQUEST_BYTES
    bare = dict(channel_options(retry=False))
    assert bare["grpc.enable_retries"] == 0 and "grpc.service_config" not in bare


def test_concurrency_limit_setting():
    assert load_settings("intake", BASE).grpc_max_concurrent_rpcs == DEFAULT_GRPC_MAX_CONCURRENT_RPCS
    assert grpc_max_concurrent_rpcs({"LIANDIAO_GRPC_MAX_CONCURRENT_RPCS": "8"}) == 8


@pytest.mark.parametrize("value, message", [
    ("0", "LIANDIAO_GRPC_MAX_CONCURRENT_RPCS=0 must be between 1 and 10000"),
    ("many", "LIANDIAO_GRPC_MAX_CONCURRENT_RPCS='many' is not a whole number"),
])
def test_bad_concurrency_limit_stops_start_up(value, message):
    with pytest.raises(SettingsError, match=message):
        load_settings("intake", {**BASE, "LIANDIAO_GRPC_MAX_CONCURRENT_RPCS": value})
