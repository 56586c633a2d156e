"""Routing's sizes, in one place: what the gRPC edge enforces on every request
(liandiao.rpc.checks) and what the rules check (docs/decisions.md "Bounded input").
A joint consultation's reasons travel in dispute-escalated and in every answer
about it: their number is bounded too."""

from __future__ import annotations

from liandiao.sizes import LONG, REASON, TEXT, Limits, Size

REASON_CHARS = REASON        # why an offer is declined, a dispute reassigned, a consultation called
DISCLOSURE = TEXT            # what a mediator who stays after a disclosure disclosed (SPC-Invited Art.15)
PLAN = LONG                  # the joint mediation plan
PARTIES = 50                 # as many as intake registers
PARTICIPANT_OFFICES = 20
CO_MEDIATORS = 10
CONSULTATION_REASONS = 20    # the rules' own reasons plus those the coordination group adds

LIMITS = Limits({
    "DeclineAssignmentRequest.reason": Size(chars=REASON_CHARS),
    "ReassignRequest.reason": Size(chars=REASON_CHARS),
    "CallConsultationRequest.reason": Size(chars=REASON_CHARS),
    "RecordPartiesChoiceRequest.agreed_party_ids": Size(items=PARTIES),
    "RecordPartiesChoiceRequest.disclosure": Size(chars=DISCLOSURE),
    "RecordConsultationPlanRequest.participant_org_ids": Size(items=PARTICIPANT_OFFICES),
    "RecordConsultationPlanRequest.co_mediator_ids": Size(items=CO_MEDIATORS),
    "RecordConsultationPlanRequest.plan": Size(chars=PLAN),
})
