"""The ledger (台账) of one office for one period as a spreadsheet: xlsx (openpyxl) or
CSV (UTF-8 with a byte-order mark, which Excel needs to read Chinese). Personal data is
masked as the read model holds it: names to their first character, ID numbers as intake
masked them. Times in China Standard Time."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font

from liandiao.reference import dispute_types
from services.statistics.domain.periods import CST, Period
from services.statistics.store import LedgerRow

HEADERS = ("序号", "纠纷编号", "登记日期", "行政区划代码", "行政区划", "纠纷类型", "来源", "当事人（已脱敏）",
           "调解组织", "移交单位", "指派日期", "结果", "协议生效日期", "终止原因", "退回法院日期",
           "司法确认申请日期", "裁定日期", "裁定结果", "风险预警", "涉案金额（元）")
_RESULTS = {"agreement": "调解成功", "terminated": "调解终止", "open": "调解中", "unassigned": "待指派"}
_GROUNDS = {"agreement": "达成协议", "settled_withdrawn": "自行和解、撤回", "party_unreachable": "无法联系当事人",
            "party_refuses_to_continue": "当事人拒绝继续调解", "positions_too_far_apart": "分歧过大",
            "period_expired": "调解期限届满", "party_refuses_to_sign": "拒绝签署协议", "other": "其他"}
_OUTCOMES = {"valid": "确认有效", "rejected": "驳回申请"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def _day(at: datetime | None) -> str:
    return at.astimezone(CST).date().isoformat() if at else ""


def _result(r: LedgerRow) -> str:
    if r.agreement_at:
        return _RESULTS["agreement"]
    if r.terminated_at:
        return _RESULTS["terminated"]
    return _RESULTS["open"] if r.assigned_at else _RESULTS["unassigned"]


def cells(rows: Sequence[LedgerRow], region_name) -> list[list[str]]:
    from services.statistics.app import SOURCE_LABELS
    types = dispute_types()
    out = []
    for i, r in enumerate(rows, 1):
        t = types.get(r.dispute_type)
        out.append([str(i), str(r.dispute_id), _day(r.registered_at), r.region_code, region_name(r.region_code),
                    t.zh if t else r.dispute_type, SOURCE_LABELS.get(r.source, (r.source,))[0], r.parties_masked,
                    r.organization_id, r.referring_org_id, _day(r.assigned_at), _result(r), _day(r.agreement_at),
                    _GROUNDS.get(r.termination_ground, r.termination_ground), _day(r.returned_to_court_at),
                    _day(r.application_filed_at), _day(r.ruling_at), _OUTCOMES.get(r.ruling_outcome, ""),
                    "是" if r.warning_flagged_at else "否", f"{r.amount_fen / 100:.2f}"])
    return [[_inert(c) for c in row] for row in out]


def _inert(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (a name typed as "=HYPERLINK(...)")."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(table: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(table)
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(table: list[list[str]], title: str) -> bytes:
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = "台账"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(list(HEADERS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in table:
        sheet.append(row)
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def title(organization_id: str, period: Period) -> str:
    return f"矛盾纠纷多元化解工作台账　{organization_id}　{period}"
