"""The adapter's own rules without the stack: the systems file, request ids, field pointers,
and the HTTP steps in their order (Starlette's test client; intake and the replay store are
in-memory stand-ins here, the real ones are in tests/e2e/test_external_systems.py)."""

from __future__ import annotations

import base64
import json
import time
import warnings
from datetime import datetime

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from liandiao import hmacsig
from liandiao.config import SettingsError
from liandiao.intake.v1 import intake_pb2
from services.intake.external import mapping, systems
from services.intake.external.http import Adapter, build_app
from services.intake.external.mapping import Route

with warnings.catch_warnings():   # Starlette's test client still runs on httpx, which is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ORG = "station-a"


def system_doc(**changes) -> dict:
    entry = {"id": "police-1505", "kind": "police", "secret": base64.b64encode(systems.development_secret(
        "police-1505")).decode(), "organizations": [ORG], "regions": ["1505"]} | changes
    return {"system": [entry]}


def test_the_systems_file_is_checked_entry_by_entry():
    assert systems.parse(system_doc(), production=False)["police-1505"].speaks_for(ORG)
    for changes, words in (({"kind": "fire"}, "police or court"), ({"secret": "c2hvcnQ="}, "at least 32"),
                           ({"organizations": []}, "organizations"), ({"regions": ["15x"]}, "regions"),
                           ({"id": "Police 1"}, "id must be"), ({"colour": "red"}, "unknown keys")):
        with pytest.raises(SettingsError, match=words):
            systems.parse(system_doc(**changes), production=False)
    with pytest.raises(SettingsError, match="development secret is refused in production"):
        systems.parse(system_doc(), production=True)
    real = base64.b64encode(b"\x07" * 32).decode()
    assert systems.parse(system_doc(secret=real), production=True)
    assert "secret" not in repr(systems.parse(system_doc(), production=False)["police-1505"])


def test_the_request_id_is_the_systems_reference_and_nothing_else():
    one = mapping.request_id("police-1505", "JQ0001")
    assert one == mapping.request_id("police-1505", "JQ0001") and len(one) == 36
    assert one != mapping.request_id("police-1506", "JQ0001") != mapping.request_id("police-1505", "JQ0002")


@pytest.mark.parametrize(("field", "pointer"), [
    ("parties[1].id_document.number", "/parties/1/id_document/number"), ("region_code", "/region_code"),
    ("police.incident_reference", "/reference"), ("court.procedure", "/procedure"),
    ("parties[0].agents[2].scope", "/parties/0/agents/2/scope"), ("source", ""),
    ("risk_factors.prior_incidents", "/risk_factors/prior_incidents")])
def test_intakes_field_paths_become_json_pointers(field, pointer):
    assert mapping.pointer(field) == pointer


BODY = {"reference": "JQ0001", "station_org_id": ORG, "officer_person_id": "officer-1", "region_code": "150502",
        "dispute_type": "neighbours", "facts": "邻里漏水", "parties": [
            {"kind": "person", "side": "applicant", "name": "王建国",
             "consent": {"decision": "given", "disclosed_at": "2026-12-01T08:00:00+08:00"}},
            {"kind": "person", "side": "respondent", "name": "李四"}]}


class Memory:
    def __init__(self):
        self.seen: set[tuple[str, str]] = set()

    async def first_use(self, system_id: str, signature: str, signed_at: datetime) -> bool:
        fresh = (system_id, signature) not in self.seen
        self.seen.add((system_id, signature))
        return fresh

    async def ready(self) -> bool:
        return True


def client(answer=None):
    calls: list[intake_pb2.RegisterDisputeRequest] = []

    async def register(req):
        calls.append(req)
        if isinstance(answer, Exception):
            raise answer
        return intake_pb2.RegisterDisputeResponse(dispute=intake_pb2.Dispute(
            dispute_id="0193a0c0-0000-7000-8000-000000000001", status=intake_pb2.DISPUTE_STATUS_REGISTERED))

    async def ready():
        return True

    adapter = Adapter(systems.parse(system_doc(), production=False), Memory(), register, ready)  # type: ignore[arg-type]
    return TestClient(build_app(adapter)), calls


