"""The ruling's canonical form, as confirmation's domain uses it. The format itself
(liandiao-ruling/1: building, rendering, parsing, signing shapes) is shared with whoever reads
a ruling (the offline verifier, the PDF view, the console), so it lives in
liandiao.documents.ruling; this module names it for the domain's own imports."""

from liandiao.documents.ruling import (
    FORMAT,
    TITLE,
    DocParty,
    DocTerm,
    InvalidRulingDocument,
    Outcome,
    RejectionGround,
    RulingDocument,
    RulingSigner,
    RulingVerifier,
    SignedRuling,
    legal_basis,
    parse_ruling,
    render_ruling,
    sign_ruling,
    verify_ruling,
)

__all__ = ["FORMAT", "TITLE", "DocParty", "DocTerm", "InvalidRulingDocument", "Outcome", "RejectionGround",
           "RulingDocument", "RulingSigner", "RulingVerifier", "SignedRuling", "legal_basis", "parse_ruling",
           "render_ruling", "sign_ruling", "verify_ruling"]
