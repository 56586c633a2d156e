"""How values read on a page: instants in China Standard Time with the day named (weekday, and
whether it is a working day, a statutory holiday or a make-up working day, from the official
calendar in liandiao.legaltime), deadlines with the working days left, labels of the contracts'
enums. Pure functions, used as Jinja filters; labels are message ids (Simplified Chinese)
that the templates translate."""

from __future__ import annotations

from datetime import UTC, date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.intake.v1 import intake_pb2
from liandiao.legaltime import CHINA_TZ, CalendarNotLoaded, shipped_calendar, to_china_date, working_days_between
from liandiao.mediation.v1 import mediation_pb2 as mpb
from liandiao.routing.v1 import routing_pb2


def N_(msgid: str) -> str:
    """Marks a message id for extraction (pybabel: keyword N_); translated where shown."""
    return msgid


WEEKDAYS = (N_("周一"), N_("周二"), N_("周三"), N_("周四"), N_("周五"), N_("周六"), N_("周日"))


def instant(value: Timestamp | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, Timestamp):
        if not value.seconds and not value.nanos:
            return None
        return value.ToDatetime(tzinfo=UTC)
    return value


def day_kind(day: date) -> str:
    """Working day, rest day, a named holiday, or a make-up working day (调休)."""
    cal = shipped_calendar()
    try:
        if cal.is_makeup_working_day(day):
            return N_("调休工作日")
        name = cal.holiday_name(day)
        if name:
            return name
        return N_("工作日") if cal.is_working_day(day) else N_("休息日")
    except CalendarNotLoaded:
        return N_("工作日") if day.weekday() < 5 else N_("休息日")


def cst_parts(value) -> tuple[str, str, str] | None:
    """(date and time in CST, weekday msgid, day-kind msgid)."""
    at = instant(value)
    if at is None:
        return None
    local = at.astimezone(CHINA_TZ)
    return local.strftime("%Y-%m-%d %H:%M"), WEEKDAYS[local.weekday()], day_kind(local.date())


def date_parts(iso: str) -> tuple[str, str, str] | None:
    if not iso:
        return None
    day = date.fromisoformat(iso)
    return iso, WEEKDAYS[day.weekday()], day_kind(day)


def working_days_left(deadline: common_pb2.Deadline, now: datetime | None = None) -> int | None:
    """Working days from today (China) to the deadline's last day: 0 on the last day itself,
    negative once it has passed (how many working days late)."""
    if not deadline.last_day:
        return None
    now = now or datetime.now(UTC)
    today, last = to_china_date(now), date.fromisoformat(deadline.last_day)
    cal = shipped_calendar().with_weekend_fallback()
    if last >= today:
        return working_days_between(today, last, cal)
    return -working_days_between(last, today, cal)


