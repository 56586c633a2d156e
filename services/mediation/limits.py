"""Mediation's sizes, in one place: what the gRPC edge enforces on every request
(liandiao.rpc.checks), sessions and agreements included before they are built,
so their events are bounded from the first day (docs/decisions.md "Bounded input")."""

from __future__ import annotations

from liandiao.sizes import CODE, LONG, NAME, TEXT, Limits, Size

STATEMENTS = LONG            # 调解记录 of one session (PML Art.27)
FACTS_AND_RESPONSIBILITY = LONG
TERMS = 50                   # terms of an agreement, each a paragraph
PARTICIPANTS = 50
ROUTES_TOLD = 10

LIMITS = Limits({
    "ListCasesRequest.region_prefix": Size(chars=CODE),
    "RecordSessionRequest.participants": Size(chars=NAME, items=PARTICIPANTS),
    "RecordSessionRequest.statements": Size(chars=STATEMENTS),
    "RecordSessionRequest.result": Size(chars=TEXT),
    "DraftAgreementRequest.facts_and_responsibility": Size(chars=FACTS_AND_RESPONSIBILITY),
    "DraftAgreementRequest.terms": Size(chars=TEXT, items=TERMS),
    "TerminateRequest.details": Size(chars=TEXT),
    "TerminateRequest.routes_told": Size(chars=NAME, items=ROUTES_TOLD),
})
