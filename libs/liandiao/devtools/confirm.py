"""The demo's courts at work (issue 9): the province's basic courts and people's tribunals loaded
into confirmation as an operator loads them (`python -m services.confirmation.courts load`), then,
for each written agreement that took effect, the parties' joint application to a competent court
(the delegating court, or the court where the committee sits), the clerk's acceptance and the
judge's ruling: valid for most, rejected on an SPC-Interp Art.358 ground for a few. One ruling is
checked with the offline verifier and only the court's public key. Returns the figures the demo
prints.

Oral agreements are not applied for: judicial confirmation is of a written mediation agreement
(PML Art.33; SPC-Interp Art.354 asks for the agreement itself among the materials)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.devtools.clients import token
from liandiao.devtools.localrun import REPO
from liandiao.devtools.province import Province
from liandiao.mediation.v1 import mediation_pb2 as mpb
from liandiao.signing import signed_ruling_file

# Every REJECT_EVERY-th application (in case order) is rejected, so that even a small demo shows
# both outcomes; the ground is drawn.
REJECT_EVERY = 8
REJECTION_GROUNDS = (cpb.REJECTION_GROUND_NOT_VOLUNTARY, cpb.REJECTION_GROUND_UNCLEAR,
                     cpb.REJECTION_GROUND_HARMS_OTHERS)


@dataclass
class Figures:
    agreements: int = 0           # written agreements that took effect
    applied: int = 0
    accepted: int = 0
    refused_by_court: int = 0
    valid: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    case_numbers: list[str] = field(default_factory=list)
    verified: str = ""            # the offline verifier's answer for one ruling
    calls_refused: Counter[str] = field(default_factory=Counter)

    @property
    def confirmation_rate(self) -> float:
        """Valid rulings over written agreements that took effect (司法确认率 as the demo counts it)."""
        return self.valid / self.agreements if self.agreements else 0.0

    def problems(self) -> list[str]:
        out = [f"confirmation calls refused: {dict(self.calls_refused)}"] if self.calls_refused else []
        if self.applied < self.agreements:
            out.append(f"only {self.applied} of {self.agreements} written agreements were applied for")
        if self.verified and not self.verified.startswith("GENUINE"):
            out.append(f"the offline verifier did not accept a valid ruling: {self.verified}")
        return out

    def lines(self) -> list[str]:
        grounds = ", ".join(f"{cpb.RejectionGround.Name(int(g)).removeprefix('REJECTION_GROUND_').lower()} {n}"
                            for g, n in sorted(self.rejected.items())) or "none"
        numbers = sorted(self.case_numbers)
        shown = f"{numbers[0]} … {numbers[-1]}" if len(numbers) > 1 else (numbers[0] if numbers else "none")
        out = [f"• confirmation: {self.applied} joint applications for {self.agreements} written agreements; "
               f"{self.accepted} accepted, {self.refused_by_court} refused; rulings: {self.valid} valid, "
               f"{sum(self.rejected.values())} rejected ({grounds})",
               f"• case numbers issued: {len(numbers)} ({shown}); confirmation rate {self.confirmation_rate:.0%} "
               "(valid rulings / written agreements effective)",
               f"• offline check of one signed ruling with only the court's public key: {self.verified or 'not run'}"]
        if self.calls_refused:
            out.append(f"• confirmation calls refused: {dict(self.calls_refused)}")
        return out


def courts(prov: Province, names: dict[str, str]) -> list[dict[str, object]]:
    """The courts file an operator would load: each county's basic court, then its tribunal."""
    out: list[dict[str, object]] = []
    for county in prov.counties:
        name = names.get(county.division.code, county.division.name)
        out.append({"court_id": county.basic_court, "name": f"{name}人民法院", "region_code": county.division.code,
                    "level": "basic"})
        if county.tribunal:
            out.append({"court_id": county.tribunal, "name": f"{name}人民法院城区人民法庭",
                        "region_code": county.division.code, "level": "basic", "basic_court_id": county.basic_court})
    return out


def load_courts(prov: Province, env: dict[str, str], state: Path) -> int:
    """Writes the courts file and loads it with confirmation's own command, as an operator does."""
    path = state / "demo-courts.json"
    path.write_text(json.dumps(courts(prov, {}), ensure_ascii=False, indent=1))
    done = subprocess.run([sys.executable, "-m", "services.confirmation.courts", "load", str(path)],
                          cwd=REPO, capture_output=True, text=True,
                          env={"LIANDIAO_ENV": "development", **os.environ, **env,
                               "PYTHONPATH": f"{REPO / 'libs'}:{REPO}"})
    if done.returncode != 0:
        raise RuntimeError(f"loading the courts failed: {done.stderr.strip() or done.stdout.strip()}")
    return len(courts(prov, {}))


def court_for(case: mpb.Case, prov: Province) -> str:
    """A competent court: the delegating court (CPL 2023 Art.205 item 1), else the tribunal (or the
    basic court) of the county where the case's region lies (item 2: the organization's seat)."""
    court_ids = {c.basic_court for c in prov.counties} | {c.tribunal for c in prov.counties}
    if case.source == common_pb2.CASE_SOURCE_COURT_DELEGATION and case.referring_org_id in court_ids:
        return case.referring_org_id
    for county in prov.counties:
        if case.region_code.startswith(county.division.code):
            return county.tribunal or county.basic_court
    return ""