def money(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


SOURCES = {
    common_pb2.CASE_SOURCE_PARTY_APPLICATION: N_("当事人申请"),
    common_pb2.CASE_SOURCE_POLICE_REFERRAL: N_("公安移送"),
    common_pb2.CASE_SOURCE_COURT_DELEGATION: N_("法院委派"),
    common_pb2.CASE_SOURCE_ONLINE: N_("在线申请"),
    common_pb2.CASE_SOURCE_OWN_INITIATIVE: N_("主动调解"),
}
SIDES = {common_pb2.PARTY_SIDE_APPLICANT: N_("申请人"), common_pb2.PARTY_SIDE_RESPONDENT: N_("被申请人")}
DISPUTE_STATUS = {intake_pb2.DISPUTE_STATUS_REGISTERED: N_("已登记"), intake_pb2.DISPUTE_STATUS_REFUSED: N_("当事人拒绝调解")}
ASSIGNMENT_STATUS = {
    routing_pb2.ASSIGNMENT_STATUS_UNSPECIFIED: N_("待分派"),
    routing_pb2.ASSIGNMENT_STATUS_OFFERED: N_("已指派，待调解员答复"),
    routing_pb2.ASSIGNMENT_STATUS_ACCEPTED: N_("调解员已接受"),
    routing_pb2.ASSIGNMENT_STATUS_UNASSIGNED: N_("无可分派的调解员"),
    routing_pb2.ASSIGNMENT_STATUS_AWAITING_CHOICE: N_("待当事人共同选择"),
}
CASE_STATUS = {
    mpb.CASE_STATUS_OPEN: N_("调解中"), mpb.CASE_STATUS_AGREEMENT_EFFECTIVE: N_("协议已生效"),
    mpb.CASE_STATUS_TERMINATED: N_("调解终止"), mpb.CASE_STATUS_IN_SESSION: N_("调解中（已安排调解）"),
    mpb.CASE_STATUS_SUSPENDED: N_("中止"), mpb.CASE_STATUS_AGREEMENT_DRAFTED: N_("协议待签署"),
    mpb.CASE_STATUS_RETURNED_TO_COURT: N_("退回法院"), mpb.CASE_STATUS_CLOSED: N_("已结案"),
}
SESSION_STATE = {mpb.SESSION_STATE_SCHEDULED: N_("已安排"), mpb.SESSION_STATE_HELD: N_("已举行"),
                 mpb.SESSION_STATE_NO_SHOW: N_("当事人未到"), mpb.SESSION_STATE_CANCELLED: N_("已取消")}
SESSION_RESULTS = {mpb.SESSION_RESULT_AGREEMENT_REACHED: N_("达成协议"),
                   mpb.SESSION_RESULT_PARTIAL_AGREEMENT: N_("部分达成"),
                   mpb.SESSION_RESULT_NO_AGREEMENT: N_("未达成协议"), mpb.SESSION_RESULT_ADJOURNED: N_("休会")}
GROUNDS = {
    mpb.TERMINATION_GROUND_SETTLED_WITHDRAWN: N_("当事人自行和解或撤回"),
    mpb.TERMINATION_GROUND_PARTY_UNREACHABLE: N_("无法联系当事人"),
    mpb.TERMINATION_GROUND_PARTY_REFUSES_TO_CONTINUE: N_("当事人拒绝继续调解"),
    mpb.TERMINATION_GROUND_POSITIONS_TOO_FAR_APART: N_("双方分歧过大"),
    mpb.TERMINATION_GROUND_PERIOD_EXPIRED: N_("调解期限届满"),
    mpb.TERMINATION_GROUND_PARTY_REFUSES_TO_SIGN: N_("当事人拒绝签署协议"),
    mpb.TERMINATION_GROUND_OTHER: N_("其他"),
}
FOLLOW_UP_RESULT = {mpb.FOLLOW_UP_RESULT_PERFORMED: N_("已履行"), mpb.FOLLOW_UP_RESULT_PARTLY_PERFORMED: N_("部分履行"),
                    mpb.FOLLOW_UP_RESULT_NOT_PERFORMED: N_("未履行")}
EXTENSION_STATUS = {mpb.EXTENSION_STATUS_PENDING: N_("待当事人同意"), mpb.EXTENSION_STATUS_GRANTED: N_("已延长"),
                    mpb.EXTENSION_STATUS_REFUSED: N_("当事人不同意"), mpb.EXTENSION_STATUS_LAPSED: N_("已失效")}
ACTOR_ROLES = {"mediator": N_("调解员"), "clerk": N_("司法所工作人员"), "party": N_("当事人"),
               "official": N_("工作人员"), "system": N_("系统")}
AGREEMENT_STATE = {mpb.AGREEMENT_STATE_DRAFT: N_("草稿，待签署"), mpb.AGREEMENT_STATE_EFFECTIVE: N_("已生效"),
                   mpb.AGREEMENT_STATE_VOID: N_("已作废")}
APPLICATION_STATUS = {
    cpb.APPLICATION_STATUS_FILED: N_("已申请，待受理"), cpb.APPLICATION_STATUS_ACCEPTED: N_("已受理，审查中"),
    cpb.APPLICATION_STATUS_REFUSED: N_("不予受理"), cpb.APPLICATION_STATUS_RULED: N_("已裁定"),
    cpb.APPLICATION_STATUS_WITHDRAWN: N_("按撤回处理"), cpb.APPLICATION_STATUS_AWAITING_SUPPLEMENT: N_("待补充材料"),
    cpb.APPLICATION_STATUS_REVIEW_AWAITING_SUPPLEMENT: N_("审查中，待补充材料"),
    cpb.APPLICATION_STATUS_CLOSED: N_("已由他院立案"),
}
OUTCOMES = {cpb.RULING_OUTCOME_VALID: N_("确认调解协议有效"), cpb.RULING_OUTCOME_REJECTED: N_("驳回申请")}
MATERIALS = {
    "agreement": N_("调解协议"), "presiding_proof": N_("主持调解的证明"), "identity": N_("身份证明"),
    "domicile": N_("住所证明"), "contact": N_("联系方式"), "authorization": N_("授权委托书"),
    "property_right_proof": N_("财产权利证明"), "statement": N_("承诺书"), "further_proof": N_("其他证明材料"),
}
OFFICES = {intake_pb2.LIAISON_OFFICE_POLICE_STATION: N_("派出所"),
           intake_pb2.LIAISON_OFFICE_PEOPLES_TRIBUNAL: N_("人民法庭"),
           intake_pb2.LIAISON_OFFICE_JUDICIAL_OFFICE: N_("司法所")}
# Where a board figure comes from, when not from the platform's own data (statistics' Figure.source).
STAT_SOURCES = {"police": N_("公安机关报送"), "court": N_("人民法院报送"), "petition": N_("信访部门报送")}

ROLES = {"clerk": N_("司法所工作人员"), "mediator": N_("调解员"), "police": N_("民警"), "court": N_("法院书记员"), "judge": N_("法官"),
         "liaison": N_("联络员"), "operator": N_("数据中心（督导）"), "supervisor": N_("司法局督导"), "lawyer": N_("律师"), "auditor": N_("审计员")}


def label(mapping_name: str, value) -> str:
    return globals()[mapping_name].get(value, str(value))


# Labels the templates spell out in place (choices of a form): listed here so that the
# catalogue has them.
TEMPLATE_LABELS = (
    N_("调解"), N_("仲裁"), N_("行政处理"), N_("诉讼"), N_("向人民法院起诉"), N_("申请仲裁"), N_("行政调解"),
    N_("不属于司法确认范围"), N_("不属于本院管辖"), N_("涉及身份关系"), N_("应适用其他程序"), N_("涉及物权、知识产权确权"),
    N_("违反法律强制性规定"), N_("损害他人合法权益"), N_("违背公序良俗"), N_("违背自愿原则"), N_("内容不明确"),
)
