"""Statistics use cases: events in (facts per dispute), figures out.

Event handlers run in the consumer's transaction with its inbox row
(liandiao.events.consumer), so a redelivered event changes nothing; each one merges
only the columns its event knows (store.merge_facts). Reads compute the base measures
in SQL (store.py) and the figures from them by the configured formulas (domain/)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from liandiao import audit
from liandiao.auth import Claims, Role
from liandiao.confirmation.v1 import confirmation_pb2
from liandiao.errors import FieldViolation, InvalidInput, NotFound
from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from liandiao.ids import divisions
from liandiao.ids.errors import InvalidIdentifier
from liandiao.ids.masking import mask_name
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2
from liandiao.reference import dispute_types
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import aware
from liandiao.rpc.enums import CASE_SOURCE
from services.statistics import access, store
from services.statistics.domain import formulas as fm
from services.statistics.domain.measures import COUNTED, EXTERNAL_SOURCES, External, Measures
from services.statistics.domain.periods import Period, parse_month, parse_period

log = logging.getLogger(__name__)

MAX_IMPORT = 500
# No division reports more in a month; a bigger number is a mistake, and sums stay far inside bigint.
MAX_COUNT = 1_000_000_000
MAX_LEDGER_ROWS = 50_000

SOURCE_LABELS = {"party_application": ("当事人申请", "Party application"),
                 "own_initiative": ("主动调解", "Own initiative"),
                 "police_referral": ("公安机关移交", "Police referral"),
                 "court_delegation": ("法院委派", "Court delegation"),
                 "court_commission": ("法院委托", "Court commission"),
                 "department_referral": ("部门移交", "Department referral"),
                 "online": ("在线申请", "Online application"), "": ("未知", "Unknown")}
EVENTS = (catalog.DISPUTE_REGISTERED, catalog.RISK_FLAGGED, catalog.WARNING_ACKNOWLEDGED, catalog.DISPUTE_ASSIGNED,
          catalog.ASSIGNMENT_EXPIRED, catalog.AGREEMENT_EFFECTIVE, catalog.MEDIATION_FAILED,
          catalog.CASE_RETURNED_TO_COURT, catalog.EXPIRY_REMINDER_DUE, catalog.APPLICATION_FILED,
          catalog.APPLICATION_ACCEPTED, catalog.APPLICATION_REFUSED, catalog.RULING_ISSUED)


def natural_region(code: str) -> str:
    """The code at its natural length ("150502000000" -> "150502"), so that a region's
    parent is its prefix; a code not in the list is kept as sent."""
    found = divisions.lookup(code) if code else None
    return found.code if found else code


def _ts(ts) -> datetime | None:
    return aware(ts) if ts.seconds or ts.nanos else None


def _deadline(d) -> datetime | None:
    return _ts(d.expires_at) if d.HasField("expires_at") else None


def _parties(parties) -> str:
    return "; ".join(f"{mask_name(p.display_name)} ({p.masked_id_number})" if p.masked_id_number
                     else mask_name(p.display_name) for p in parties)


_GROUND = {v: k.removeprefix("TERMINATION_GROUND_").lower()
           for k, v in mediation_pb2.TerminationGround.items() if v}
_OUTCOME = {confirmation_pb2.RULING_OUTCOME_VALID: "valid", confirmation_pb2.RULING_OUTCOME_REJECTED: "rejected"}


def _facts_of(event: ConsumedEvent) -> tuple[str, dict[str, Any]]:
    """The dispute id and the fact columns one event sets."""
    p = event.payload
    region = natural_region(getattr(p, "region_code", "") or event.envelope.region_code)
    base: dict[str, Any] = {"region_code": region}
    match p:
        case intake_pb2.DisputeRegistered():
            return p.dispute_id, {**base, "dispute_type": p.dispute_type, "source": CASE_SOURCE.to_domain(p.source),
                                  "referring_org_id": p.referring_org_id, "amount_fen": p.amount_in_dispute_fen,
                                  "parties_masked": _parties(p.parties), "registered_at": _ts(p.registered_at)}
        case intake_pb2.RiskFlagged():
            return p.dispute_id, {**base, "warning_flagged_at": _ts(p.flagged_at), "warning_level": p.escalation_level}
        case intake_pb2.WarningAcknowledged():
            return p.dispute_id, {**base, "warning_flagged_at": _ts(p.flagged_at),
                                  "warning_acknowledged_at": _ts(p.acknowledged_at) if p.all_acknowledged else None}
        case routing_pb2.DisputeAssigned():
            return p.dispute_id, {**base, "dispute_type": p.dispute_type, "source": CASE_SOURCE.to_domain(p.source),
                                  "organization_id": p.organization_id, "mediator_id": p.mediator_id,
                                  "referring_org_id": p.referring_org_id, "assigned_at": _ts(p.accepted_at),
                                  "parties_masked": _parties(p.parties)}
        case routing_pb2.AssignmentExpired():
            return p.dispute_id, {}
        case mediation_pb2.AgreementEffective():
            return p.dispute_id, {**base, "organization_id": p.organization_id, "agreement_at": _ts(p.effective_at),
                                  "dispute_type": p.dispute_type, "source": CASE_SOURCE.to_domain(p.source)}
        case mediation_pb2.MediationFailed():
            return p.dispute_id, {**base, "organization_id": p.organization_id, "terminated_at": _ts(p.terminated_at),
                                  "termination_ground": _GROUND.get(p.ground, ""), "failure": p.failure,
                                  "dispute_type": p.dispute_type, "source": CASE_SOURCE.to_domain(p.source)}
        case mediation_pb2.CaseReturnedToCourt():
            return p.dispute_id, {**base, "returned_to_court_at": _ts(p.returned_at)}
        case mediation_pb2.ExpiryReminderDue():
            return p.dispute_id, {**base, "mediation_deadline": _deadline(p.deadline)}
        case confirmation_pb2.ApplicationFiled():
            return p.dispute_id, {**base, "application_filed_at": _ts(p.filed_at), "accept_by": _deadline(p.accept_by)}
        case confirmation_pb2.ApplicationAccepted():
            return p.dispute_id, {**base, "accepted_at": _ts(p.accepted_at), "decide_by": _deadline(p.decide_by)}
        case confirmation_pb2.ApplicationRefused():
            return p.dispute_id, {**base, "refused_at": _ts(p.refused_at)}
        case confirmation_pb2.RulingIssued():
            return p.dispute_id, {**base, "ruling_at": _ts(p.issued_at), "ruling_outcome": _OUTCOME.get(p.outcome, "")}
    raise ValueError(f"statistics does not handle {type(p).__name__}")


@dataclass(frozen=True)
class FigureResult:
    definition: fm.FigureDef
    current: fm.Value
    previous: fm.Value

    @property
    def change(self) -> float | None:
        return fm.change(self.current, self.previous)


@dataclass(frozen=True)
class BoardResult:
    region: divisions.Division
    period: Period
    three_up: list[FigureResult]
    three_down: list[FigureResult]
    figures: list[FigureResult]
    computed_at: datetime
    facts_as_of: datetime | None


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    figures: list[FigureResult]


@dataclass(frozen=True)
class ImportResult:
    created: int
    replaced: int
    unchanged: int


@dataclass(frozen=True)
class LedgerExport:
    rows: list[store.LedgerRow]
    period: Period


class Breakdown:
    TYPE, SOURCE, SUBREGION = "dispute_type", "source", "subregion"


_CHILD_LENGTH = {2: 4, 4: 6, 6: 9, 9: 12}


class Statistics:
    def __init__(self, pool: asyncpg.Pool, formulas: fm.Formulas,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.pool, self.formulas, self.clock = pool, formulas, clock

    # ---- events -------------------------------------------------------------------------
    async def on_event(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        dispute_id, facts = _facts_of(event)
        key = UUID(dispute_id)
        p = event.payload
        await store.merge_facts(conn, key, facts)
        if isinstance(p, routing_pb2.AssignmentExpired):
            await store.add_offer_expiry(conn, p.assignment_id or event.envelope.event_id, key,
                                         _ts(p.expired_at) or event.envelope.occurred_at)
        elif isinstance(p, intake_pb2.WarningAcknowledged):
            flagged, acked = _ts(p.flagged_at), _ts(p.acknowledged_at)
            if flagged and acked and p.office:
                await store.add_acknowledgement(conn, key, p.office, facts["region_code"], p.organization_id,
                                                flagged, acked)

    # ---- reads --------------------------------------------------------------------------
    def _region(self, caller: Claims, code: str) -> divisions.Division:
        if not code:
            raise InvalidInput(FieldViolation("region_code", "required: a GB/T 2260 code, e.g. 1505"))
        try:
            region = divisions.validate_region(code)
        except InvalidIdentifier as exc:
            raise InvalidInput(FieldViolation("region_code", str(exc))) from None
        access.check_region(caller, region.code)
        return region

    async def _measures(self, region_prefix: str, period: Period, grouping: store.Grouping) -> dict[str, Measures]:
        now = self.clock()
        rows = await store.measure_rows(self.pool, region_prefix, period.start, period.end, now, grouping)
        out = {}
        for g, row in rows.items():
            counts = {k: int(row.get(k) or 0) for k in COUNTED if k in row and not _is_duration(k)}
            durations = {k: (float(row[k]) if row.get(k) is not None else None) for k in row if _is_duration(k)}
            out[g] = Measures(counts, durations)
        return out

    async def _external(self, region_prefix: str, period: Period) -> dict[str, External]:
        now = self.clock()
        months = period.months()
        expected = max(1, sum(1 for m in months if m.start <= now))
        out = {}
        for source in EXTERNAL_SOURCES:
            total, reported = await store.external_total(self.pool, source, region_prefix,
                                                         [m.start.date() for m in months])
            out[source] = External(total, reported, expected)
        return out

    def _evaluate(self, defs, current: Measures, previous: Measures) -> list[FigureResult]:
        return [FigureResult(d, fm.evaluate(d, current), fm.evaluate(d, previous)) for d in defs]

    async def _both_years(self, prefix: str, period: Period, with_external: bool) -> tuple[Measures, Measures]:
        got = []
        for p in (period, period.previous_year()):
            m = (await self._measures(prefix, p, store.WHOLE)).get("", Measures())
            ext = await self._external(prefix, p) if with_external else {}
            got.append(Measures(m.counts, m.durations, ext))
        return got[0], got[1]

    async def board(self, caller: Claims, region_code: str, period_text: str) -> BoardResult:
        period = parse_period(period_text)
        region = self._region(caller, region_code)
        current, previous = await self._both_years(region.code, period, with_external=True)
        f = self.formulas
        result = BoardResult(
            region, period, self._evaluate(f.board(fm.Goal.UP), current, previous),
            self._evaluate(f.board(fm.Goal.DOWN), current, previous),
            self._evaluate(f.board(fm.Goal.NONE), current, previous),
            self.clock(), await store.facts_as_of(self.pool))
        await audit.record(self.pool, caller, audit.Action.READ, "board", f"{region.code}:{period}", region.code)
        return result

    async def figures(self, caller: Claims, region_code: str, period_text: str, breakdown: str,
                      locale: str = "zh") -> list[Group]:
        period = parse_period(period_text)
        region = self._region(caller, region_code)
        if breakdown == Breakdown.SUBREGION:
            length = _CHILD_LENGTH.get(len(region.code))
            if length is None:
                raise InvalidInput(FieldViolation("breakdown", "a village has no subregions"))
            grouping = store.Grouping(length=length)
        elif breakdown in (Breakdown.TYPE, Breakdown.SOURCE):
            grouping = store.Grouping(column=breakdown)
        else:
            raise InvalidInput(FieldViolation("breakdown", "required: dispute type, source or subregion"))
        current = await self._measures(region.code, period, grouping)
        previous = await self._measures(region.code, period.previous_year(), grouping)
        keys = sorted(set(current) | set(previous))
        if breakdown == Breakdown.SUBREGION:
            keys = sorted(set(keys) | {c.code for c in divisions.children(region.code)})
        defs = [d for d in self.formulas.figures if d.source == "platform" or breakdown == Breakdown.SUBREGION]
        groups = []
        for key in keys:
            cur, prev = current.get(key, Measures()), previous.get(key, Measures())
            if breakdown == Breakdown.SUBREGION:
                cur = Measures(cur.counts, cur.durations, await self._external(key, period))
                prev = Measures(prev.counts, prev.durations, await self._external(key, period.previous_year()))
            groups.append(Group(key, _group_label(breakdown, key, region.code, locale), self._evaluate(defs, cur, prev)))
        await audit.record(self.pool, caller, audit.Action.READ, "figures", f"{region.code}:{period}:{breakdown}",
                           region.code)
        return groups

    # ---- imports ------------------------------------------------------------------------
    async def import_figures(self, caller: Claims, source_system: str, figures: list[tuple[str, str, int]]) -> ImportResult:
        """Validates every figure first (nothing stored on any error), then replaces each
        region-month's count in one transaction."""
        if source_system not in EXTERNAL_SOURCES:
            raise InvalidInput(FieldViolation("source_system", "required: police, court or petition"))
        access.check_import(caller, source_system)
        problems: list[FieldViolation] = []
        if not figures:
            problems.append(FieldViolation("figures", "at least one figure"))
        if len(figures) > MAX_IMPORT:
            problems.append(FieldViolation("figures", f"at most {MAX_IMPORT} figures per call"))
        clean: list[tuple[str, date, int]] = []
        seen: set[tuple[str, date]] = set()
        for i, (code, month_text, count) in enumerate(figures[:MAX_IMPORT]):
            f = f"figures[{i}]"
            try:
                region = divisions.validate_region(code).code if code else None
                if region is None:
                    problems.append(FieldViolation(f"{f}.region_code", "required"))
            except InvalidIdentifier as exc:
                region = None
                problems.append(FieldViolation(f"{f}.region_code", str(exc)))
            if region is not None and caller.role is not Role.OPERATOR and not caller.sees_region(region):
                problems.append(FieldViolation(f"{f}.region_code", "outside the regions this system reports for"))
                region = None
            try:
                month = parse_month(month_text, f"{f}.period").start.date()
            except InvalidInput as exc:
                problems.extend(exc.violations)
                month = None
            if count < 0:
                problems.append(FieldViolation(f"{f}.count", "must not be negative"))
            elif count > MAX_COUNT:
                problems.append(FieldViolation(f"{f}.count", f"at most {MAX_COUNT:,} in a month"))
            if region and month:
                if (region, month) in seen:
                    problems.append(FieldViolation(f"{f}", f"region {region} and month {month_text} twice in one import"))
                seen.add((region, month))
                clean.append((region, month, count))
        if problems:
            raise InvalidInput(problems)
        outcome = {"created": 0, "replaced": 0, "unchanged": 0}
        async with self.pool.acquire() as conn, conn.transaction():
            for region, month, count in clean:
                outcome[await store.replace_external(conn, source_system, region, month, count, caller.subject)] += 1
            await audit.record(conn, caller, audit.Action.CHANGE, "external_figure",
                               [f"{source_system}:{r}:{m:%Y-%m}" for r, m, _ in clean])
        return ImportResult(**outcome)

    # ---- ledger -------------------------------------------------------------------------
    async def ledger(self, caller: Claims, organization_id: str, period_text: str) -> LedgerExport:
        if not organization_id.strip():
            raise InvalidInput(FieldViolation("organization_id", "required"))
        period = parse_period(period_text)
        scope = access.ledger_scope(caller, organization_id)
        if not scope:
            raise NotFound(f"organization {organization_id} not found")
        rows = await store.ledger_rows(self.pool, organization_id, period.start, period.end, scope, MAX_LEDGER_ROWS)
        await audit.record(self.pool, caller, audit.Action.READ, "dispute", [str(r.dispute_id) for r in rows],
                           reason=f"ledger {organization_id} {period}")
        return LedgerExport(rows, period)


def _is_duration(key: str) -> bool:
    return key.startswith(("days_", "ack_hours_"))


def region_name(code: str) -> str:
    found = divisions.lookup(code)
    return found.name if found else code


def _group_label(breakdown: str, key: str, parent: str, locale: str) -> str:
    en = locale == "en"
    if breakdown == Breakdown.TYPE:
        t = dispute_types().get(key)
        return (t.en if en else t.zh) if t else (key or ("Unknown" if en else "未知"))
    if breakdown == Breakdown.SOURCE:
        zh, english = SOURCE_LABELS.get(key, (key, key))
        return english if en else zh
    if key == parent:
        return "Registered at this level" if en else "本级直接登记"
    return region_name(key)


Handler = Callable[[asyncpg.Connection, ConsumedEvent], Awaitable[None]]
