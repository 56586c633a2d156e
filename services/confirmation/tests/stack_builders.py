"""Test data for confirmation against the real stack: Tongliao's courts, one agreement as the
projection keeps it (ConfirmableAgreement), callers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.auth import Claims, Role
from liandiao.confirmation.v1 import confirmation_pb2 as pb
from services.confirmation import store

CST = timedelta(hours=8)
COURTS = (
    ("court-horqin", "通辽市科尔沁区人民法院", "150502", "basic", None),
    ("tribunal-dalin", "科尔沁区人民法院大林人民法庭", "150502", "basic", "court-horqin"),
    ("court-kailu", "开鲁县人民法院", "150523", "basic", None),
    ("court-naiman", "奈曼旗人民法院", "150525", "basic", None),
)
ORG = "org-dalin"


def cst(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - CST


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ts(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


async def seed_courts(conn) -> None:
    for court_id, name, region, level, basic in COURTS:
        await store.upsert_court(conn, court_id, name, region, level, basic)


def agreement(effective_at: datetime, *, terms: list[pb.AgreementTerm] | None = None,
              lawyer: str = "") -> pb.ConfirmableAgreement:
    """张三 (Horqin) and 李四 (Kailu); a payment of 5,000 yuan unless `terms` say otherwise."""
    a = str(uuid.uuid4())
    suffix = a[:8]
    zhang = pb.AgreementParty(party_id=f"p-zhang-{suffix}", name="张三", side="applicant", domicile_region="150502100")
    if lawyer:
        zhang.agents.append(pb.AgreementAgent(agent_id=lawyer, name="王律师", authority="special"))
    li = pb.AgreementParty(party_id=f"p-li-{suffix}", name="李四", side="respondent", domicile_region="150523101")
    out = pb.ConfirmableAgreement(
        agreement_id=f"agr-{a}", dispute_id=str(uuid.uuid4()), case_id=str(uuid.uuid4()), dispute_type="损害赔偿",
        parties=[zhang, li], organization_id=ORG, organization_name="大林镇人民调解委员会",
        organization_region="150502100", region_code="150502", level="basic", content_digest="00" * 32,
        terms=terms or [pb.AgreementTerm(asks="payment", description="李四向张三支付赔偿款五千元",
                                         obligor_party_id=li.party_id, obligee_party_id=zhang.party_id,
                                         amount_fen=500_000, due_on="2026-06-30")])
    out.effective_at.CopyFrom(ts(effective_at))
    return out


def both(a: pb.ConfirmableAgreement):
    from services.confirmation.domain.model import Applicant
    return [Applicant(p.party_id) for p in a.parties]


def everything(a: pb.ConfirmableAgreement):
    """Every Art.354 material of the agreement, brought with the application."""
    from services.confirmation.domain.materials import Material, MaterialItem
    items = [MaterialItem(Material.AGREEMENT), MaterialItem(Material.PRESIDING_PROOF)]
    for p in a.parties:
        items += [MaterialItem(m, p.party_id) for m in (Material.IDENTITY, Material.DOMICILE, Material.CONTACT)]
    return items


COMMITTEE_CLERK = Claims("clerk-dalin", ORG, Role.CLERK, ("150502",))
HORQIN_JUDGE = Claims("judge-horqin", "court-horqin", Role.JUDGE, ("1505",))
HORQIN_CLERK = Claims("clerk-horqin", "court-horqin", Role.COURT, ("1505",))
DALIN_JUDGE = Claims("judge-dalin", "tribunal-dalin", Role.JUDGE, ("1505",))
KAILU_JUDGE = Claims("judge-kailu", "court-kailu", Role.JUDGE, ("1505",))
OPERATOR = Claims("op", "data-centre", Role.OPERATOR, ("15",))
