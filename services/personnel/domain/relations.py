"""Declared relations for recusal (回避): a mediator who is a near relative of a
party or agent, has an interest in the dispute, or another relationship that may
affect impartiality must disclose it (SPC-Invited Art.15, SPC-Online Art.13).

Only a keyed fingerprint of the related ID is kept. It matches intake's PartyRef
fingerprint only if both normalise the number the same way, so this module
normalises exactly as intake does: a resident ID (and the permits sharing its
scheme) as parsed by GB 11643, a passport number stripped and upper-cased, a
credit code as parsed by GB 32100. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from liandiao.errors import FieldViolation, InvalidInput
from liandiao.ids import InvalidIdentifier, parse_credit_code, parse_resident_id
from services.personnel.limits import NOTE


class RelationKind(StrEnum):
    NEAR_RELATIVE = "near_relative"   # 近亲属
    INTEREST = "interest"             # an interest in the dispute or with a party
    OTHER = "other"                   # another relationship that may affect impartiality


@dataclass(frozen=True)
class Declaration:
    kind: RelationKind | None
    id_number: str = ""
    passport_number: str = ""
    credit_code: str = ""
    note: str = ""


def related_id(d: Declaration, today: date) -> str:
    """The normalised ID to fingerprint; raises InvalidInput."""
    bad: list[FieldViolation] = []
    if d.kind is None:
        bad.append(FieldViolation("kind", "required: near relative, interest or other"))
    given = [f for f, v in (("related_id_number", d.id_number), ("related_passport_number", d.passport_number),
                            ("related_credit_code", d.credit_code)) if v.strip()]
    normalised = ""
    if len(given) != 1:
        bad.append(FieldViolation("related_id_number", "give exactly one of related_id_number, "
                                  "related_passport_number and related_credit_code"))
    elif given[0] == "related_id_number":
        try:
            normalised = parse_resident_id(d.id_number, today=today).number
        except InvalidIdentifier as exc:
            bad.append(FieldViolation("related_id_number", exc.reason))
    elif given[0] == "related_passport_number":
        normalised = d.passport_number.strip().upper()   # as intake stores a party's passport
    else:
        try:
            normalised = parse_credit_code(d.credit_code).code
        except InvalidIdentifier as exc:
            bad.append(FieldViolation("related_credit_code", exc.reason))
    if len(d.note) > NOTE:
        bad.append(FieldViolation("note", f"at most {NOTE} characters"))
    if bad:
        raise InvalidInput(bad)
    return normalised
