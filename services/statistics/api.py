"""StatisticsService over gRPC: protobuf <-> the use cases, nothing else."""

from __future__ import annotations

from liandiao.auth import Role
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.rpc.convert import timestamp
from liandiao.rpc.server import caller
from liandiao.statistics.v1 import statistics_pb2 as pb
from liandiao.statistics.v1 import statistics_pb2_grpc
from services.statistics import access, ledger
from services.statistics.app import Breakdown, FigureResult, Statistics, region_name
from services.statistics.domain import formulas as fm

# Roles per method, checked by the interceptor; the region and organization rules are in
# services/statistics/access.py. Import: the importing systems' own service identities
# (liandiao.auth.SERVICE_METHODS) or an operator.
POLICY = {
    "GetBoard": access.BOARD_READERS,
    "GetFigures": access.BOARD_READERS,
    "ImportExternalFigures": access.IMPORT_CALLERS,
    "ExportLedger": access.LEDGER_READERS,
}

_GOAL = {fm.Goal.UP: pb.GOAL_UP, fm.Goal.DOWN: pb.GOAL_DOWN, fm.Goal.NONE: pb.GOAL_UNSPECIFIED}
_KIND = {fm.FigureKind.COUNT: pb.FIGURE_KIND_COUNT, fm.FigureKind.RATE: pb.FIGURE_KIND_RATE,
         fm.FigureKind.DAYS: pb.FIGURE_KIND_DAYS, fm.FigureKind.HOURS: pb.FIGURE_KIND_HOURS,
         fm.FigureKind.AMOUNT: pb.FIGURE_KIND_AMOUNT}
_BREAKDOWN = {pb.BREAKDOWN_DISPUTE_TYPE: Breakdown.TYPE, pb.BREAKDOWN_SOURCE: Breakdown.SOURCE,
              pb.BREAKDOWN_SUBREGION: Breakdown.SUBREGION}
_SOURCE = {pb.SOURCE_SYSTEM_POLICE: "police", pb.SOURCE_SYSTEM_COURT: "court", pb.SOURCE_SYSTEM_PETITION: "petition"}
_FORMAT = {pb.LEDGER_FORMAT_XLSX: "xlsx", pb.LEDGER_FORMAT_CSV: "csv"}


def _locale(value: str) -> str:
    if value in ("", "zh", "zh-CN"):
        return "zh"
    if value in ("en", "en-US", "en-GB"):
        return "en"
    raise InvalidInput(FieldViolation("locale", 'is "zh-CN" or "en"'))


def _value(v: fm.Value) -> pb.FigureValue:
    return pb.FigureValue(available=v.available, value=v.value, numerator=v.numerator,
                          denominator=v.denominator, note=v.note)


def _figure(f: FigureResult, locale: str) -> pb.Figure:
    d = f.definition
    change = f.change
    return pb.Figure(key=d.key, label=d.shown_label(locale), kind=_KIND[d.kind], goal=_GOAL[d.goal],
                     formula=d.formula(locale), source=d.source, current=_value(f.current),
                     previous_year=_value(f.previous), change_available=change is not None, change=change or 0.0)


class StatisticsApi(statistics_pb2_grpc.StatisticsServiceServicer):
    def __init__(self, statistics: Statistics):
        self.statistics = statistics

    async def GetBoard(self, request, context):
        locale = _locale(request.locale)
        b = await self.statistics.board(caller(), request.region_code, request.period)
        return pb.Board(region_code=b.region.code, region_name=b.region.name, period=str(b.period),
                        period_start=timestamp(b.period.start), period_end=timestamp(b.period.end),
                        previous_period=str(b.period.previous_year()),
                        three_up=[_figure(f, locale) for f in b.three_up],
                        three_down=[_figure(f, locale) for f in b.three_down],
                        figures=[_figure(f, locale) for f in b.figures], computed_at=timestamp(b.computed_at),
                        facts_as_of=timestamp(b.facts_as_of))

    async def GetFigures(self, request, context):
        locale = _locale(request.locale)
        breakdown = _BREAKDOWN.get(request.breakdown, "")
        groups = await self.statistics.figures(caller(), request.region_code, request.period, breakdown, locale)
        from services.statistics.app import natural_region
        from services.statistics.domain.periods import parse_period
        return pb.GetFiguresResponse(
            region_code=natural_region(request.region_code), period=str(parse_period(request.period)),
            breakdown=request.breakdown,
            groups=[pb.FigureGroup(key=g.key, label=g.label, figures=[_figure(f, locale) for f in g.figures])
                    for g in groups])

    async def ImportExternalFigures(self, request, context):
        who = caller()
        source = _SOURCE.get(request.source_system, "")
        if not source and who.role is Role.SERVICE:
            source = access.IMPORTERS.get(who.subject, "")   # a system sends its own kind by default
        result = await self.statistics.import_figures(
            who, source, [(f.region_code, f.period, f.count) for f in request.figures])
        return pb.ImportExternalFiguresResponse(created=result.created, replaced=result.replaced,
                                                unchanged=result.unchanged)

    async def ExportLedger(self, request, context):
        kind = _FORMAT.get(request.format)
        if kind is None:
            raise InvalidInput(FieldViolation("format", "required: xlsx or csv"))
        export = await self.statistics.ledger(caller(), request.organization_id, request.period)
        table = ledger.cells(export.rows, region_name)
        content = (ledger.to_xlsx(table, ledger.title(request.organization_id, export.period)) if kind == "xlsx"
                   else ledger.to_csv(table))
        safe_org = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in request.organization_id)[:64]
        return pb.ExportLedgerResponse(content=content, filename=f"ledger-{safe_org}-{export.period}.{kind}",
                                       media_type=ledger.XLSX_TYPE if kind == "xlsx" else ledger.CSV_TYPE,
                                       rows=len(export.rows))