def application(case: mpb.Case, court_id: str) -> cpb.ApplyRequest:
    """Every party applies jointly, bringing every SPC-Interp Art.354 material."""
    items = [cpb.MaterialItem(material="agreement"), cpb.MaterialItem(material="presiding_proof")]
    for p in case.parties:
        items += [cpb.MaterialItem(material=m, party_id=p.party_id) for m in ("identity", "domicile", "contact")]
    return cpb.ApplyRequest(agreement_id=case.agreement.agreement_id, court_org_id=court_id, submitted=items,
                            applicants=[cpb.Applicant(party_id=p.party_id) for p in case.parties])


async def _projected(call: Callable[[], Awaitable[cpb.Application]], timeout: float = 30) -> cpb.Application:
    """Apply once confirmation has projected the agreement from mediation's event (NOT_FOUND until then)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or loop.time() > deadline:
                raise
            await asyncio.sleep(0.3)


async def to_ruling(stub, case: mpb.Case, court_id: str, ground: cpb.RejectionGround | int = 0
                    ) -> tuple[str, cpb.Application | cpb.Ruling]:
    """The joint application filed by the committee's clerk, then the court's clerk refusing it (as
    the admissibility proposal says) or accepting it for a named judge, who rules: valid, or rejected
    on `ground` when one is given. Returns ("refused", the application) or ("ruled", the ruling)."""
    region = case.region_code
    committee = token(Role.CLERK, subject=f"clerk-{case.organization_id}", organization_id=case.organization_id,
                      region_scope=(region[:6],))
    clerk = token(Role.COURT, subject=f"clerk-{court_id}", organization_id=court_id, region_scope=(region[:4],))
    judge_id = f"judge-{court_id}"
    judge = token(Role.JUDGE, subject=judge_id, organization_id=court_id, region_scope=(region[:4],))
    filed = await _projected(lambda: stub.Apply(application(case, court_id), metadata=committee, timeout=30))
    if filed.proposed_refusal:
        return "refused", await stub.RefuseApplication(cpb.RefuseApplicationRequest(
            application_id=filed.application_id, grounds=[f.ground for f in filed.proposed_refusal],
            reasons="依法不予受理"), metadata=clerk, timeout=30)
    accepted = await stub.AcceptApplication(cpb.AcceptApplicationRequest(
        application_id=filed.application_id, judge_id=judge_id, reasons="材料齐全，符合受理条件"),
        metadata=clerk, timeout=30)
    if ground:
        rule = cpb.RuleRequest(application_id=accepted.application_id, outcome=cpb.RULING_OUTCOME_REJECTED,
                               ground=cpb.RejectionGround.ValueType(ground), reasons="经审查，协议内容存在依法不予确认的情形。")
    else:
        rule = cpb.RuleRequest(application_id=accepted.application_id, outcome=cpb.RULING_OUTCOME_VALID,
                               reasons="协议系双方自愿达成，内容不违反法律规定。")
    return "ruled", await stub.Rule(rule, metadata=judge, timeout=30)


async def confirm(stub, cases: list[mpb.Case], prov: Province, rng: random.Random,
                  bounded: Callable[[list[Callable[[], Awaitable[object]]], int], Awaitable[list[object]]],
                  concurrency: int) -> tuple[Figures, list[cpb.Ruling]]:
    figures = Figures()
    rulings: list[cpb.Ruling] = []
    written = [c for c in cases if c.status in (mpb.CASE_STATUS_AGREEMENT_EFFECTIVE, mpb.CASE_STATUS_CLOSED)
               and c.agreement.state == mpb.AGREEMENT_STATE_EFFECTIVE and not c.agreement.oral]
    figures.agreements = len(written)
    rejected = {c.case_id for n, c in enumerate(sorted(written, key=lambda c: c.case_id)) if n % REJECT_EVERY == 3}

    def one(case: mpb.Case):
        async def run() -> None:
            reject = case.case_id in rejected
            try:
                outcome, got = await to_ruling(stub, case, court_for(case, prov),
                                               ground=rng.choice(REJECTION_GROUNDS) if reject else 0)
            except grpc.aio.AioRpcError as exc:
                figures.calls_refused[exc.code().name] += 1
                return
            figures.applied += 1
            if outcome == "refused":
                figures.refused_by_court += 1
                return
            figures.accepted += 1
            assert isinstance(got, cpb.Ruling)
            if got.outcome == cpb.RULING_OUTCOME_VALID:
                figures.valid += 1
            else:
                figures.rejected[str(got.ground)] += 1
            figures.case_numbers.append(got.case_number)
            rulings.append(got)
        return run

    await bounded([one(c) for c in written], concurrency)
    return figures, rulings


def verify_offline(ruling: cpb.Ruling, keys_file: Path, work: Path) -> str:
    """Runs the offline verifier on one ruling with only its court's public key; returns its answer."""
    ring = json.loads(keys_file.read_text())
    public = next(k["public_key"] for k in ring["keys"] if k["key_id"] == ruling.key_id)
    (work / "demo-court.pub").write_text(public)
    (work / "demo-ruling.json").write_text(signed_ruling_file(ruling.document, ruling.key_id,
                                                                     ruling.signature))
    done = subprocess.run([sys.executable, "-m", "services.confirmation.verify", str(work / "demo-ruling.json"),
                           "--public-key", str(work / "demo-court.pub")], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": f"{REPO / 'libs'}:{REPO}"})
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else f"exit {done.returncode}: {done.stderr}"
