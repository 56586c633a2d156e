"""The base measures the read model counts in SQL (services/statistics/store.py), each
with the definition a figure's formula is written from. A figure (formulas.toml) is one
measure or a ratio of two counts. Pure: no I/O.

Every count is taken by the milestone that falls in the period: disputes by their
registration, mediated cases by the day the mediation ended, agreements by the day they
took effect, rulings by their issue date. "Days" are calendar days (24 h) from the
dispute's registration to the milestone."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MeasureKind(StrEnum):
    COUNT = "count"
    DAYS = "days"
    HOURS = "hours"
    AMOUNT = "amount"
    EXTERNAL = "external"   # a count sent in by another system (ImportExternalFigures)


@dataclass(frozen=True)
class Measure:
    key: str
    kind: MeasureKind
    zh: str
    en: str


def _m(key: str, kind: MeasureKind, zh: str, en: str) -> Measure:
    return Measure(key, kind, zh, en)


C, D, H = MeasureKind.COUNT, MeasureKind.DAYS, MeasureKind.HOURS
MEASURES: dict[str, Measure] = {m.key: m for m in (
    _m("disputes", C, "本期登记的纠纷件数", "disputes registered in the period"),
    _m("amount_fen", MeasureKind.AMOUNT, "本期登记纠纷的涉案金额（分）", "amount in dispute of the disputes registered (fen)"),
    _m("assigned", C, "本期指派调解员（调解员接受）的件数", "disputes assigned (the mediator accepted) in the period"),
    _m("mediated", C, "本期调结件数（协议生效或调解终止）", "cases whose mediation ended in the period (agreement effective or terminated)"),
    _m("successful", C, "本期调解成功件数（调解协议生效）", "cases mediated successfully (agreement took effect) in the period"),
    _m("failed", C, "本期调解终止（未达成协议）件数", "cases terminated without agreement in the period"),
    _m("court_mediated", C, "本期调结的法院委派、委托案件数", "court-delegated or commissioned cases whose mediation ended in the period"),
    _m("court_successful", C, "本期调解成功的法院委派、委托案件数", "court-delegated or commissioned cases mediated successfully in the period"),
    _m("returned_to_court", C, "本期退回法院的案件数", "cases returned to the court in the period"),
    _m("agreements", C, "本期生效的调解协议件数", "mediation agreements that took effect in the period"),
    _m("applications", C, "本期提出的司法确认申请件数", "judicial-confirmation applications filed in the period"),
    _m("applications_accepted", C, "本期法院受理的司法确认申请件数", "applications the court accepted in the period"),
    _m("applications_refused", C, "本期法院不予受理的司法确认申请件数", "applications the court refused in the period"),
    _m("valid_rulings", C, "本期作出的确认调解协议有效裁定件数", "rulings confirming the agreement valid issued in the period"),
    _m("rejected_rulings", C, "本期作出的驳回申请裁定件数", "rulings rejecting the application issued in the period"),
    _m("overdue", C, "本期届满而未按期完成的案件数（调解期限、法院受理期限、裁定期限）",
       "cases whose deadline (mediation period, court acceptance, ruling) fell in the period and was missed"),
    _m("offers_expired", C, "本期调解员逾期未答复的指派件数（3个工作日）",
       "offers the mediator left unanswered for 3 working days in the period"),
    _m("prevented_criminal", C, "本期调解成功且曾发出风险预警（可能转化为治安、刑事案件，人民调解法第25条）的纠纷数",
       "disputes mediated successfully in the period that had an early warning (could have turned into a "
       "public-order or criminal case, PML Art.25)"),
    _m("warnings", C, "本期发出的风险预警数", "early warnings raised in the period"),
    _m("warnings_escalated", C, "本期发出且因未签收而升级的预警数", "warnings raised in the period that escalated (unacknowledged in time)"),
    _m("warnings_acknowledged", C, "本期发出且各单位均已签收的预警数", "warnings raised in the period acknowledged by every office"),
    _m("acknowledgements", C, "本期的预警签收次数（每个单位一次）", "acknowledgements of warnings in the period (one per office)"),
    _m("days_to_assignment_avg", D, "登记至指派的平均天数（本期指派的案件）", "average days from registration to assignment (cases assigned in the period)"),
    _m("days_to_assignment_p50", D, "登记至指派天数的中位数", "median days from registration to assignment"),
    _m("days_to_assignment_p90", D, "登记至指派天数的第90百分位数", "90th percentile of days from registration to assignment"),
    _m("days_to_agreement_avg", D, "登记至协议生效的平均天数（本期生效的协议）", "average days from registration to an effective agreement (agreements of the period)"),
    _m("days_to_agreement_p50", D, "登记至协议生效天数的中位数", "median days from registration to an effective agreement"),
    _m("days_to_agreement_p90", D, "登记至协议生效天数的第90百分位数", "90th percentile of days from registration to an effective agreement"),
    _m("days_to_ruling_avg", D, "登记至司法确认裁定的平均天数（本期作出的裁定）", "average days from registration to the ruling (rulings of the period)"),
    _m("days_to_ruling_p50", D, "登记至裁定天数的中位数", "median days from registration to the ruling"),
    _m("days_to_ruling_p90", D, "登记至裁定天数的第90百分位数", "90th percentile of days from registration to the ruling"),
    _m("ack_hours_avg", H, "预警发出至各单位签收的平均小时数（本期的签收）", "average hours from a warning to an office's acknowledgement (acknowledgements of the period)"),
    _m("ack_hours_p90", H, "预警签收小时数的第90百分位数", "90th percentile of hours from a warning to an office's acknowledgement"),
    _m("external.police", MeasureKind.EXTERNAL, "公安机关报送的因民间纠纷引发的治安、刑事案件数",
       "public-security cases caused by civil disputes, as reported by the police system"),
    _m("external.court", MeasureKind.EXTERNAL, "法院报送的民事诉讼收案数", "civil litigation cases filed, as reported by the court system"),
    _m("external.petition", MeasureKind.EXTERNAL, "信访部门报送的信访件数", "petitions (信访), as reported by the petition system"),
)}

# The platform's counted (SQL) measures: everything but the external ones.
COUNTED = tuple(k for k, m in MEASURES.items() if m.kind is not MeasureKind.EXTERNAL)
EXTERNAL_SOURCES = ("police", "court", "petition")


@dataclass(frozen=True)
class External:
    """One importing system's count for a region and period: the sum of the months reported."""
    total: int = 0
    months_reported: int = 0
    months_expected: int = 1


@dataclass(frozen=True)
class Measures:
    """The base measures of one region (or group) and one period. A duration is None
    when no case reached the milestone in the period."""
    counts: dict[str, int] = field(default_factory=dict)
    durations: dict[str, float | None] = field(default_factory=dict)
    external: dict[str, External] = field(default_factory=dict)

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)
