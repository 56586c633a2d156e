"""Test data for the confirmation domain: Tongliao's courts, one agreement, instants in China time.

Places: 150502 科尔沁区 (Horqin; the basic court and its 大林 tribunal), 150523 开鲁县 (Kailu),
150525 奈曼旗 (Naiman), 150102 新城区 (Hohhot, another prefecture); 1505 通辽市 (the
intermediate court).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

from liandiao.legaltime import CHINA_TZ, HolidayCalendar, shipped_calendar
from services.confirmation.domain import application as appl
from services.confirmation.domain import rules
from services.confirmation.domain.commands import Accept, FileApplication, Rule
from services.confirmation.domain.materials import required_materials
from services.confirmation.domain.model import (
    Agent,
    AgentAuthority,
    Agreement,
    Applicant,
    Asks,
    Court,
    CourtLevel,
    MediationOrganization,
    Party,
    Side,
    Term,
)
from services.confirmation.domain.ruling import Outcome

CAL: HolidayCalendar = shipped_calendar()

HORQIN = Court(court_id="court-horqin", name="通辽市科尔沁区人民法院", region_code="150502", level=CourtLevel.BASIC)
DALIN = Court(court_id="tribunal-dalin", name="科尔沁区人民法院大林人民法庭", region_code="150502",
              level=CourtLevel.BASIC, basic_court=HORQIN)
KAILU = Court(court_id="court-kailu", name="开鲁县人民法院", region_code="150523", level=CourtLevel.BASIC)
NAIMAN = Court(court_id="court-naiman", name="奈曼旗人民法院", region_code="150525", level=CourtLevel.BASIC)
HOHHOT_XINCHENG = Court(court_id="court-xincheng", name="呼和浩特市新城区人民法院", region_code="150102",
                        level=CourtLevel.BASIC)
TONGLIAO_INTERMEDIATE = Court(court_id="court-tongliao", name="通辽市中级人民法院", region_code="150500",
                              level=CourtLevel.INTERMEDIATE)
INNER_MONGOLIA_HIGH = Court(court_id="court-nmg-high", name="内蒙古自治区高级人民法院", region_code="150000",
                            level=CourtLevel.HIGH)
ALL_COURTS = (HORQIN, DALIN, KAILU, NAIMAN, HOHHOT_XINCHENG, TONGLIAO_INTERMEDIATE, INNER_MONGOLIA_HIGH)

COMMITTEE = MediationOrganization("org-dalin", "大林镇人民调解委员会", "150502100")

LAWYER = Agent("agent-lawyer", "王律师", AgentAuthority.SPECIAL)
CLERK_FRIEND = Agent("agent-general", "赵一般", AgentAuthority.GENERAL)
ZHANG = Party(party_id="p-zhang", name="张三", side=Side.APPLICANT, domicile_region="150502100",
              agents=(LAWYER, CLERK_FRIEND), id_fingerprint="fp-zhang", phone_fingerprint="ph-zhang",
              address_fingerprint="ad-zhang")
LI = Party(party_id="p-li", name="李四", side=Side.RESPONDENT, domicile_region="150523101",
           id_fingerprint="fp-li", phone_fingerprint="ph-li", address_fingerprint="ad-li")

PAY = Term(asks=Asks.PAYMENT, description="李四向张三支付赔偿款五千元", obligor_party_id="p-li",
           obligee_party_id="p-zhang", amount_fen=500_000, due_on=date(2026, 6, 30))
BOTH = (Applicant("p-zhang"), Applicant("p-li"))


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    """An instant in China time on an ISO day."""
    return datetime.combine(date.fromisoformat(day), time(hour, minute), tzinfo=CHINA_TZ)


def agreement(**changes: object) -> Agreement:
    base = Agreement(
        agreement_id="agr-1", dispute_id="dsp-1", case_id="case-1", dispute_type="损害赔偿",
        parties=(ZHANG, LI), terms=(PAY,), effective_at=at("2026-06-01", 9),
        organization=COMMITTEE, mediator_ids=("med-1",), subject_matter_region="150502100",
        registered_at=at("2026-05-20", 9),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def complete(agr: Agreement, applicants: tuple[Applicant, ...] = BOTH) -> frozenset:
    return required_materials(agr, applicants)


def filed(
    agr: Agreement | None = None, court: Court = HORQIN, now: datetime | None = None,
    applicants: tuple[Applicant, ...] = BOTH, submitted: frozenset | None = None, application_id: str = "app-1",
    calendar: HolidayCalendar = CAL,
) -> appl.Application:
    agr = agr or agreement()
    now = now or at("2026-06-02")
    submitted = complete(agr, applicants) if submitted is None else submitted
    cmd = FileApplication(application_id=application_id, agreement=agr, court=court, applicants=applicants,
                          submitted=submitted)
    event = rules.decide_file(cmd, (), now, calendar)
    return appl.start(event, agr, court, required_materials(agr, applicants))


def accepted(app: appl.Application | None = None, now: datetime | None = None, sequence: int = 1) -> appl.Application:
    app = app or filed()
    event = rules.decide_accept(app, Accept(judge_id="judge-1", sequence=sequence), now or at("2026-06-03"), CAL)
    return appl.evolve(app, event)


def ruled(app: appl.Application | None = None, now: datetime | None = None,
          outcome: Outcome = Outcome.VALID, **kw: object) -> appl.Application:
    app = app or accepted()
    cmd = Rule(ruling_id="rul-1", judge_id="judge-1", judge_name="审判员甲", outcome=outcome,
               reasons="双方自愿达成协议，内容不违反法律规定。", **kw)  # type: ignore[arg-type]
    for event in rules.decide_rule(app, cmd, now or at("2026-06-10"), CAL):
        app = appl.evolve(app, event)
    return app
