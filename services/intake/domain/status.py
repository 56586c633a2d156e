"""What a party reads on the status page (一案一码): where the dispute is, the next
date, what they must do, who their mediator is and the deadlines that concern them, in
plain Simplified Chinese (English on request). Pure: the facts come from intake's own
projection of the platform's events (services/intake/status_store.py), ``now`` and the
holiday calendar are passed in.

The events of different services arrive in no guaranteed order (one topic each), so the
stage is derived from every fact known, never from the last event seen: a ruling
outranks an acceptance, which outranks a filing or a refusal, which outrank the
agreement, and so on down to "waiting for a mediator".

Nothing of another party appears here: the view names only the asking party (masked)
and the mediator; the agreement's terms show as the asker's own obligations or what is
owed to them, without names or amounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from liandiao.legaltime import CHINA_TZ, HolidayCalendar, deadline, statutory, to_china_date
from liandiao.legaltime.errors import LegalTimeError


class Stage(StrEnum):
    MEDIATION_REFUSED = "mediation_refused"          # PML Art.17
    WAITING_FOR_MEDIATOR = "waiting_for_mediator"
    IN_MEDIATION = "in_mediation"
    AGREEMENT_EFFECTIVE = "agreement_effective"
    MEDIATION_ENDED = "mediation_ended"              # SPC-Online Art.25, without agreement
    RETURNED_TO_COURT = "returned_to_court"          # SPC-Invited Art.21
    CONFIRMATION_FILED = "confirmation_filed"
    CONFIRMATION_ACCEPTED = "confirmation_accepted"
    CONFIRMATION_REFUSED = "confirmation_refused"
    RULED_VALID = "ruled_valid"                      # CPL 2023 Art.206
    RULED_REJECTED = "ruled_rejected"


class NextStep(StrEnum):
    """What a court does with a case mediation returned (SPC-Invited Art.21)."""
    REGISTER_IF_PARTY_INSISTS = "register_if_party_insists"
    RESUME_TRIAL = "resume_trial"
    UNKNOWN = ""


@dataclass(frozen=True)
class Session:
    session_id: str
    number: int
    scheduled_for: datetime
    place: str
    video_link: str


@dataclass(frozen=True)
class Term:
    """One performance term of the agreement, as far as a party's deadlines go."""
    obligor_id: str
    obligee_id: str
    deadline: date | None


@dataclass(frozen=True)
class Facts:
    """Everything intake knows of one dispute's progress (its status projection)."""
    registered_at: datetime
    dispute_type: str
    refused: bool = False                       # a party refused mediation at registration
    assigned_at: datetime | None = None
    mediator_name: str = ""
    organization_id: str = ""
    sessions: tuple[Session, ...] = ()
    agreement_effective_at: datetime | None = None
    agreement_effective_on: date | None = None
    terms: tuple[Term, ...] = ()
    ended_at: datetime | None = None
    ended_in_failure: bool = True               # False: the parties settled themselves
    routes_told: tuple[str, ...] = ()
    returned_at: datetime | None = None
    court_next_step: NextStep = NextStep.UNKNOWN
    filed_at: datetime | None = None
    accept_by: date | None = None
    accepted_at: datetime | None = None
    decide_by: date | None = None
    case_number: str = ""
    application_refused_at: datetime | None = None
    ruled_at: datetime | None = None
    ruling_valid: bool = False
    enforcement_by: date | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Deadline:
    what: str
    last_day: date
    source: str
    for_you: bool


@dataclass(frozen=True)
class View:
    stage: Stage
    headline: str
    explanation: str
    your_name: str
    mediator_name: str
    organization_id: str
    next_session: Session | None
    to_do: tuple[str, ...]
    deadlines: tuple[Deadline, ...]
    case_number: str
    registered_on: date
    language: str
    dispute_type: str
    updated_at: datetime | None = None


def stage_of(f: Facts) -> Stage:
    if f.ruled_at is not None:
        return Stage.RULED_VALID if f.ruling_valid else Stage.RULED_REJECTED
    if f.accepted_at is not None:
        # Once a court has docketed the agreement it keeps it (SPC-Interp Art.352): a
        # refusal elsewhere does not undo that.
        return Stage.CONFIRMATION_ACCEPTED
    if f.application_refused_at is not None and (f.filed_at is None or f.application_refused_at >= f.filed_at):
        return Stage.CONFIRMATION_REFUSED
    if f.filed_at is not None:
        return Stage.CONFIRMATION_FILED
    if f.agreement_effective_at is not None:
        return Stage.AGREEMENT_EFFECTIVE
    if f.returned_at is not None:
        return Stage.RETURNED_TO_COURT
    if f.ended_at is not None:
        return Stage.MEDIATION_ENDED
    if f.assigned_at is not None:
        return Stage.IN_MEDIATION
    if f.refused:
        return Stage.MEDIATION_REFUSED
    return Stage.WAITING_FOR_MEDIATOR


