"""Are the terms confirmation relies on the terms the parties signed?

The agreement's digest (mediation's SM3 of its canonical document) covers the whole signed text,
personal data included; events never carry that data, so confirmation cannot recompute it.
What the court relies on are the parties and the terms. mediation therefore sends, with the
agreement, its terms document (liandiao.agreement-terms/1: each party's id and side, each term
as signed, and the digest of the signed document they belong to) and that document's SM3.

Before filing (CPL 2023 Art.205) and before ruling (Art.206), confirmation checks that
1. the terms document hashes to its SM3,
2. it names the agreement and its signed digest as the projection does, and
3. the projection's parties and terms (who owes whom, what kind, how much, by when) are the
   document's.
Any difference is refused (a tampered or corrupted projection), naming what differs.
A projection recorded before mediation sent the document has nothing to check against.
"""

from __future__ import annotations

import json
from datetime import date

from liandiao.errors import RuleViolation
from liandiao.signing import sm3_hex
from services.confirmation.domain.model import Agreement, Asks

TERMS_FORMAT = "liandiao.agreement-terms/1"
_ASKS = {"money": Asks.PAYMENT, "act": Asks.ACT, "thing": Asks.THING}


class TermsNotAsSigned(RuleViolation):
    def __init__(self, why: str) -> None:
        super().__init__("confirmation.agreement-digest",
                         f"the agreement confirmation holds is not the one signed: {why}")


def _signed_terms(doc: dict) -> list[tuple]:
    out = []
    for t in doc["terms"]:
        owed = t["owed"]
        out.append((t["obligor_id"], t["obligee_id"], _ASKS[owed["kind"]],
                    owed["amount_fen"] if owed["kind"] == "money" else None,
                    date.fromisoformat(t["deadline"]) if t["deadline"] else None))
    return out


def check_terms_as_signed(agreement: Agreement, content_digest: str, terms_document: bytes,
                          terms_digest: str) -> None:
    """TermsNotAsSigned when the projection's agreement differs from what was signed."""
    if not terms_document and not terms_digest:
        return  # recorded before mediation sent its terms document
    if sm3_hex(terms_document) != terms_digest:
        raise TermsNotAsSigned("its terms do not hash to the digest they came with (SM3)")
    try:
        doc = json.loads(terms_document)
        if doc.get("format") != TERMS_FORMAT:
            raise TermsNotAsSigned(f"unknown terms format {doc.get('format')!r}")
        signed = _signed_terms(doc)
        parties = {(p["party_id"], p["side"]) for p in doc["parties"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise TermsNotAsSigned(f"its terms document cannot be read ({exc})") from None
    if doc["agreement_id"] != agreement.agreement_id or doc["agreement_digest"] != content_digest:
        raise TermsNotAsSigned("the terms belong to another agreement or another signed version")
    if {(p.party_id, p.side.value) for p in agreement.parties} != parties:
        raise TermsNotAsSigned("the parties differ from those who signed")
    held = [(t.obligor_party_id, t.obligee_party_id, t.asks, t.amount_fen, t.due_on) for t in agreement.terms]
    if held != signed:
        n = next((i for i, (a, b) in enumerate(zip(held, signed, strict=False)) if a != b), min(len(held), len(signed)))
        raise TermsNotAsSigned(f"term {n + 1} differs from the signed one" if len(held) == len(signed)
                               else f"{len(held)} terms held, {len(signed)} signed")
