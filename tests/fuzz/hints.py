"""Plausible values by field name, drawn from the seeded province: what a real
caller would send. Mixed with hostile values by protostrategies, they let a
generated request get past "no such person" and reach the rules behind it.

Keyed by field name only (never by method), so a new method's fields are hinted
as soon as they are named like the existing ones."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from google.protobuf.descriptor import FieldDescriptor
from hypothesis import strategies as st

from liandiao.devtools import province
from liandiao.ids import children
from liandiao.reference import dispute_types
from liandiao.rpc.convert import timestamp
from services.notification.domain.templates import Catalog
from services.personnel.domain.model import UPDATABLE

_RNG = random.Random(2026)
TODAY = date.today()


def _case_codes() -> list[str]:
    from services.intake.domain import casecode
    codes = [casecode.new_code() for _ in range(3)]
    return [codes[0], casecode.shown(codes[1]).lower(), f" {casecode.shown(codes[2])} ", codes[0][:-1] + "U"]


_CASE_CODES = _case_codes()


def _resident_ids(n: int) -> list[str]:
    return [province.resident_id(_RNG, "150502", date(1960 + i, 1 + i % 12, 1 + i % 28), i % 2 == 0)
            for i in range(n)]


def _credit_codes() -> list[str]:
    return [province.credit_code(_RNG, prefix, "150502") for prefix in ("31", "33", "91", "12")]


def _cursor_tokens() -> list[str]:
    import base64
    import json

    def enc(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()

    deep = "[" * 5000 + "]" * 5000
    return [
        "", "", "", "0", "50", "200", "-1", "1e3", "²", "１２", "99999999999", "9223372036854775808", "9" * 400,
        "0" * 5000,
        enc(["2026-01-05T10:00:00+00:00", str(uuid.UUID(int=1))]), enc(["0001-01-01T00:00:00", str(uuid.UUID(int=1))]),
        enc(["9999-12-31T23:59:59+14:00", "x"]), enc([1, 2]), enc({"a": 1}), enc([None, None]), enc("x"),
        base64.urlsafe_b64encode(deep.encode()).decode(), "!!!notbase64", "====", "YQ", "\x00",
    ]


@dataclass
class Facts:
    """What the seeded world holds, as strings a request can carry."""
    person_ids: list[str]
    org_ids: list[str]
    dispute_ids: list[str]
    other_ids: list[str] = field(default_factory=list)   # cases, deliveries, ...
    regions: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)     # agreements' SM3 (what a signer was shown)
    case_numbers: list[str] = field(default_factory=list)   # rulings' case numbers


def world_facts(prov: province.Province, dispute_ids: list[str], other_ids: list[str]) -> Facts:
    orgs: list[str] = []
    for c in prov.counties:
        orgs += [c.basic_court, c.judicial_office, c.police_station, c.tribunal, c.law_firm, c.legal_service_office,
                 *c.committees, *([c.sector_committee] if c.sector_committee else [])]
    regions = ["15", "1505", "150000", "150500"]
    for c in prov.counties[:3]:
        regions.append(c.division.code)
        regions += [t.code for t in c.townships[:2]]
    regions += [d.code for d in children(regions[-1])][:2] if len(regions[-1]) == 9 else []
    return Facts(person_ids=prov.mediators[:20] + prov.lawyers[:6] + prov.liaison_officers[:6],
                 org_ids=[o for o in orgs if o], dispute_ids=dispute_ids, other_ids=other_ids, regions=regions)


class Hints:
    """``hints(field)``: plausible values for a field, or None."""

    def __init__(self, facts: Facts):
        self.facts = facts
        ids = facts.person_ids + facts.org_ids + facts.dispute_ids + facts.other_ids
        self._any_id = st.sampled_from(ids) | st.uuids().map(str)
        self._people = st.sampled_from(facts.person_ids)
        self._orgs = st.sampled_from(facts.org_ids)
        self._disputes = st.sampled_from(facts.dispute_ids) if facts.dispute_ids else self._any_id
        self._regions = st.sampled_from(facts.regions)
        self._types = st.sampled_from(sorted(dispute_types()))
        now = datetime.now(UTC)
        self._instants = st.sampled_from([timestamp(now - timedelta(minutes=30)), timestamp(now - timedelta(days=40)),
                                          timestamp(now + timedelta(days=2))])
        self._dates = st.sampled_from([(TODAY - timedelta(days=d)).isoformat() for d in (-30, -1, 0, 1, 7, 60)])
        weeks = [(TODAY + timedelta(weeks=k)).isocalendar() for k in (-4, 0, 2, 8, 60)]
        self._weeks = st.sampled_from([f"{y}-W{w:02d}" for y, w, _ in weeks])
        self._text = st.sampled_from(["双方因宅基地边界发生争执，请求调解。", "邻里纠纷", "spouse's brother", "已口头告知",
                                      "按件收费，每件不超过500元", "请求依法调解", "调解员回避"])
        self._names = st.sampled_from(["王建国", "李秀英", "巴特尔", "敖登其其格", "科尔沁区人民调解委员会"])

    def __call__(self, fd: FieldDescriptor) -> st.SearchStrategy | None:
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            if fd.message_type.full_name == "google.protobuf.Timestamp":
                return self._instants
            return None
        if fd.type != FieldDescriptor.TYPE_STRING:
            return None
        return self._by_name(fd.name)

    def _by_name(self, name: str) -> st.SearchStrategy | None:
        if name in ("request_id",):
            return st.uuids().map(str)
        if name == "case_code":   # issue 11: well-formed codes (nobody's) in the ways people type them
            return st.sampled_from(_CASE_CODES)
        if name == "phone_last4":
            return st.sampled_from(["8000", "1234", "0000", "１２３４"])
        if name == "client_address":
            return st.sampled_from(["10.0.0.1", "192.168.31.7", "2001:db8:1:2::7", "::ffff:10.0.0.9"])
        if name in ("dispute_id",):
            return self._disputes
        if name.endswith(("person_id", "mediator_id", "mediator_ids", "signer_id", "party_ids")) or name == "subject":
            return self._people | self._any_id
        if name.endswith(("org_id", "org_ids", "organization_id")):
            return self._orgs | self._any_id
        if name.endswith(("_id", "_ids")):
            return self._any_id
        if name in ("region_code", "region_codes", "region_prefix"):
            return self._regions
        if name in ("dispute_type", "specialties", "dispute_scope", "sector"):
            return self._types | st.sampled_from(["labour", "family", "traffic"])
        if name in ("language", "languages"):
            return st.sampled_from(["zh", "mn", "en", "zh-Hans", "ug"])
        if name in ("phone",):
            return st.sampled_from(["13800138000", "+86 139-0000-1234", "15004756789"])
        if name in ("number", "id_number", "related_id_number"):
            return st.sampled_from(_resident_ids(6) + ["E12345678"])
        if name in ("credit_code", "related_credit_code"):
            return st.sampled_from(_credit_codes())
        if name in ("related_passport_number",):
            return st.sampled_from(["E12345678", "g98765432"])
        if name in ("lawyer_licence_number",):
            return st.sampled_from(["15052010123456789", "15051999000000001"])
        if name in ("date", "dates"):
            return self._dates
        if name in ("from_week", "to_week"):
            return self._weeks
        if name in ("period",):
            return st.sampled_from(["2025", "2025-H1", "2025-Q3", "2025-07", str(TODAY.year)])
        if name in ("locale",):
            return st.sampled_from(["zh-CN", "en", "fr"])
        if name in ("template",):
            return st.sampled_from(sorted(Catalog.load().names))
        if name in ("paths",):
            return st.sampled_from(UPDATABLE)
        if name in ("page_token",):
            return st.sampled_from(_cursor_tokens())
        if name in ("routes_told",):
            return st.sampled_from(["arbitration", "litigation", "administrative"])
        if name in ("name", "display_name", "department_name", "course", "objector"):
            return self._names
        if name in ("text",):
            return st.sampled_from(["王", "宅基地", "纠纷"])
        if name in ("digest",):
            return st.sampled_from(self.facts.digests or ["00" * 32]) | st.sampled_from(["", "ab" * 32, "zz"])
        if name in ("incident_reference", "court_case_reference", "reference", "case_number"):
            return st.sampled_from(["JQ20260001", "（2026）蒙0502民诉前调1号", *self.facts.case_numbers])
        if name in ("ethnicity", "occupation", "address", "service_address"):
            return st.sampled_from(["汉族", "牧民", "科尔沁区某村1号", "ab@sd.example.cn"])
        if name in ("facts", "requested_outcome", "reason", "reasons", "plan", "note", "notes", "complaint",
                    "fee_standard", "disclosure", "scope", "no_id_reason", "details", "statements", "result",
                    "place", "grounds", "refusal_reason", "terms", "facts_and_responsibility", "participants"):
            return self._text
        return None