def next_session(f: Facts, now: datetime) -> Session | None:
    """The earliest session still ahead (a session counts until two hours after its
    start, so that a party who is on the way still finds the place)."""
    ahead = [s for s in f.sessions if s.scheduled_for + timedelta(hours=2) > now]
    return min(ahead, key=lambda s: s.scheduled_for) if ahead else None


def confirmation_window(f: Facts, calendar: HolidayCalendar) -> date | None:
    """The last day of the joint application for judicial confirmation: 30 days from
    the day the agreement took effect, counted as CPL 2023 Art.85 says (CPL 2023
    Art.205; PML Art.33)."""
    start = f.agreement_effective_on or (to_china_date(f.agreement_effective_at)
                                          if f.agreement_effective_at else None)
    if start is None:
        return None
    try:
        return deadline(start, statutory.CONFIRMATION_APPLICATION, calendar).last_day
    except LegalTimeError:
        return None


def describe(f: Facts, *, party_id: str, masked_name: str, now: datetime, language: str,
             calendar: HolidayCalendar) -> View:
    """The page for the party ``party_id`` (whose masked name is ``masked_name``)."""
    t = _TEXTS["en" if language == "en" else "zh"]
    stage = stage_of(f)
    to_do: list[str] = []
    deadlines: list[Deadline] = []
    nxt = next_session(f, now) if stage is Stage.IN_MEDIATION else None
    headline = t[f"{stage.value}.headline"].format(mediator=f.mediator_name or t["your_mediator"],
                                                    case_number=f.case_number)
    explanation = t[f"{stage.value}.explanation"]
    if stage is Stage.IN_MEDIATION:
        if nxt is not None:
            when = nxt.scheduled_for.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
            where = t["by_video"].format(link=nxt.video_link) if nxt.video_link else nxt.place
            to_do.append(t["attend"].format(number=nxt.number, when=when, where=where))
        else:
            to_do.append(t["wait_for_call"])
    elif stage is Stage.AGREEMENT_EFFECTIVE:
        to_do.append(t["perform"])
        last = confirmation_window(f, calendar)
        if last is not None and to_china_date(now) <= last:
            to_do.append(t["apply_confirmation"].format(day=last.isoformat()))
            deadlines.append(Deadline(t["deadline.confirmation"], last, statutory.CONFIRMATION_APPLICATION.source,
                                      True))
        elif last is not None:
            to_do.append(t["confirmation_window_passed"])
    elif stage is Stage.MEDIATION_ENDED:
        if f.routes_told:
            to_do.append(t["routes"].format(routes=t["sep"].join(f.routes_told)))
        else:
            to_do.append(t["routes_general"])
    elif stage is Stage.RETURNED_TO_COURT:
        to_do.append(t[f"court.{f.court_next_step.value or 'unknown'}"])
    elif stage is Stage.CONFIRMATION_FILED and f.accept_by is not None:
        deadlines.append(Deadline(t["deadline.accept"], f.accept_by, statutory.CONFIRMATION_ACCEPTANCE.source, False))
        to_do.append(t["wait_for_court"])
    elif stage is Stage.CONFIRMATION_ACCEPTED:
        if f.decide_by is not None:
            deadlines.append(Deadline(t["deadline.decide"], f.decide_by, statutory.CONFIRMATION_DECISION.source,
                                      False))
        to_do.append(t["wait_for_ruling"])
    elif stage is Stage.CONFIRMATION_REFUSED or stage is Stage.RULED_REJECTED:
        to_do.append(t[f"{stage.value}.to_do"])
    elif stage is Stage.RULED_VALID:
        to_do.append(t["enforce"])
        if f.enforcement_by is not None:
            deadlines.append(Deadline(t["deadline.enforcement"], f.enforcement_by,
                                      statutory.ENFORCEMENT_APPLICATION.source, True))
        to_do.append(t["objection"])
    elif stage is Stage.MEDIATION_REFUSED:
        to_do.append(t["routes_general"])
    if stage in (Stage.AGREEMENT_EFFECTIVE, Stage.CONFIRMATION_FILED, Stage.CONFIRMATION_ACCEPTED,
                 Stage.RULED_VALID):
        for term in f.terms:
            if term.deadline is None:
                continue
            if term.obligor_id == party_id:
                deadlines.append(Deadline(t["deadline.perform"], term.deadline, "PML Art.29", True))
            elif term.obligee_id == party_id:
                deadlines.append(Deadline(t["deadline.performed_to_you"], term.deadline, "PML Art.29", False))
    if not to_do:
        to_do.append(t["nothing_to_do"])
    return View(
        stage=stage, headline=headline, explanation=explanation, your_name=masked_name,
        mediator_name=f.mediator_name if f.assigned_at else "", organization_id=f.organization_id if f.assigned_at
        else "", next_session=nxt, to_do=tuple(to_do), deadlines=tuple(sorted(deadlines, key=lambda d: d.last_day)),
        case_number=f.case_number, registered_on=to_china_date(f.registered_at), language="en" if language == "en"
        else "zh", dispute_type=f.dispute_type, updated_at=f.updated_at,
    )


