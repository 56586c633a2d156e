"""The receipt (回执) a registration gives the parties: the case code in large type, the
status page's address and its QR code (segno), on an A6 page a counter printer takes.
ReportLab draws it with its built-in Adobe-GB1 CID font (STSong-Light), as the case
file does: no font file on the server."""

from __future__ import annotations

import io
from datetime import datetime

import segno
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from liandiao.legaltime import to_china_date
from liandiao.reference import dispute_types

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _qr(url: str) -> segno.QRCode:
    # Error correction M (15 %): survives a crease or a smudge on a paper receipt.
    return segno.make_qr(url, error="m")


def qr_svg(url: str) -> str:
    out = io.BytesIO()
    _qr(url).save(out, kind="svg", scale=4, border=2, xmldecl=False, title="案件查询二维码")
    return out.getvalue().decode()


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    _qr(url).save(out, kind="png", scale=6, border=2)
    return out.getvalue()


def _type_name(code: str) -> str:
    known = dispute_types().get(code)
    return known.zh if known else code


def receipt_pdf(shown_code: str, url: str, registered_at: datetime, dispute_type: str) -> bytes:
    """An A6 page: heading, the code, the QR code, how to use them. Nothing of the
    parties is printed: the receipt may be lost, and the code alone opens nothing."""
    out = io.BytesIO()
    width, height = A6
    pdf = canvas.Canvas(out, pagesize=A6, pageCompression=1)
    pdf.setTitle("纠纷受理回执")
    pdf.setFont(FONT, 14)
    pdf.drawCentredString(width / 2, height - 14 * mm, "矛盾纠纷受理回执（一案一码）")
    pdf.setFont(FONT, 9)
    pdf.drawCentredString(width / 2, height - 20 * mm,
                          f"登记日期：{to_china_date(registered_at).isoformat()}　纠纷类型：{_type_name(dispute_type)}")
    pdf.setFont("Courier-Bold", 20)
    pdf.drawCentredString(width / 2, height - 31 * mm, shown_code)
    pdf.setFont(FONT, 9)
    pdf.drawCentredString(width / 2, height - 37 * mm, "案件查询码")
    side = 52 * mm
    pdf.drawImage(ImageReader(io.BytesIO(qr_png(url))), (width - side) / 2, height - 40 * mm - side, side, side)
    lines = ["扫描二维码，或打开下面的网址，输入查询码和",
             "您登记的手机号码后四位，即可查看调解进度、",
             "下次调解时间和您需要办理的事项。",
             "请妥善保管本回执，不要把查询码告诉无关人员。",
             "Scan the code or open the address below; enter the",
             "case code and the last 4 digits of your phone."]
    y = height - 45 * mm - side
    for line in lines:
        pdf.drawString(9 * mm, y, line)
        y -= 4.2 * mm
    pdf.setFont("Helvetica", 6)
    pdf.drawCentredString(width / 2, 6 * mm, url[:110])
    pdf.showPage()
    pdf.save()
    return out.getvalue()
