"""Confirmation's sizes, in one place: what the gRPC edge enforces on every request
(liandiao.rpc.checks), set before the service is built so that its events are
bounded from the first day (docs/decisions.md "Bounded input")."""

from __future__ import annotations

from liandiao.sizes import ID, LONG, NAME, TEXT, Limits, Size

APPLICANTS = 50              # every party of the agreement, as many as intake registers
RULING_REASONS = LONG
DIGEST = 64                  # an SM3 digest is 32 bytes

LIMITS = Limits({
    "ApplyRequest.applicant_party_ids": Size(items=APPLICANTS),
    "AcceptApplicationRequest.refusal_reason": Size(chars=TEXT),
    "RuleRequest.reasons": Size(chars=RULING_REASONS),
    "ObjectRequest.objector": Size(chars=NAME),
    "ObjectRequest.grounds": Size(chars=TEXT),
    "VerifyRulingRequest.case_number": Size(chars=ID),
    "VerifyRulingRequest.content_digest": Size(chars=DIGEST),
})
