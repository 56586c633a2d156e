"""Confirmation's sizes, in one place: what the gRPC edge enforces on every request
(liandiao.rpc.checks), set before the service is built so that its events are
bounded from the first day (docs/decisions.md "Bounded input")."""

from __future__ import annotations

from liandiao.sizes import ID, LONG, NAME, TEXT, Limits, Size

APPLICANTS = 50              # every party of the agreement, as many as intake registers
RULING_REASONS = LONG
DIGEST = 64                  # an SM3 digest is 32 bytes

MATERIALS = 200             # the checklist: a few per party and per term

LIMITS = Limits({
    "ApplyRequest.applicants": Size(items=APPLICANTS),
    "ApplyRequest.submitted": Size(items=MATERIALS),
    "Applicant.party_id": Size(chars=ID),
    "Applicant.agent_id": Size(chars=ID),
    "MaterialItem.material": Size(chars=NAME),
    "MaterialItem.party_id": Size(chars=ID),
    "AcceptApplicationRequest.reasons": Size(chars=TEXT),
    "AcceptApplicationRequest.judge_id": Size(chars=ID),
    "AcceptApplicationRequest.override_reason": Size(chars=TEXT),
    "RefuseApplicationRequest.grounds": Size(items=8),
    "RefuseApplicationRequest.reasons": Size(chars=TEXT),
    "RefuseApplicationRequest.override_reason": Size(chars=TEXT),
    "RequestSupplementRequest.items": Size(items=MATERIALS),
    "SupplementMaterialsRequest.items": Size(items=MATERIALS),
    "ExtendReviewRequest.approved_by": Size(chars=NAME),
    "ExtendReviewRequest.reason": Size(chars=TEXT),
    "ListApplicationsRequest.court_org_id": Size(chars=ID),
    "ObjectRequest.received_on": Size(chars=ID),
    "ObjectRequest.knew_on": Size(chars=ID),
    "VerifyRulingRequest.signature": Size(chars=DIGEST * 2),
    "RuleRequest.reasons": Size(chars=RULING_REASONS),
    "ObjectRequest.objector": Size(chars=NAME),
    "ObjectRequest.grounds": Size(chars=TEXT),
    "VerifyRulingRequest.case_number": Size(chars=ID),
    "VerifyRulingRequest.content_digest": Size(chars=DIGEST),
    "ObjectRequest.objection_id": Size(chars=ID),
    "WithdrawApplicationRequest.party_id": Size(chars=ID),
    "WithdrawApplicationRequest.reason": Size(chars=TEXT),
    "ListCourtKeysRequest.court_org_id": Size(chars=ID),
})
