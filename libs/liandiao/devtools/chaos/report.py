"""The chaos run's table: what was done to the platform, what it lost or doubled,
how long it took to come back from each fault, and each invariant with its numbers."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from liandiao.devtools.chaos.checks import Casework, Invariant, Tally
from liandiao.devtools.chaos.faults import Exit, Outcome
from liandiao.devtools.chaos.plan import Kind, Options
from liandiao.devtools.chaos.workload import Dispute

LINE = "─" * 110


@dataclass
class Report:
    options: Options
    disputes: list[Dispute] = field(default_factory=list)
    probes: list[Dispute] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    exits: list[Exit] = field(default_factory=list)
    kills: dict[str, int] = field(default_factory=dict)
    answers: Counter[tuple[str, str]] = field(default_factory=Counter)
    invariants: list[Invariant] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    casework: Casework = field(default_factory=Casework)
    poison: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    log_dir: Path | None = None
    held_seconds: float = 0.0       # the counters held back by a full backlog

    @property
    def ok(self) -> bool:
        return bool(self.invariants) and all(i.ok for i in self.invariants)

    def invariant(self, prefix: str) -> Invariant:
        return next(i for i in self.invariants if i.name.startswith(prefix))

    def table(self) -> str:
        o = self.options
        count = Counter(f.fault.kind for f in self.outcomes)
        pauses = [f for f in self.outcomes if f.fault.kind is Kind.PAUSE]
        registering = Counter({code: n for (m, code), n in self.answers.items() if m == "RegisterDispute"})
        others = Counter({f"{m} {code}": n for (m, code), n in self.answers.items()
                          if m != "RegisterDispute" and code != "OK"})
        total = sum(self.timings.values())
        out = [LINE, f" Liandiao chaos run: {o.count} disputes (+{len(self.probes)} probes), seed {o.seed}, "
               f"prefectures {','.join(o.prefectures)}; {_dur(total)} in all", LINE]
        out.append(" phases        " + ", ".join(f"{k} {_dur(v)}" for k, v in self.timings.items()))
        out.append(f" disputes      {self.tally.accepted} accepted and checked, {self.tally.deliveries} deliveries"
                   + (f"; registrations held back {_dur(self.held_seconds)} by a full backlog"
                      if self.held_seconds >= 1 else ""))
        w = self.casework
        if w.driven:
            out.append(f" casework      {w.driven} cases taken past acceptance: "
                       + ", ".join(f"{k} {n}" for k, n in sorted(w.ends.items()))
                       + f"; {w.deliveries} deliveries in all")
        out.append(" kills         " + ", ".join(f"{s} {n}" for s, n in self.kills.items()))
        out.append(f" broker        {count[Kind.BROKER]} restart(s)       database  {count[Kind.DATABASE]} restart(s)"
                   f"       pauses  {len(pauses)} ("
                   + ", ".join(f"{p.fault.targets[0]} {p.fault.down_seconds:.0f}s" for p in pauses) + ")")
        out.append(f" poison        {self.poison or 'none'}")
        out.append(f" lost          {self.tally.lost_count}" + _breakdown(self.tally.lost, "stuck before {}"))
        out.append(f" duplicated    {self.tally.duplicated_count}" + _breakdown(self.tally.duplicated, "with extra {}"))
        if self.tally.unplaced:
            out.append(f" unplaced      {len(self.tally.unplaced)} (routing's rules found no eligible mediator)")
        out.append(f" republished   {self.tally.republished} event(s) sent twice by a relay (dropped by inboxes); "
                   f"{self.tally.resent} delivery(ies) sent twice (the gateway drops the repeat by delivery id)")
        out.append(" registering   " + ", ".join(f"{k} {n}" for k, n in registering.most_common())
                   + " (answers to every attempt; retried with the same request id)")
        out.append(" other calls   " + (", ".join(f"{k} {n}" for k, n in others.most_common()) or "all OK")
                   + " (not OK; NOT_FOUND: routing had not placed it yet)")
        unexpected = Counter({f"{m} {code}": n for (m, code), n in self.answers.items()
                              if code in ("INTERNAL", "UNKNOWN")})
        if unexpected:
            out.append(" !! answers   " + ", ".join(f"{k} {n}" for k, n in unexpected.most_common())
                       + ": a fault a client can only retry should answer UNAVAILABLE (see the service logs)")
        if self.exits:
            out.append(" exits         " + ", ".join(f"{e.service} code {e.code} at {e.at:.0f}s" for e in self.exits)
                       + " (not killed: restarted by the driver)")
        out.append(LINE)
        out.append(f" {'#':>3}  {'at':>7}  {'fault':<40} {'SERVING after':>14} {'whole flow after':>17}  note")
        for f in self.outcomes:
            out.append(f" {f.n:>3}  {f.at:>6.0f}s  {f.fault.label:<40} {_secs(f.serving_s):>14} {_secs(f.flow_s):>17}"
                       f"  {f.note}")
        recovered = [f.flow_s for f in self.outcomes if f.flow_s is not None]
        if recovered:
            by_kind: dict[str, list[float]] = {}
            for f in self.outcomes:
                if f.flow_s is not None:
                    by_kind.setdefault(f.fault.kind.value, []).append(f.flow_s)
            out.append("      recovery (whole flow), by kind: " + ", ".join(
                f"{k} median {sorted(v)[len(v) // 2]:.1f}s max {max(v):.1f}s" for k, v in by_kind.items()))
        out.append(LINE)
        for i in self.invariants:
            out.append(f" {'ok  ' if i.ok else 'FAIL'}  {i.name}")
            if i.detail:
                out.append(f"        {i.detail}")
        out.append(LINE)
        out.append(f" {'all invariants hold' if self.ok else 'INVARIANTS BROKEN'}"
                   + (f"; logs in {self.log_dir}" if self.log_dir else ""))
        out.append(LINE)
        return "\n".join(out)

    def as_json(self) -> str:
        return json.dumps({
            "count": self.options.count, "seed": self.options.seed, "ok": self.ok, "timings": self.timings,
            "kills": self.kills, "lost": self.tally.lost_count,
            "casework": {"driven": self.casework.driven, "ends": dict(self.casework.ends),
                         "stuck": {k: v[:20] for k, v in self.casework.stuck.items()},
                         "disagree": {k: v[:20] for k, v in self.casework.wrong.items()}}, "duplicated": self.tally.duplicated_count,
            "lost_by_stage": {k: v[:20] for k, v in self.tally.lost.items() if v},
            "duplicated_by_kind": {k: v[:20] for k, v in self.tally.duplicated.items() if v},
            "faults": [{"n": f.n, "fault": f.fault.label, "at": f.at, "serving_s": f.serving_s, "flow_s": f.flow_s,
                        "note": f.note} for f in self.outcomes],
            "exits": [e.__dict__ for e in self.exits],
            "client_answers": {f"{m} {c}": n for (m, c), n in sorted(self.answers.items())},
            "invariants": [{"name": i.name, "ok": i.ok, "detail": i.detail} for i in self.invariants],
        }, ensure_ascii=False, indent=2)


def _dur(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _secs(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}s"


def _breakdown(groups: dict[str, list[str]], what: str) -> str:
    parts = [f"{len(v)} " + what.format(k) for k, v in groups.items() if v]
    return f" ({', '.join(parts)})" if parts else ""