def post(c: TestClient, body: object, *, secret: bytes | None = None, stamp: int | None = None, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    ts = str(int(time.time()) if stamp is None else stamp)
    headers = {hmacsig.SYSTEM: "police-1505", hmacsig.TIMESTAMP: ts, "Content-Type": "application/json",
               hmacsig.SIGNATURE: hmacsig.sign(secret or systems.development_secret("police-1505"), ts, data)}
    return c.post("/v1/police/referrals", content=data, headers=headers)


def test_a_good_referral_is_registered_as_a_police_referral_of_its_station():
    c, calls = client()
    reply = post(c, BODY)
    assert reply.status_code == 200 and reply.json()["organization_id"] == ORG
    req = calls[0]
    assert req.police.station_org_id == ORG and req.police.incident_reference == "JQ0001"
    assert req.referring_system_id == "police-1505" and req.request_id == mapping.request_id("police-1505", "JQ0001")
    assert req.parties[0].consent.disclosed_at.seconds > 0


def test_each_step_refuses_with_its_own_status_and_registers_nothing():
    c, calls = client()
    assert post(c, BODY, secret=b"x" * 32).status_code == 401
    assert post(c, BODY, stamp=int(time.time()) - 301).status_code == 401
    assert post(c, None, raw=b"[1, 2]").status_code == 400
    assert post(c, BODY | {"station_org_id": "station-b"}).status_code == 403
    assert post(c, BODY | {"region_code": "150102"}).status_code == 403
    bad = post(c, BODY | {"parties": [BODY["parties"][0] | {"consent": {"decision": "given",
                                                                          "disclosed_at": "2026-12-01 08:00"}}]})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/parties", "/parties/0/consent/disclosed_at"}
    assert calls == []
    assert c.post("/v1/court/delegations", content=b"{}", headers={hmacsig.SYSTEM: "police-1505"}).status_code == 401


def test_a_replayed_signature_is_refused():
    c, _ = client()
    data = json.dumps(BODY).encode()
    ts = str(int(time.time()))
    headers = {hmacsig.SYSTEM: "police-1505", hmacsig.TIMESTAMP: ts,
               hmacsig.SIGNATURE: hmacsig.sign(systems.development_secret("police-1505"), ts, data)}
    assert c.post("/v1/police/referrals", content=data, headers=headers).status_code == 200
    again = c.post("/v1/police/referrals", content=data, headers=headers)
    assert again.status_code == 401 and again.json()["title"] == "replayed request"


class _Failed(grpc.aio.AioRpcError):
    def __init__(self, code: grpc.StatusCode, status: status_pb2.Status | None = None):
        metadata = grpc.aio.Metadata(*(((rpc_status.GRPC_DETAILS_METADATA_KEY, status.SerializeToString()),)
                                       if status else ()))
        super().__init__(code, grpc.aio.Metadata(), metadata, details=status.message if status else "")


def test_intakes_violations_come_back_as_422_with_pointers_and_outages_as_503():
    br = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field="parties[0].id_document.number", description="bad check")])
    st = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="invalid")
    st.details.add().Pack(br)
    c, _ = client(_Failed(grpc.StatusCode.INVALID_ARGUMENT, st))
    reply = post(c, BODY)
    assert reply.status_code == 422
    assert reply.json()["errors"] == [{"pointer": "/parties/0/id_document/number",
                                       "field": "parties[0].id_document.number", "reason": "bad check"}]
    c, _ = client(_Failed(grpc.StatusCode.UNAVAILABLE))
    assert post(c, BODY).status_code == 503


def test_a_route_is_named_for_each_source():
    assert set(mapping.SCHEMA_OF) == set(Route)
