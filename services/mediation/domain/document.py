"""The canonical document of an agreement version: the bytes every signature covers, their SM3
digest, and the check that a stored agreement still proves what was signed.

Layout: JSON with sorted keys, no insignificant whitespace, UTF-8 (not \\u-escaped), integers only
(money in fen), dates as ISO 8601, enums as their values, lists in the agreement's order
(parties, terms), text in Unicode NFC with outer spaces stripped (`normalized`, applied when a
draft is made or changed, so clients that send decomposed text sign the same document). The
`format` field names this layout ("liandiao.agreement/1"); a later layout gets a new name and
old agreements keep verifying under theirs. The document holds the agreement and case ids, the
organization, the version, the mode, the number of copies, the oral agreement's date and the
PML Art.29 content; not the signatures (they are made over it) nor the effective date (later).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from liandiao.signing import KeyRing, sm3_hex
from services.mediation.domain.content import (
    Act,
    Agreement,
    AgreementContent,
    Money,
    Obligation,
    PartyDetails,
    Responsibility,
    Thing,
)

FORMAT = "liandiao.agreement/1"

def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def normalized(content: AgreementContent) -> AgreementContent:
    """The content as it is stored and signed: every text NFC, outer spaces stripped."""

    def obligation(o: Obligation) -> Obligation:
        if isinstance(o, Money):
            return Money(o.amount_fen, o.currency.strip().upper())
        if isinstance(o, Thing):
            return Thing(_text(o.description), _text(o.quantity))
        return Act(_text(o.description))

    def party(p: PartyDetails) -> PartyDetails:
        return replace(p, name=_text(p.name), gender=_text(p.gender), ethnicity=_text(p.ethnicity),
                       id_number=_text(p.id_number).upper(), address=_text(p.address), phone=_text(p.phone),
                       legal_representative=_text(p.legal_representative), credit_code=_text(p.credit_code).upper(),
                       domicile_region=_text(p.domicile_region))

    return AgreementContent(
        parties=tuple(party(p) for p in content.parties),
        facts=_text(content.facts),
        issues=tuple(_text(i) for i in content.issues if _text(i)),
        responsibilities=tuple(Responsibility(r.party_id, _text(r.text)) for r in content.responsibilities),
        terms=tuple(replace(t, obligation=obligation(t.obligation), manner=_text(t.manner)) for t in content.terms),
        other_terms=_text(content.other_terms),
        subject_matter_region=_text(content.subject_matter_region),
    )


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _obligation_doc(o: Obligation) -> dict[str, Any]:
    if isinstance(o, Money):
        return {"kind": "money", "amount_fen": o.amount_fen, "currency": o.currency}
    if isinstance(o, Thing):
        return {"kind": "thing", "description": o.description, "quantity": o.quantity}
    return {"kind": "act", "description": o.description}


def _places(**codes: str) -> dict[str, str]:
    """The jurisdiction places (region codes), in the document only when given: an agreement
    signed before they were recorded renders to the bytes it was signed as."""
    return {k: v for k, v in codes.items() if v}


def _content_doc(c: AgreementContent) -> dict[str, Any]:
    return {
        "parties": [{
            "party_id": p.party_id, "name": p.name, "side": p.side.value, "kind": p.kind.value, "gender": p.gender,
            "ethnicity": p.ethnicity, "birth_date": _day(p.birth_date), "id_number": p.id_number,
            "address": p.address, "phone": p.phone, "legal_representative": p.legal_representative,
            "credit_code": p.credit_code, **_places(domicile_region=p.domicile_region),
        } for p in c.parties],
        "facts": c.facts,
        "issues": list(c.issues),
        "responsibilities": [{"party_id": r.party_id, "text": r.text} for r in c.responsibilities],
        "terms": [{
            "obligor_id": t.obligor_id, "obligee_id": t.obligee_id, "owed": _obligation_doc(t.obligation),
            "manner": t.manner, "deadline": _day(t.deadline),
        } for t in c.terms],
        "other_terms": c.other_terms,
        **_places(subject_matter_region=c.subject_matter_region),
    }


def canonical_document(agreement: Agreement) -> bytes:
    """The bytes every signature of this version covers (layout in the module docstring)."""
    doc = {
        "format": FORMAT,
        "agreement_id": agreement.agreement_id,
        "case_id": agreement.case_id,
        "organization_id": agreement.organization_id,
        "version": agreement.version,
        "mode": agreement.mode.value,
        "copies": agreement.copies,
        "agreed_on": _day(agreement.agreed_on),
        "content": _content_doc(agreement.content),
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


TERMS_FORMAT = "liandiao.agreement-terms/1"


def terms_document(agreement_id: str, digest: str, content: AgreementContent) -> bytes:
    """What the court relies on, without the personal data the events never carry: the parties
    (ids and sides) and the terms exactly as signed, naming the digest of the signed document
    they are part of. Same layout rules as canonical_document. Its SM3 travels with it in
    agreement-effective, so confirmation checks that the terms it confirms are the ones signed."""
    doc = {
        "format": TERMS_FORMAT,
        "agreement_id": agreement_id,
        "agreement_digest": digest,
        "parties": [{"party_id": p.party_id, "side": p.side.value} for p in content.parties],
        "terms": [{
            "obligor_id": t.obligor_id, "obligee_id": t.obligee_id, "owed": _obligation_doc(t.obligation),
            "manner": t.manner, "deadline": _day(t.deadline),
        } for t in content.terms],
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def digest_of(agreement: Agreement) -> str:
    return sm3_hex(canonical_document(agreement))


def with_digest(agreement: Agreement) -> Agreement:
    """`agreement` with the digest of its own canonical document (a new or changed version)."""
    return replace(agreement, digest=digest_of(agreement))


# ---- verification -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Verification:
    """Does a stored agreement still prove what was signed? `digest_matches`: the content
    renders to the stored digest; `broken_signatures`: signers whose digest is another one;
    `seal_valid`: None without a seal, else whether it verifies over the recomputed digest."""

    digest_matches: bool
    broken_signatures: tuple[str, ...]
    seal_valid: bool | None

    @property
    def ok(self) -> bool:
        return self.digest_matches and not self.broken_signatures and self.seal_valid is not False


def verify_agreement(agreement: Agreement, keys: KeyRing) -> Verification:
    digest = digest_of(agreement)
    broken = tuple(s.signer_id for s in agreement.signatures if s.digest != digest)
    seal = agreement.seal
    seal_valid = None if seal is None else (
        seal.digest == digest and keys.verify(seal.signature, bytes.fromhex(digest), seal.organization_id))
    return Verification(digest == agreement.digest, broken, seal_valid)
