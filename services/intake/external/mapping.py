"""A referral's JSON body (already checked against the OpenAPI schema) <-> intake's
RegisterDisputeRequest, and intake's field paths back to JSON pointers into the body.

The request id is derived, never chosen by the system: a UUID (version 5) of the calling
system's id and its own reference, so a retried referral reaches intake with the same
request id and intake's idempotency returns the dispute the first attempt made, whatever
the adapter replica or the time of the retry."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.common.v1 import common_pb2
from liandiao.intake.v1 import intake_pb2

# Fixed forever: changing it would give every reference a new request id (a second dispute).
REQUEST_NAMESPACE = uuid.UUID("4f1f7f3e-2b1c-5c5e-9d1a-6c69616e6469")


class Route(StrEnum):
    """What a system asks for, by endpoint (DOMAIN §2, sources of a case)."""
    POLICE_REFERRAL = "police_referral"     # 公安机关移交, PML Art.18
    COURT_DELEGATION = "court_delegation"   # 委派, before filing: 30 days (SPC-Invited Art.27)
    COURT_COMMISSION = "court_commission"   # 委托, after filing: 15 or 7 days (SPC-Invited Art.27)


SCHEMA_OF = {Route.POLICE_REFERRAL: "PoliceReferral", Route.COURT_DELEGATION: "CourtDelegation",
             Route.COURT_COMMISSION: "CourtCommission"}


def request_id(system_id: str, reference: str) -> str:
    return str(uuid.uuid5(REQUEST_NAMESPACE, f"{system_id}\n{reference}"))


def organization_of(route: Route, body: Mapping[str, Any]) -> str:
    return str(body["station_org_id"] if route is Route.POLICE_REFERRAL else body["court_org_id"])


_KIND = {"person": common_pb2.PARTY_KIND_NATURAL_PERSON, "organization": common_pb2.PARTY_KIND_ORGANIZATION}
_SIDE = {"applicant": common_pb2.PARTY_SIDE_APPLICANT, "respondent": common_pb2.PARTY_SIDE_RESPONDENT}
_SEX = {"male": intake_pb2.SEX_MALE, "female": intake_pb2.SEX_FEMALE}
_ID_TYPE = {"resident_id": intake_pb2.ID_DOCUMENT_TYPE_RESIDENT_ID,
            "hmt_residence_permit": intake_pb2.ID_DOCUMENT_TYPE_HMT_RESIDENCE_PERMIT,
            "foreigner_pr_card": intake_pb2.ID_DOCUMENT_TYPE_FOREIGNER_PR_CARD,
            "passport": intake_pb2.ID_DOCUMENT_TYPE_PASSPORT, "none": intake_pb2.ID_DOCUMENT_TYPE_NONE}
_CONSENT = {"given": intake_pb2.CONSENT_DECISION_GIVEN, "refused": intake_pb2.CONSENT_DECISION_REFUSED}
_AUTHORITY = {"general": intake_pb2.AGENT_AUTHORITY_GENERAL, "special": intake_pb2.AGENT_AUTHORITY_SPECIAL}
_PROCEDURE = {"ordinary": common_pb2.COURT_PROCEDURE_ORDINARY, "simplified": common_pb2.COURT_PROCEDURE_SIMPLIFIED}
_SOURCE = {Route.POLICE_REFERRAL: common_pb2.CASE_SOURCE_POLICE_REFERRAL,
           Route.COURT_DELEGATION: common_pb2.CASE_SOURCE_COURT_DELEGATION,
           Route.COURT_COMMISSION: common_pb2.CASE_SOURCE_COURT_COMMISSION}


def _document(d: Mapping[str, Any]) -> intake_pb2.IdDocument:
    return intake_pb2.IdDocument(type=_ID_TYPE[d["type"]], number=d.get("number", ""))


def _timestamp(text: str) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
    return ts


def _party(p: Mapping[str, Any]) -> intake_pb2.PartyInput:
    out = intake_pb2.PartyInput(
        kind=_KIND[p["kind"]], side=_SIDE[p["side"]], name=p["name"], sex=_SEX.get(p.get("sex", ""), 0),
        ethnicity=p.get("ethnicity", ""), age=p.get("age", 0), occupation=p.get("occupation", ""),
        phone=p.get("phone", ""), address=p.get("address", ""), no_id_reason=p.get("no_id_reason", ""),
        credit_code=p.get("credit_code", ""), language=p.get("language", ""),
    )
    if "id_document" in p:
        out.id_document.CopyFrom(_document(p["id_document"]))
    if "consent" in p:
        c = p["consent"]
        out.consent.decision = _CONSENT[c["decision"]]
        out.consent.routes_told.extend(c.get("routes_told", []))
        if "disclosed_at" in c:
            out.consent.disclosed_at.CopyFrom(_timestamp(c["disclosed_at"]))
    for a in p.get("agents", []):
        out.agents.add(name=a["name"], id_document=_document(a["id_document"]), phone=a.get("phone", ""),
                       authority=_AUTHORITY[a["authority"]], scope=a.get("scope", ""))
    return out


def to_request(route: Route, body: Mapping[str, Any], system_id: str) -> intake_pb2.RegisterDisputeRequest:
    """The registration a referral asks for. The referring organization is the one the body
    names (checked against the system's list before this is called); the registering
    person and organization are the officer and station, or the court."""
    org = organization_of(route, body)
    req = intake_pb2.RegisterDisputeRequest(
        request_id=request_id(system_id, body["reference"]), region_code=body["region_code"],
        dispute_type=body["dispute_type"], source=_SOURCE[route], facts=body["facts"],
        requested_outcome=body.get("requested_outcome", ""), amount_in_dispute_fen=body.get("amount_in_dispute_fen", 0),
        parties=[_party(p) for p in body["parties"]], registering_org_id=org, referring_system_id=system_id,
    )
    if route is Route.POLICE_REFERRAL:
        # PML Art.18: the station, the officer and the incident it refers.
        req.police.station_org_id, req.police.officer_person_id = org, body["officer_person_id"]
        req.police.incident_reference = body["reference"]
        req.registering_person_id = body["officer_person_id"]
    else:
        req.court.court_org_id, req.court.court_case_reference = org, body["reference"]
        if route is Route.COURT_COMMISSION:
            req.court.procedure = _PROCEDURE[body["procedure"]]
    risk = body.get("risk_factors", {})
    for name in ("threats_of_violence", "prior_incidents", "people_involved", "vulnerable_party", "repeat_petitions"):
        if name in risk:
            setattr(req.risk_factors, name, risk[name])
    return req


# intake's names for the referral's fields -> where they are in the body.
_RENAMED = {"police.station_org_id": "/station_org_id", "police.officer_person_id": "/officer_person_id",
            "police.incident_reference": "/reference", "court.court_org_id": "/court_org_id",
            "court.court_case_reference": "/reference", "court.procedure": "/procedure",
            "request_id": "/reference", "registering_org_id": "", "registering_person_id": "/officer_person_id",
            "source": "", "referring_system_id": "", "police": "", "court": ""}
_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def pointer(field_path: str) -> str:
    """``parties[1].id_document.number`` -> ``/parties/1/id_document/number`` (RFC 6901);
    the referral's own fields to their names in the body; "" for what the body does not
    carry itself (the source, which the endpoint says)."""
    if field_path in _RENAMED:
        return _RENAMED[field_path]
    parts = [name or index for name, index in _STEP.findall(field_path)]
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)
