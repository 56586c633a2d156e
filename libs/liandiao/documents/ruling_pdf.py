"""A signed ruling as a PDF a person can read: the ruling's text laid out on A4, and at the foot
what makes it checkable (case number, SM3 digest, key id, how to verify). The PDF is a view:
the signature covers the canonical text (liandiao.documents.ruling.render_ruling), never these bytes.

    python -m services.confirmation.pdf RULING.json OUT.pdf     (RULING.json: services.confirmation.verify's format)

Shared by confirmation (that command) and the console (the ruling's download), which must not
import another service: both read the same canonical document (liandiao.documents.ruling).

Chinese text uses reportlab's built-in CID font STSong-Light (Adobe-GB1): the reader supplies
the glyphs, so no font file ships with the service."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from liandiao.documents.ruling import TITLE, RulingDocument, legal_basis, parse_ruling
from liandiao.signing import sm3_hex

FONT = "STSong-Light"
_OUTCOME = {"valid": "确认调解协议有效。", "rejected": "驳回申请。"}
_NOTICE = {
    "valid": "一方当事人拒绝履行或者未全部履行的，对方当事人可以向人民法院申请执行。",
    "rejected": "当事人可以通过调解方式变更原调解协议或者达成新的调解协议，也可以向人民法院提起诉讼。",
}


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if pdfmetrics.stringWidth(line + ch, FONT, size) > width:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines


def ruling_pdf(document: bytes, key_id: str) -> bytes:
    """The PDF of a canonical ruling; ValueError (InvalidRulingDocument) for anything else."""
    doc: RulingDocument = parse_ruling(document)
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)  # invariant: the same ruling, the same bytes
    page.setTitle(f"{doc.court_name} {TITLE} {doc.case_number}")
    width, height = A4
    left, right, y = 25 * mm, width - 25 * mm, height - 30 * mm

    def put(text: str, size: float = 11, centre: bool = False, gap: float = 1.6) -> None:
        nonlocal y
        for line in _wrap(text, right - left, size) or [""]:
            if y < 30 * mm:
                page.showPage()
                y = height - 30 * mm
            page.setFont(FONT, size)
            if centre:
                page.drawCentredString(width / 2, y, line)
            else:
                page.drawString(left, y, line)
            y -= size * gap

    put(doc.court_name, 16, centre=True)
    put(TITLE, 18, centre=True)
    put(doc.case_number, 11, centre=True, gap=2.4)
    for p in doc.parties:
        put(f"申请人：{p.name}")
    put(f"申请人于{doc.agreement_effective_on:%Y年%m月%d日}经{doc.organization_name}主持调解达成调解协议，"
        "共同向本院申请司法确认。协议内容如下：")
    for n, t in enumerate(doc.terms, start=1):
        due = f"，于{t.due_on:%Y年%m月%d日}前履行" if t.due_on else ""
        put(f"{n}. {t.description}{due}。")
    put("本院经审查认为：")
    for line in doc.reasons.split("\n"):
        put(line)
    put(f"依照{legal_basis(doc.outcome, doc.ground)}之规定，裁定如下：")
    put(_OUTCOME[doc.outcome.value] + (f"（{doc.ground.label}）" if doc.ground else ""))
    put(_NOTICE[doc.outcome.value])
    put("本裁定书自即日起发生法律效力。", gap=2.4)
    put(f"审判员  {doc.judge_name}")
    put(f"{doc.issued_on:%Y年%m月%d日}")
    y = 20 * mm
    page.setFont(FONT, 7)
    page.drawString(left, y, f"SM3 {sm3_hex(document)}  key {key_id}  验证：python -m services.confirmation.verify")
    page.showPage()
    page.save()
    return out.getvalue()
