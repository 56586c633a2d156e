"""The materials an application needs (SPC-Interp Art.354; SPC-2011 Art.3), as a checklist.

Art.354: the agreement, proof that the mediation organization presided, property-right proofs
related to the agreement, and each party's identity, domicile and contact details; the court
sets a deadline to supplement what is missing. SPC-2011 Art.3 para.2: an agent files the
party's signed authorization. Missing at the court's deadline: deemed withdrawn (Art.357).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from liandiao.legaltime import Deadline, HolidayCalendar, deadline, statutory
from services.confirmation.domain.model import Agreement, Applicant, Asks


class Material(StrEnum):
    AGREEMENT = "agreement"  # 调解协议
    PRESIDING_PROOF = "presiding_proof"  # 调解组织主持调解的证明
    PROPERTY_RIGHT_PROOF = "property_right_proof"  # 与调解协议相关的财产权利证明
    IDENTITY = "identity"  # 身份证明
    DOMICILE = "domicile"  # 住所
    CONTACT = "contact"  # 联系方式
    AUTHORIZATION = "authorization"  # 授权委托书 / proof of statutory agency
    # Asked for during review (SPC-Interp Art.356): 补充陈述, 补充证明材料.
    STATEMENT = "statement"
    FURTHER_PROOF = "further_proof"


_LABELS = {
    Material.AGREEMENT: "the mediation agreement",
    Material.PRESIDING_PROOF: "proof that the organization presided",
    Material.PROPERTY_RIGHT_PROOF: "property-right proof",
    Material.IDENTITY: "identity",
    Material.DOMICILE: "domicile",
    Material.CONTACT: "contact details",
    Material.AUTHORIZATION: "the agent's authorization",
    Material.STATEMENT: "a further statement",
    Material.FURTHER_PROOF: "further proof",
}


@dataclass(frozen=True)
class MaterialItem:
    """One line of the checklist: per application, per party (`party_id`) or per term (`term_no`,
    1-based)."""

    material: Material
    party_id: str = ""
    term_no: int = 0

    @property
    def label(self) -> str:
        base = _LABELS[self.material]
        if self.party_id:
            return f"{base} of party {self.party_id}"
        if self.term_no:
            return f"{base} for term {self.term_no}"
        return base


def required_materials(agreement: Agreement, applicants: Sequence[Applicant]) -> frozenset[MaterialItem]:
    """Property-right proofs are asked for each term that delivers or transfers a thing; a payment
    of money needs none (it concerns no property right in a specific thing)."""
    items = {MaterialItem(Material.AGREEMENT), MaterialItem(Material.PRESIDING_PROOF)}
    items |= {MaterialItem(Material.PROPERTY_RIGHT_PROOF, term_no=n)
              for n, term in enumerate(agreement.terms, start=1) if term.asks is Asks.THING}
    for party in agreement.parties:
        items |= {MaterialItem(m, party.party_id) for m in (Material.IDENTITY, Material.DOMICILE, Material.CONTACT)}
    items |= {MaterialItem(Material.AUTHORIZATION, a.party_id) for a in applicants if a.agent_id}
    return frozenset(items)


_ORDER = {m: i for i, m in enumerate(Material)}


def in_checklist_order(items: Iterable[MaterialItem]) -> tuple[MaterialItem, ...]:
    """The order of Art.354's list: the agreement, the proof, property proofs, then each party."""
    return tuple(sorted(set(items), key=lambda i: (bool(i.party_id), i.party_id, _ORDER[i.material], i.term_no)))


def missing_materials(required: Iterable[MaterialItem], submitted: Iterable[MaterialItem]) -> tuple[MaterialItem, ...]:
    return in_checklist_order(set(required) - set(submitted))


def supplement_deadline(requested_at: datetime, days: int, calendar: HolidayCalendar) -> Deadline:
    """The deadline the court sets (its length is the court's; counting is CPL 2023 Art.85)."""
    return deadline(requested_at, statutory.materials_supplement(days), calendar)
