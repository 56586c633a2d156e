"""What `make demo` found, and the table it prints: pure functions of what the
demo read back from the services (their answers, their metrics, the traces), so
that the counting is tested without a stack (libs/tests/test_demo_summary.py)."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from liandiao.devtools.notices import Notices
from liandiao.ids import lookup
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2
from liandiao.reference import dispute_types
from liandiao.routing.v1 import routing_pb2

SOURCE_NAMES = {1: "party application", 2: "own initiative", 3: "police referral", 4: "court delegation",
                5: "court commission", 6: "department referral", 7: "online"}
ACCEPTED = routing_pb2.ASSIGNMENT_STATUS_ACCEPTED
UNASSIGNED = routing_pb2.ASSIGNMENT_STATUS_UNASSIGNED
AWAITING_CHOICE = routing_pb2.ASSIGNMENT_STATUS_AWAITING_CHOICE
OPEN_STATUSES = frozenset({mediation_pb2.CASE_STATUS_OPEN, mediation_pb2.CASE_STATUS_IN_SESSION,
                           mediation_pb2.CASE_STATUS_SUSPENDED, mediation_pb2.CASE_STATUS_AGREEMENT_DRAFTED})


@dataclass
class Run:
    """Everything the demo read back at the end of a run."""
    requested: int                                   # registrations sent (valid ones)
    disputes: list[intake_pb2.Dispute]               # the answers: registered or refused consent
    unanswered: Counter[str]                         # registrations with no answer, by final status code
    invalid: int                                     # bad registrations refused with INVALID_ARGUMENT
    bad_sent: int
    assignments: dict[str, routing_pb2.Assignment]   # dispute id -> where routing left it
    declined: int
    cases: list[mediation_pb2.Case]
    deliveries_sent: int                             # notification's own count
    notified: int                                    # dispute-assigned events notification processed
    whole_traces: int                                # accepted disputes forming one trace across the flow
    consultations: int
    health: dict[str, str]
    backlog: float
    lag: float
    drained: bool                                    # the flow came to rest before the deadline
    phases: list[tuple[str, float]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    notices: Notices | None = None                   # what each audience received, by channel

    @property
    def registered(self) -> list[intake_pb2.Dispute]:
        return [d for d in self.disputes if d.status == intake_pb2.DISPUTE_STATUS_REGISTERED]

    @property
    def refused(self) -> list[intake_pb2.Dispute]:
        return [d for d in self.disputes if d.status == intake_pb2.DISPUTE_STATUS_REFUSED]

    @property
    def accepted(self) -> list[routing_pb2.Assignment]:
        return [a for a in self.assignments.values() if a.status == ACCEPTED]


def problems(run: Run) -> list[str]:
    """Why the run does not show the whole flow working; empty when it does."""
    out = []
    if run.unanswered:
        out.append(f"{sum(run.unanswered.values())} registrations never answered "
                   f"({', '.join(f'{k} {v}' for k, v in run.unanswered.most_common())})")
    if run.invalid != run.bad_sent:
        out.append(f"{run.bad_sent - run.invalid} of {run.bad_sent} bad registrations not refused as INVALID_ARGUMENT")
    placed = set(run.assignments)
    unplaced = [d.dispute_id for d in run.registered if d.dispute_id not in placed]
    if unplaced:
        out.append(f"{len(unplaced)} registered disputes have no assignment")
    opened = {c.dispute_id for c in run.cases}
    missing = [a.dispute_id for a in run.accepted if a.dispute_id not in opened]
    if missing:
        out.append(f"{len(missing)} accepted disputes have no case in mediation")
    if run.notified < len(run.accepted):
        out.append(f"notification took {run.notified} of {len(run.accepted)} assignments")
    if not run.drained:
        out.append(f"the flow did not come to rest (outbox backlog {int(run.backlog)}, consumer lag {int(run.lag)})")
    not_serving = {s: h for s, h in run.health.items() if h != "SERVING"}
    if not_serving:
        out.append(f"not SERVING: {not_serving}")
    return out


def _name(code: str) -> str:
    division = lookup(code)
    return division.name if division else code


def _pad(text: str, width: int) -> str:
    """Left-justify counting CJK characters as two columns, as a terminal shows them."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def placement_level(reason: str) -> str:
    for level in ("village", "township", "county", "prefecture", "province"):
        if reason.startswith(f"covers {level}") or f"; covers {level}" in reason:
            return level + (" (widened)" if "widened" in reason else "")
    return "joint choice" if "joint choice" in reason else "-"


