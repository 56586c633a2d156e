"""ConfirmationService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from datetime import date
from typing import Any

from liandiao.auth import PEOPLE, Role
from liandiao.confirmation.v1 import confirmation_pb2 as pb
from liandiao.confirmation.v1 import confirmation_pb2_grpc
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.rpc import paging
from liandiao.rpc.convert import timestamp
from liandiao.rpc.enums import EnumMap
from liandiao.rpc.server import caller
from services.confirmation.app import (
    GROUND_NUMBERS,
    OUTCOME_NUMBERS,
    REFUSAL_NUMBERS,
    Confirmation,
    View,
    deadline_pb,
    objection_window_pb,
)
from services.confirmation.app import material_item as _item
from services.confirmation.domain.admissibility import InadmissibleGround
from services.confirmation.domain.model import Applicant
from services.confirmation.domain.ruling import Outcome, RejectionGround

# Method level (the interceptor); liandiao.confirmation's access rules then decide per application.
POLICY = {
    "Apply": frozenset({Role.CLERK, Role.MEDIATOR, Role.LAWYER}),
    "GetApplication": PEOPLE,
    "ListApplications": PEOPLE,
    "AcceptApplication": frozenset({Role.COURT, Role.JUDGE}),
    "RefuseApplication": frozenset({Role.COURT, Role.JUDGE}),
    "RequestSupplement": frozenset({Role.COURT, Role.JUDGE}),
    "SupplementMaterials": frozenset({Role.CLERK, Role.MEDIATOR, Role.LAWYER, Role.COURT}),
    "ExtendReview": frozenset({Role.JUDGE}),
    "Rule": frozenset({Role.JUDGE}),
    "Object": frozenset({Role.CLERK, Role.LAWYER, Role.COURT, Role.JUDGE}),
    "VerifyRuling": PEOPLE,
    "WithdrawApplication": frozenset({Role.CLERK, Role.MEDIATOR, Role.LAWYER, Role.COURT}),
    "ListCourtKeys": PEOPLE,
}

STATUS = EnumMap({
    pb.APPLICATION_STATUS_FILED: "filed", pb.APPLICATION_STATUS_ACCEPTED: "accepted",
    pb.APPLICATION_STATUS_REFUSED: "refused", pb.APPLICATION_STATUS_WITHDRAWN: "withdrawn",
    pb.APPLICATION_STATUS_AWAITING_SUPPLEMENT: "awaiting_supplement",
    pb.APPLICATION_STATUS_REVIEW_AWAITING_SUPPLEMENT: "review_awaiting_supplement",
    pb.APPLICATION_STATUS_CLOSED: "closed",
})
_RULED = {"ruled_valid", "ruled_rejected"}
_GROUNDS = {n: g for g, n in GROUND_NUMBERS.items()}
_REFUSALS = {n: g for g, n in REFUSAL_NUMBERS.items()}
_OUTCOMES = {n: o for o, n in OUTCOME_NUMBERS.items()}


def ruling_pb(r: Any) -> pb.Ruling:
    return pb.Ruling(
        ruling_id=str(r["ruling_id"]), application_id=str(r["application_id"]), outcome=OUTCOME_NUMBERS[Outcome(r["outcome"])],
        issued_at=timestamp(r["issued_at"]), case_number=r["case_number"], signature=bytes(r["signature"]),
        ground=GROUND_NUMBERS[RejectionGround(r["ground"])] if r["ground"] else 0, key_id=r["key_id"],
        document_digest=r["document_digest"], document=bytes(r["document"]), court_org_id=r["court_id"],
        judge_id=r["judge_id"], reasons=_reasons(bytes(r["document"])))


def _reasons(document: bytes) -> str:
    from services.confirmation.domain.ruling import parse_ruling
    return parse_ruling(document).reasons


def _items(items) -> list[pb.MaterialItem]:
    return [pb.MaterialItem(material=i.material.value, party_id=i.party_id, term_no=i.term_no) for i in items]


def to_proto(v: View) -> pb.Application:
    a = v.app
    status = pb.APPLICATION_STATUS_RULED if a.status.value in _RULED else STATUS.to_proto(a.status.value)
    refusal = v.refusal or {}
    from services.confirmation.domain.rules import proposed_admissibility
    proposed = proposed_admissibility(a)
    return pb.Application(
        application_id=a.application_id, dispute_id=a.agreement.dispute_id, agreement_id=a.agreement.agreement_id,
        court_org_id=a.court.court_id, status=status, filed_at=timestamp(a.filed_at),
        accept_by=deadline_pb(a.accept_by) if a.status.value == "filed" else None, decide_by=deadline_pb(a.decide_by),
        case_number=a.case_number.text if a.case_number else "",
        applicants=[pb.Applicant(party_id=x.party_id, agent_id=x.agent_id) for x in a.applicants],
        missing=_items(a.missing), supplement_items=_items(a.supplement_items), supplement_by=deadline_pb(a.supplement_by),
        proposed_refusal=[pb.AdmissibilityFinding(ground=REFUSAL_NUMBERS[f.ground], term_no=f.term_no, reason=f.reason)
                          for f in proposed.findings],
        judge_id=a.judge_id, extended=a.extended, ceiling=deadline_pb(a.ceiling),
        refusal_reasons=refusal.get("reasons", ""),
        refusal_grounds=[REFUSAL_NUMBERS[InadmissibleGround(g)] for g in refusal.get("grounds", [])],
        advice=refusal.get("advice", ""), withdrawal_reason=v.withdrawal_reason,
        ruling=ruling_pb(v.ruling) if v.ruling is not None else None,
        organization_id=a.agreement.organization.organization_id, days_overdue=v.days_overdue,
        signals=[pb.FalseMediationSignal(kind=x.kind.value, summary=x.summary, measured=x.measured,
                                         threshold=x.threshold, evidence_application_ids=list(x.evidence))
                 for x in v.signals],
        required=_items(sorted(a.required, key=_order)), submitted=_items(sorted(a.submitted, key=_order)),
        override_reason=(v.admission or {}).get("override_reason", ""),
        decision_reasons=(v.admission or {}).get("reasons", ""),
        objections=[objection_pb(o) for o in v.objections],
    )


def objection_pb(o: dict) -> pb.Objection:
    return pb.Objection(objection_id=str(o["objection_id"]), ruling_id=str(o["ruling_id"]), objector=o["objector"],
                        third_party=o["third_party"], filed_at=timestamp(o["filed_at"]),
                        window=objection_window_pb(o["third_party"], o["window_last_day"]))


def _order(i) -> tuple[str, str, int]:
    return i.material.value, i.party_id, i.term_no


def _materials(field: str, items) -> list:
    return [_item(f"{field}[{n}].material", i.material, i.party_id, i.term_no) for n, i in enumerate(items)]


def _iso(field: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(FieldViolation(field, "an ISO date, e.g. 2026-07-01")) from None


class ConfirmationApi(confirmation_pb2_grpc.ConfirmationServiceServicer):
    def __init__(self, confirmation: Confirmation):
        self.c = confirmation

    async def Apply(self, request, context):
        applicants = [Applicant(a.party_id, a.agent_id) for a in request.applicants]
        return to_proto(await self.c.apply(request.agreement_id, request.court_org_id, applicants,
                                           _materials("submitted", request.submitted), caller()))

    async def GetApplication(self, request, context):
        return to_proto(await self.c.get(request.application_id, caller()))

    async def ListApplications(self, request, context):
        size = paging.page_size(request.page.page_size)
        start = paging.offset(request.page.page_token)
        statuses: list[str] = []
        if request.status == pb.APPLICATION_STATUS_RULED:
            statuses = sorted(_RULED)
        elif request.status:
            known = STATUS.to_domain(request.status)
            if not known:
                raise InvalidInput(FieldViolation("status", "unknown status"))
            statuses = [known]
        views = await self.c.list(request.court_org_id, statuses, size + 1, start, caller(), request.overdue_only)
        more = len(views) > size
        return pb.ListApplicationsResponse(applications=[to_proto(v) for v in views[:size]],
                                           next_page_token=paging.next_offset(start, size, size) if more else "")

    async def AcceptApplication(self, request, context):
        return to_proto(await self.c.accept(request.application_id, request.reasons, request.override_reason, caller(),
                                            request.judge_id))

    async def RefuseApplication(self, request, context):
        grounds = []
        for n, g in enumerate(request.grounds):
            if g not in _REFUSALS:
                raise InvalidInput(FieldViolation(f"grounds[{n}]", "an SPC-Interp Art.355 ground"))
            grounds.append(_REFUSALS[g])
        if not grounds:
            raise InvalidInput(FieldViolation("grounds", "a refusal names its SPC-Interp Art.355 ground(s)"))
        return to_proto(await self.c.refuse(request.application_id, grounds, request.reasons, request.override_reason,
                                            caller()))

    async def RequestSupplement(self, request, context):
        return to_proto(await self.c.request_supplement(request.application_id, request.days,
                                                        _materials("items", request.items), caller()))

    async def SupplementMaterials(self, request, context):
        return to_proto(await self.c.supplement(request.application_id, _materials("items", request.items), caller()))

    async def ExtendReview(self, request, context):
        return to_proto(await self.c.extend(request.application_id, request.approved_by, request.reason, caller()))

    async def Rule(self, request, context):
        outcome = _OUTCOMES.get(request.outcome)
        if outcome is None:
            raise InvalidInput(FieldViolation("outcome", "valid or rejected"))
        ground = None
        if request.ground:
            ground = _GROUNDS.get(request.ground)
            if ground is None:
                raise InvalidInput(FieldViolation("ground", "an SPC-Interp Art.358 ground"))
        return ruling_pb(await self.c.rule(request.application_id, outcome, ground, request.reasons, caller()))

    async def Object(self, request, context):
        o = await self.c.object(request.ruling_id, request.objector, request.third_party, request.grounds,
                                _iso("received_on", request.received_on), _iso("knew_on", request.knew_on), caller(),
                                request.objection_id)
        return pb.Objection(objection_id=str(o["objection_id"]), ruling_id=str(o["ruling_id"]), objector=o["objector"],
                            third_party=o["third_party"], filed_at=timestamp(o["filed_at"]),
                            window=deadline_pb(o["window"]))

    async def WithdrawApplication(self, request, context):
        return to_proto(await self.c.withdraw(request.application_id, request.party_id, request.reason, caller()))

    async def ListCourtKeys(self, request, context):
        return pb.ListCourtKeysResponse(keys=[
            pb.CourtKey(key_id=e.key_id, court_org_id=e.organization_id, public_key_pem=e.public_key.to_pem(),
                        active=not e.retired, revoked=e.revoked) for e in self.c.court_keys(request.court_org_id)])

    async def VerifyRuling(self, request, context):
        genuine, reason, row = await self.c.verify(request.case_number, request.content_digest, request.signature)
        return pb.VerifyRulingResponse(genuine=genuine, reason=reason, ruling=ruling_pb(row) if row else None)
