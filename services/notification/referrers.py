"""What a court or police case system hears back about a dispute it referred through the
external-systems API (docs/api/external-systems.yaml, ``webhooks.result``): the structured
result beside the message text, with the system's own reference, sent to that system and
to no other. The kinds are the stages a referring office follows: assigned, agreement
effective, terminated (mediation failed; PML Art.26), returned to the court (a failed
court-related case, SPC-Invited Art.21) and the court's ruling (CPL Art.206)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from liandiao.confirmation.v1 import confirmation_pb2
from liandiao.ids.masking import mask_name
from liandiao.mediation.v1 import mediation_pb2
from services.notification.store import DisputeRow

RESULT_OF = {
    "routing.dispute-assigned": "assigned",
    "routing.dispute-escalated": "escalated",
    "mediation.agreement-effective": "agreement_effective",
    "mediation.mediation-failed": "terminated",
    "mediation.case-returned-to-court": "returned_to_court",
    "confirmation.ruling-issued": "ruling_issued",
}


def _enum(message: Any, field: str, enum: Any) -> str:
    number = getattr(message, field, 0)
    try:
        return str(enum.Name(number)).split("_", 2)[-1].lower() if number else ""
    except ValueError:
        return ""


def result_payload(key: str, msg: Any, known: DisputeRow | None, occurred_at: datetime,
                   system: tuple[str, str, str] | None = None) -> str | None:
    """The result (JSON text) a webhook to a referring system carries, or None when the
    dispute did not come from a system or the event is not one of the results. ``system``:
    (system id, its reference, organization) of a system other than the first referrer (a
    duplicate referral linked to the dispute), each told with its own reference."""
    kind = RESULT_OF.get(key)
    if kind is None or known is None or not known.referring_system_id:
        return None
    system_id, reference, organization = system or (known.referring_system_id, known.referral_reference,
                                                    known.referring_org_id)
    result: dict[str, str] = {"kind": kind, "event": key, "system_id": system_id,
                              "reference": reference, "organization_id": organization,
                              "occurred_at": occurred_at.isoformat()}
    if kind == "assigned":
        result |= {"mediator_name": mask_name(msg.mediator_name), "organization": msg.organization_id}
    elif kind == "agreement_effective":
        result["agreement_id"] = msg.agreement_id
    elif kind in ("terminated", "returned_to_court"):
        result["ground"] = _enum(msg, "ground", mediation_pb2.TerminationGround)
    elif kind == "ruling_issued":
        result |= {"ruling_outcome": _enum(msg, "outcome", confirmation_pb2.RulingOutcome),
                   "case_number": msg.case_number}
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))