_ZH = {
    "your_mediator": "调解员",
    "sep": "、",
    "mediation_refused.headline": "本纠纷不进行人民调解",
    "mediation_refused.explanation": "有当事人明确拒绝调解，依照《人民调解法》第十七条，不进行调解。",
    "waiting_for_mediator.headline": "正在为您的纠纷安排调解员",
    "waiting_for_mediator.explanation": "纠纷已登记。调解员接受后，这里会显示调解员的姓名和所在单位。调解不收费。",
    "in_mediation.headline": "调解员{mediator}正在调解您的纠纷",
    "in_mediation.explanation": "调解不收费（《人民调解法》第四条）。您可以选择公开或不公开调解，也可以随时要求终止调解"
                                "（第二十三条）。",
    "agreement_effective.headline": "调解协议已经生效",
    "agreement_effective.explanation": "各方已签署调解协议，协议对各方具有约束力，应当按照约定履行"
                                       "（《人民调解法》第三十一条）。",
    "mediation_ended.headline": "调解已经结束，没有达成调解协议",
    "mediation_ended.explanation": "调解终止后，您仍可以通过其他途径解决纠纷（《人民调解法》第二十六条）。",
    "returned_to_court.headline": "纠纷已退回人民法院",
    "returned_to_court.explanation": "本纠纷由人民法院委派或委托调解，调解未成功，已退回人民法院处理。",
    "confirmation_filed.headline": "司法确认申请已提交人民法院",
    "confirmation_filed.explanation": "人民法院将审查是否受理。司法确认不收费。",
    "confirmation_accepted.headline": "人民法院已受理司法确认申请（案号：{case_number}）",
    "confirmation_accepted.explanation": "人民法院正在审查调解协议，将作出裁定。",
    "confirmation_refused.headline": "人民法院不予受理司法确认申请",
    "confirmation_refused.explanation": "调解协议仍然有效，但没有经过司法确认，不能直接申请强制执行。",
    "confirmation_refused.to_do": "您可以重新调解，也可以就纠纷向人民法院起诉（《人民调解法》第三十二条）。",
    "ruled_valid.headline": "人民法院已裁定调解协议有效（案号：{case_number}）",
    "ruled_valid.explanation": "经司法确认的调解协议具有强制执行力（《民事诉讼法》第二百零六条）。",
    "ruled_rejected.headline": "人民法院裁定驳回司法确认申请（案号：{case_number}）",
    "ruled_rejected.explanation": "调解协议未获确认。",
    "ruled_rejected.to_do": "您可以通过调解变更原调解协议或者达成新的调解协议，也可以向人民法院起诉"
                            "（《民事诉讼法》第二百零六条）。",
    "attend": "请按时参加第{number}次调解：{when}（北京时间），{where}。",
    "by_video": "视频调解，链接：{link}",
    "wait_for_call": "调解员会与您联系，约定调解的时间和地点。请保持电话畅通。",
    "perform": "请按调解协议的约定履行。",
    "apply_confirmation": "如需司法确认，须由双方当事人在{day}之前（含当日）共同向人民法院申请"
                          "（《民事诉讼法》第二百零五条）。",
    "confirmation_window_passed": "申请司法确认的三十日期限已过。对方不履行协议的，您可以向人民法院起诉。",
    "routes": "您可以通过以下途径解决纠纷：{routes}。",
    "routes_general": "您可以通过仲裁、行政处理或者向人民法院起诉等途径解决纠纷。",
    "court.register_if_party_insists": "如您坚持起诉，人民法院将依法登记立案。",
    "court.resume_trial": "人民法院将恢复审理本案。",
    "court.unknown": "请留意人民法院的通知。",
    "wait_for_court": "请等待人民法院决定是否受理，并保持电话畅通。",
    "wait_for_ruling": "请等待人民法院的裁定。",
    "enforce": "对方不履行的，您可以向人民法院申请强制执行。",
    "objection": "如您认为裁定有错误，可以自收到裁定书之日起十五日内向作出裁定的人民法院提出异议。",
    "nothing_to_do": "目前您不需要做什么。",
    "deadline.confirmation": "共同申请司法确认的最后一天",
    "deadline.accept": "人民法院决定是否受理的最后一天",
    "deadline.decide": "人民法院作出裁定的最后一天（经批准可延长十日）",
    "deadline.enforcement": "申请强制执行的最后一天",
    "deadline.perform": "您履行协议义务的最后一天",
    "deadline.performed_to_you": "对方向您履行的最后一天",
}

