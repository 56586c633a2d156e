"""Agreement templates per dispute type: a first draft of the PML Art.29 fields, filled from the
case (its parties, their sides, the dispute as registered), for the mediator to complete and
edit until the first signature. A template never invents a number: amounts start at 0 and
deadlines empty, and agreement.missing_fields refuses signatures until they are filled.

Dispute type codes are the shared dictionary's (libs/liandiao/reference/dispute_types.json).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from services.mediation.domain.content import (
    Act,
    AgreementContent,
    Money,
    Obligation,
    PartyDetails,
    PartySide,
    Responsibility,
    Term,
    Thing,
)
from services.mediation.domain.errors import invalid
from services.mediation.domain.model import Case

A, R = PartySide.APPLICANT, PartySide.RESPONDENT


class Owed(Enum):
    MONEY = "money"
    ACT = "act"
    THING = "thing"


@dataclass(frozen=True)
class TermSpec:
    """One term per party on the obligor side, owed to the first party on the other side."""

    obligor: PartySide
    obligee: PartySide
    owed: Owed
    description: str  # the act or thing; for money, what the sum is for (goes into `manner`)
    manner: str


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    applies_to: frozenset[str]  # dispute types it fits; empty: every type
    default_for: frozenset[str]  # dispute types that get it unless the mediator picks another
    facts: str  # {applicants}, {respondents}, {summary}
    issues: tuple[str, ...]
    responsibilities: Mapping[PartySide, str]
    terms: tuple[TermSpec, ...]
    other_terms: str

    def fits(self, dispute_type: str) -> bool:
        return not self.applies_to or dispute_type in self.applies_to


def _t(**responsibilities: str) -> Mapping[PartySide, str]:
    return MappingProxyType({PartySide(k): v for k, v in responsibilities.items()})


_TEMPLATES: tuple[Template, ...] = (
    Template(
        key="neighbour_damage", title="邻里损害赔偿调解协议书",
        applies_to=frozenset({"neighbours", "damages", "housing_homestead"}), default_for=frozenset({"neighbours"}),
        facts="{respondents}与{applicants}系邻居。{summary}",
        issues=("损害事实及其原因", "修复责任与赔偿数额"),
        responsibilities=_t(applicant="", respondent=""),
        terms=(
            TermSpec(R, A, Owed.MONEY, "赔偿损失", "一次性现金或银行转账支付"),
            TermSpec(R, A, Owed.ACT, "修复受损部分，恢复原状", "自行或委托他人修复，费用自担"),
        ),
        other_terms="双方今后互谅互让、和睦相处，就本纠纷再无其他争议。",
    ),
    Template(
        key="elder_support", title="赡养调解协议书",
        applies_to=frozenset({"marriage_family"}), default_for=frozenset(),
        facts="{applicants}系{respondents}的长辈，要求履行赡养义务。{summary}",
        issues=("赡养费数额及支付方式", "日常照料与医疗费用分担"),
        # Civil Code Art.1067 para.2: parents may claim support from their adult children.
        responsibilities=_t(applicant="无", respondent="依法负有赡养义务（《民法典》第一千零六十七条）"),
        terms=(
            TermSpec(R, A, Owed.MONEY, "赡养费", "按月支付，每月____日前支付当月赡养费"),
            TermSpec(R, A, Owed.ACT, "照料日常生活，生病时陪护就医", "与其他赡养人按月轮流"),
        ),
        other_terms="医疗费用由各赡养人凭票据平均分担。",
    ),
    Template(
        key="wage_arrears", title="劳动报酬争议调解协议书",
        applies_to=frozenset({"labour"}), default_for=frozenset({"labour"}),
        facts="{applicants}为{respondents}提供劳动，{respondents}未按时足额支付劳动报酬。{summary}",
        issues=("拖欠工资的数额与期间", "支付方式与期限"),
        # Labour Contract Law Art.30: pay in full and on time.
        responsibilities=_t(applicant="无", respondent="未按时足额支付劳动报酬（《劳动合同法》第三十条）"),
        terms=(TermSpec(R, A, Owed.MONEY, "支付拖欠工资", "一次性银行转账至劳动者本人账户"),),
        other_terms="劳动者收到上述款项后，双方就所涉劳动报酬再无争议。",
    ),
    Template(
        key="traffic_compensation", title="道路交通事故损害赔偿调解协议书",
        applies_to=frozenset({"traffic_accident"}), default_for=frozenset({"traffic_accident"}),
        facts="{summary}（事故经公安机关交通管理部门认定，认定书编号：____）",
        issues=("事故责任划分", "医疗费、误工费、护理费、交通费、财产损失等赔偿项目及数额"),
        responsibilities=_t(applicant="", respondent=""),  # as the accident certificate finds
        terms=(TermSpec(R, A, Owed.MONEY, "赔偿医疗费、误工费、护理费、交通费、财产损失等各项损失合计",
                        "一次性银行转账支付"),),
        other_terms="本协议履行完毕后，双方就本次事故再无其他争议。",
    ),
    Template(
        key="generic", title="人民调解协议书",
        applies_to=frozenset(), default_for=frozenset(),
        facts="{summary}",
        issues=(),
        responsibilities=_t(applicant="", respondent=""),
        terms=(TermSpec(R, A, Owed.ACT, "", ""),),
        other_terms="",
    ),
)

TEMPLATES: Mapping[str, Template] = MappingProxyType({t.key: t for t in _TEMPLATES})
GENERIC = TEMPLATES["generic"]


def template_for(dispute_type: str) -> Template:
    """The template a dispute type gets by default: its own, or the generic one."""
    return next((t for t in _TEMPLATES if dispute_type in t.default_for), GENERIC)


def choose(dispute_type: str, key: str | None) -> Template:
    if not key:
        return template_for(dispute_type)
    template = TEMPLATES.get(key)
    if template is None:
        raise invalid("template_key", f"no template {key!r}; there are {', '.join(TEMPLATES)}")
    if not template.fits(dispute_type):
        raise invalid("template_key", f"{key} is for {', '.join(sorted(template.applies_to))}, not {dispute_type}")
    return template


def _owed(spec: TermSpec) -> Obligation:
    if spec.owed is Owed.MONEY:
        return Money(0)
    if spec.owed is Owed.THING:
        return Thing(spec.description)
    return Act(spec.description)


def fill(template: Template, case: Case, details: Sequence[PartyDetails] = ()) -> AgreementContent:
    """The template's draft for `case`. `details` are the parties' basic details (ID number,
    address...) as intake holds them; a party without details gets the case's name, side and kind."""
    known = {d.party_id: d for d in details}
    parties = tuple(known.get(p.party_id) or PartyDetails(party_id=p.party_id, name=p.name, side=p.side, kind=p.kind)
                    for p in case.parties)
    by_side = {side: [p for p in parties if p.side is side] for side in PartySide}
    names = {side: "、".join(p.name for p in by_side[side]) for side in PartySide}
    terms = tuple(
        Term(obligor_id=obligor.party_id, obligee_id=by_side[spec.obligee][0].party_id, obligation=_owed(spec),
             manner=spec.manner if spec.owed is not Owed.MONEY else f"{spec.description}，{spec.manner}",
             deadline=None)
        for spec in template.terms for obligor in by_side[spec.obligor]
    )
    return AgreementContent(
        parties=parties,
        facts=template.facts.format(applicants=names[A], respondents=names[R], summary=case.summary or "").strip(),
        issues=template.issues,
        responsibilities=tuple(Responsibility(p.party_id, template.responsibilities.get(p.side, "")) for p in parties),
        terms=terms,
        other_terms=template.other_terms,
    )
