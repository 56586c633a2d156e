"""The ruling as a PDF: laid out from the canonical text, the same ruling giving the same bytes,
anything else refused. Pure, no stack."""

from __future__ import annotations

import pytest

from services.confirmation.domain import rules
from services.confirmation.domain.commands import Rule
from services.confirmation.domain.ruling import InvalidRulingDocument, Outcome, render_ruling
from services.confirmation.pdf import ruling_pdf
from services.confirmation.tests import builders as b


def _document() -> bytes:
    accepted = b.accepted()
    doc = rules.ruling_document(accepted, accepted.case_number, Rule(
        ruling_id="r-1", judge_id="j-1", judge_name="李法官", outcome=Outcome.VALID, reasons="协议合法。"),
        b.at("2026-06-10"))
    return render_ruling(doc)


def test_a_ruling_renders_to_a_stable_pdf():
    content = _document()
    pdf = ruling_pdf(content, "dev-court-horqin")
    assert pdf.startswith(b"%PDF-") and b"STSong-Light" in pdf and len(pdf) > 1500
    assert ruling_pdf(content, "dev-court-horqin") == pdf


def test_text_that_is_not_a_canonical_ruling_is_refused():
    with pytest.raises(InvalidRulingDocument):
        ruling_pdf(_document().replace("协议合法。\n".encode(), "协议合法。 \n".encode()), "k")
