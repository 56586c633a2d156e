"""The case file (卷宗, PML Art.27) as one PDF a person can read: the register, the parties, the
timeline, the session records, the agreement (with its digest, signatures and seal), the
termination or follow-ups, and the list of documents with their hashes.

ReportLab writes it. Chinese text uses the Adobe-GB1 CID font STSong-Light, which ReportLab
ships as metrics only: the reader's own CJK font draws it, so no font file is needed on the
server (Noto Sans CJK is OpenType/CFF, which ReportLab cannot embed)."""

from __future__ import annotations

import io
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from liandiao.ids.masking import mask_id
from liandiao.legaltime import to_china_date
from services.mediation.domain import content as c
from services.mediation.domain.model import Case, InPerson
from services.mediation.store import DocumentRow

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
_BODY = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14, wordWrap="CJK")
_H1 = ParagraphStyle("h1", parent=_BODY, fontSize=16, leading=22, spaceAfter=8)
_H2 = ParagraphStyle("h2", parent=_BODY, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4)


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render(case: Case, documents: list[DocumentRow], retain_until: date) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=f"调解卷宗 {case.case_id}", author=case.organization_id)
    story = [_p("人民调解卷宗 (PML Art.27)", _H1),
             _p(f"案件 {case.case_id}  纠纷 {case.dispute_id}"),
             _p(f"类型 {case.dispute_type}  来源 {case.source.value}  地区 {case.region_code}  "
                f"调解组织 {case.organization_id}  移送单位 {case.referring_org_id or '无'}"),
             _p(f"受理 {to_china_date(case.clock.accepted_at)}  期限 {case.clock.current.last_day} "
                f"({case.clock.current.period.source})  状态 {case.state.value}  保存至 {retain_until}"),
             _p("当事人", _H2)]
    story += [_p(f"{p.side.value}: {p.name}  {p.masked_id_number}") for p in case.parties]
    story.append(_p("调解员", _H2))
    story += [_p(f"{m.person_id}{' (主持)' if m.presiding else ''}") for m in case.mediators]
    story.append(_p("调解记录", _H2))
    for s in case.sessions:
        where = s.venue.place if isinstance(s.venue, InPerson) else s.venue.link
        story.append(_p(f"第{s.number}次 {to_china_date(s.scheduled_for)} {where} {s.state.value}"))
        if s.record is not None:
            r = s.record
            story.append(_p("参加人: " + "、".join(p.name or p.person_id for p in r.participants)))
            story += [_p(f"{st.speaker_id}: {st.text}") for st in r.statements]
            if r.undisputed_facts:
                story.append(_p("无争议事实: " + "；".join(r.undisputed_facts)))
            story.append(_p(f"结果: {r.result.value} {r.result_note}"))
    for a in case.agreements:
        story.append(_p(f"调解协议 {a.agreement_id} v{a.version} ({a.mode.value}, {a.state.value})", _H2))
        for p in a.content.parties:
            story.append(_p(f"{p.side.value}: {p.name} {mask_id(p.id_number) if p.id_number else ''}"))
        story.append(_p(f"事实: {a.content.facts}"))
        story.append(_p("争议: " + "；".join(a.content.issues)))
        story += [_p(f"责任 {r.party_id}: {r.text}") for r in a.content.responsibilities]
        for i, t in enumerate(a.content.terms, 1):
            o = t.obligation
            what = f"{o.amount_fen / 100:.2f} {o.currency}" if isinstance(o, c.Money) else o.description
            story.append(_p(f"{i}. {t.obligor_id} → {t.obligee_id}: {what}；{t.manner}；{t.deadline}"))
        story.append(_p(f"SM3 {a.digest}"))
        story += [_p(f"签名 {s.signer_id} {s.method.value} {s.signed_at:%Y-%m-%d %H:%M}") for s in a.signatures]
        if a.seal is not None:
            story.append(_p(f"印章 {a.seal.signature.key_id} {a.seal.applied_at:%Y-%m-%d %H:%M}"))
        if a.effective_on:
            story.append(_p(f"生效 {a.effective_on}  份数 {a.copies}"))
    if case.termination is not None:
        t = case.termination
        story += [_p("终止", _H2), _p(f"{t.ground.value}: {t.reason}"), _p("告知途径: " + "；".join(t.routes_told))]
        if t.returned_to_court:
            story.append(_p(f"退回法院 {t.returned_to_court}"))
    if case.follow_ups:
        story.append(_p("回访 (PML Art.31)", _H2))
        story += [_p(f"{f.visited_on} {f.result.value} {f.notes}") for f in case.follow_ups]
    story.append(_p("材料", _H2))
    story += [_p(f"{d.file_name} ({d.media_type}, {d.size_bytes} B) SHA-256 {d.sha256[:16]}… SM3 {d.sm3[:16]}…")
              for d in documents] or [_p("无")]
    story.append(_p("时间线", _H2))
    story += [_p(f"{to_china_date(e.at)} {e.action} {e.to_state.value} {e.actor.person_id}: {e.reason}")
              for e in case.timeline]
    story.append(Spacer(1, 12))
    doc.build(story)
    return out.getvalue()
