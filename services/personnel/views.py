"""Stored rows -> protobuf (API responses and event payloads share these)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.personnel.v1 import personnel_pb2
from services.personnel import store
from services.personnel.codes import COMMITTEE_LEVEL, ORG_KIND, ROLE, ROSTER_STATUS


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def organization(o: store.OrgRow) -> personnel_pb2.Organization:
    return personnel_pb2.Organization(
        organization_id=str(o.organization_id), kind=ORG_KIND.to_proto(o.kind), name=o.name,
        region_code=o.region_code, credit_code=o.credit_code,
        parent_organization_id=str(o.parent_organization_id or ""),
        committee_level=COMMITTEE_LEVEL.to_proto(o.committee_level), created_at=ts(o.created_at),
    )


def person(p: store.PersonRow) -> personnel_pb2.Person:
    return personnel_pb2.Person(
        person_id=str(p.person_id), name=p.name, organization_id=str(p.organization_id),
        roles=[ROLE.to_proto(r) for r in p.roles], specialties=p.specialties, languages=p.languages,
        region_codes=p.region_codes, roster_status=ROSTER_STATUS.to_proto(p.roster_status),
        removal_reason=p.removal_reason, masked_phone=p.phone_masked, on_duty=p.on_duty,
        updated_at=ts(p.updated_at),
    )
