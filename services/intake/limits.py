"""Intake's sizes and ranges, in one place: what the gRPC edge enforces on every
request (liandiao.rpc.checks) and what the rules check. Chosen so that no clerk
or online applicant ever meets them, and so that the largest dispute-registered
event (50 parties with 5 agents each) stays near 100 KB, a tenth of Kafka's
1 MB message limit (docs/decisions.md "Bounded input")."""

from __future__ import annotations

from liandiao.sizes import CODE, LONG, NAME, PHONE, REASON, SHORT, TEXT, Limits, Size

FACTS = LONG                 # 简要案情
REQUESTED_OUTCOME = TEXT
AGENT_SCOPE = TEXT           # the matters a special authority lists (CPL 2023 Art.62)
SEARCH_TEXT = SHORT
PARTIES = 50                 # a mass dispute of a whole village is registered as several
AGENTS_PER_PARTY = 5
ROUTES_TOLD = 10

# Numbers that feed a rule: outside these the value is refused, not scored.
MAX_AMOUNT_FEN = 10**14      # one trillion yuan; the consultation threshold's upper bound
MAX_PRIOR_INCIDENTS = 100
MAX_PEOPLE_INVOLVED = 100_000
MAX_REPEAT_PETITIONS = 100
MAX_AGE = 150

LIMITS = Limits({
    "RegisterDisputeRequest.region_code": Size(chars=CODE),
    "RegisterDisputeRequest.dispute_type": Size(chars=CODE),
    "RegisterDisputeRequest.facts": Size(chars=FACTS),
    "RegisterDisputeRequest.requested_outcome": Size(chars=REQUESTED_OUTCOME),
    "RegisterDisputeRequest.parties": Size(items=PARTIES),
    "PartyInput.name": Size(chars=NAME),
    "PartyInput.ethnicity": Size(chars=CODE),
    "PartyInput.occupation": Size(chars=NAME),
    "PartyInput.phone": Size(chars=PHONE),
    "PartyInput.no_id_reason": Size(chars=REASON),
    "PartyInput.credit_code": Size(chars=CODE),
    "PartyInput.language": Size(chars=CODE),
    "PartyInput.service_address": Size(chars=254),   # the longest e-mail address there is
    "PartyInput.agents": Size(items=AGENTS_PER_PARTY),
    "IdDocument.number": Size(chars=CODE),
    "Consent.routes_told": Size(chars=NAME, items=ROUTES_TOLD),
    "AgentInput.name": Size(chars=NAME),
    "AgentInput.phone": Size(chars=PHONE),
    "AgentInput.scope": Size(chars=AGENT_SCOPE),
    "DepartmentReferral.department_name": Size(chars=NAME),
    "ListDisputesRequest.region_prefix": Size(chars=CODE),
    "ListDisputesRequest.dispute_type": Size(chars=CODE),
    "ListDisputesRequest.text": Size(chars=SEARCH_TEXT),
    # The parties' case code (issue 11): a code with room for spaces and hyphens, an IPv6 address.
    "GetCaseStatusRequest.case_code": Size(chars=CODE),
    "GetCaseStatusRequest.phone_last4": Size(chars=CODE),
    "GetCaseStatusRequest.client_address": Size(chars=64),
    "GetCaseStatusRequest.language": Size(chars=CODE),
})