_EN = {
    "your_mediator": "the mediator",
    "sep": ", ",
    "mediation_refused.headline": "This dispute will not be mediated",
    "mediation_refused.explanation": "A party expressly refused mediation, so there is none (People's Mediation "
                                     "Law Art.17).",
    "waiting_for_mediator.headline": "A mediator is being found for your dispute",
    "waiting_for_mediator.explanation": "Your dispute is registered. Once a mediator accepts it, their name and "
                                        "office appear here. Mediation is free of charge.",
    "in_mediation.headline": "Your dispute is being mediated by {mediator}",
    "in_mediation.explanation": "Mediation is free of charge (People's Mediation Law Art.4). You may ask for it to "
                                "be held in public or in private, and you may end it at any time (Art.23).",
    "agreement_effective.headline": "The mediation agreement has taken effect",
    "agreement_effective.explanation": "Every party signed the agreement. It binds the parties, who must perform it "
                                       "as agreed (People's Mediation Law Art.31).",
    "mediation_ended.headline": "Mediation has ended without an agreement",
    "mediation_ended.explanation": "You can still resolve the dispute in other ways (People's Mediation Law Art.26).",
    "returned_to_court.headline": "The dispute has gone back to the court",
    "returned_to_court.explanation": "A court sent this dispute to mediation; mediation did not succeed, so the "
                                     "court takes it up again.",
    "confirmation_filed.headline": "The application for judicial confirmation is with the court",
    "confirmation_filed.explanation": "The court will decide whether to accept it. Judicial confirmation is free.",
    "confirmation_accepted.headline": "The court accepted the application for judicial confirmation "
                                      "(case {case_number})",
    "confirmation_accepted.explanation": "The court is reviewing the agreement and will rule on it.",
    "confirmation_refused.headline": "The court did not accept the application for judicial confirmation",
    "confirmation_refused.explanation": "The agreement stands, but without confirmation it cannot be enforced "
                                        "directly.",
    "confirmation_refused.to_do": "You may mediate again, or take the dispute to court (People's Mediation Law "
                                  "Art.32).",
    "ruled_valid.headline": "The court ruled the mediation agreement valid (case {case_number})",
    "ruled_valid.explanation": "A confirmed agreement can be enforced by the court (Civil Procedure Law Art.206).",
    "ruled_rejected.headline": "The court rejected the application for judicial confirmation "
                               "(case {case_number})",
    "ruled_rejected.explanation": "The agreement was not confirmed.",
    "ruled_rejected.to_do": "You may change the agreement or reach a new one through mediation, or take the "
                            "dispute to court (Civil Procedure Law Art.206).",
    "attend": "Please attend mediation session {number}: {when} (China time), {where}.",
    "by_video": "by video: {link}",
    "wait_for_call": "The mediator will contact you to agree a time and place. Please keep your phone on.",
    "perform": "Please perform the agreement as agreed.",
    "apply_confirmation": "For judicial confirmation, all parties must apply to the court together by {day} "
                          "(inclusive; Civil Procedure Law Art.205).",
    "confirmation_window_passed": "The 30 days to apply for judicial confirmation have passed. If the other side "
                                  "does not perform, you may take the matter to court.",
    "routes": "You can resolve the dispute through: {routes}.",
    "routes_general": "You can resolve the dispute through arbitration, an administrative authority or a court.",
    "court.register_if_party_insists": "If you insist on suing, the court will register the case.",
    "court.resume_trial": "The court will resume the trial.",
    "court.unknown": "Please watch for the court's notice.",
    "wait_for_court": "Please wait for the court's decision on acceptance and keep your phone on.",
    "wait_for_ruling": "Please wait for the court's ruling.",
    "enforce": "If the other side does not perform, you may apply to the court for enforcement.",
    "objection": "If you think the ruling is wrong, you may object to the court that made it within 15 days of "
                 "receiving it.",
    "nothing_to_do": "There is nothing you need to do now.",
    "deadline.confirmation": "Last day to apply jointly for judicial confirmation",
    "deadline.accept": "Last day for the court to decide on acceptance",
    "deadline.decide": "Last day for the court to rule (10 more days if approved)",
    "deadline.enforcement": "Last day to apply for enforcement",
    "deadline.perform": "Last day for you to perform the agreement",
    "deadline.performed_to_you": "Last day for the other side to perform to you",
}

_TEXTS = {"zh": _ZH, "en": _EN}