def render(run: Run) -> str:
    types = dispute_types()
    registered, accepted = run.registered, run.accepted
    by_id = {d.dispute_id: d for d in registered}
    by_region = Counter(d.prefecture for d in registered)
    by_type = Counter(d.dispute_type for d in registered)
    by_source = Counter(SOURCE_NAMES.get(d.source, "?") for d in registered)
    acc_region = Counter(by_id[a.dispute_id].prefecture for a in accepted if a.dispute_id in by_id)
    acc_type = Counter(by_id[a.dispute_id].dispute_type for a in accepted if a.dispute_id in by_id)
    levels = Counter(placement_level(a.reason) for a in accepted)
    # Open means still being mediated: an effective, terminated, returned or closed case is not.
    still_open = [c for c in run.cases if c.status in OPEN_STATUSES]
    periods = Counter(c.deadline.period_name for c in still_open)
    statuses = Counter(a.status for a in run.assignments.values())
    chosen = sum(1 for a in accepted if "joint choice" in a.reason)
    line = "─" * 72
    out = [line, " Liandiao demo summary", line]
    out.append(f" {'prefecture':<22}{'registered':>12}{'assigned':>12}")
    for pref in sorted(by_region):
        out.append(f" {_pad(_name(pref) + ' (' + pref + ')', 22)}{by_region[pref]:>12}{acc_region[pref]:>12}")
    out.append("")
    out.append(f" {'dispute type':<30}{'registered':>12}{'assigned':>12}")
    for code, n in by_type.most_common():
        label = f"{types[code].zh} {code}" if code in types else code
        out.append(f" {_pad(label, 30)}{n:>12}{acc_type[code]:>12}")
    out.append("")
    answered = len(run.disputes)
    out.append(f" registrations: {answered} of {run.requested} answered, {len(registered)} registered, "
               f"{len(run.refused)} refused consent (PML Art.17, never routed); {run.invalid} of {run.bad_sent} bad "
               "ones refused with INVALID_ARGUMENT"
               + (f"; UNANSWERED {sum(run.unanswered.values())}" if run.unanswered else ""))
    out.append(" by channel:   " + ", ".join(f"{k} {v}" for k, v in by_source.most_common()))
    out.append(" placed at:    " + ", ".join(f"{k} {v}" for k, v in levels.most_common()))
    out.append(f" offers:       {len(accepted)} accepted ({chosen} the parties' joint choice), {run.declined} declined "
               f"and re-offered, {statuses[UNASSIGNED]} unplaced (a clerk must act), {statuses[AWAITING_CHOICE]} "
               "court-delegated awaiting the parties' choice (2 working days)")
    out.append(f" consultations: {run.consultations} joint consultations (会商) called for difficult disputes")
    out.append(" cases open:   " + ", ".join(f"{k} {v}" for k, v in periods.most_common())
               + f" (total {len(still_open)} of {len(run.cases)} opened)")
    out.append(f" deliveries:   {run.deliveries_sent} sent for {run.notified} assignments, personal data masked")
    if run.notices is not None:
        out.extend(notice_lines(run.notices))
    out.append(f" tracing:      {run.whole_traces}/{len(accepted)} disputes form one trace across intake, routing, "
               "mediation, notification")
    out.append(" phases:       " + ", ".join(f"{name} {secs:.1f}s" for name, secs in run.phases))
    if run.cpu:
        out.append(" CPU seconds:  " + ", ".join(f"{k} {v:.1f}" for k, v in run.cpu.items()))
    out.append(f" health:       {', '.join(f'{k} {v}' for k, v in run.health.items())}")
    out.append(f" event flow:   outbox backlog {int(run.backlog)}, consumer lag {int(run.lag)}"
               + ("" if run.drained else " (NOT at rest)"))
    trouble = problems(run)
    out.append(" result:       " + ("the whole flow worked" if not trouble else "; ".join(trouble)))
    out.append(f" logs:         .state/logs/demo/<service>.log\n{line}")
    return "\n".join(out)


def notice_lines(n: Notices) -> list[str]:
    """Who was told, on which channel, and how it went."""
    out = [f" {'told':<18}{'channel':<10}{'messages':>9}{'delivered':>11}{'failed':>8}{'retries':>9}{'pending':>9}"]
    for (kind, channel), t in sorted(n.told.items()):
        out.append(f" {kind:<18}{channel:<10}{t.count:>9}{t.delivered:>11}{t.failed:>8}{t.retries:>9}{t.pending:>9}")
    out.append(f" SMS provider: {n.sms_received} messages accepted of {n.sms_requests} requests (the rest refused "
               f"and retried), {n.receipts} receipts reported; SMTP server: {n.mails} e-mails received")
    return out
