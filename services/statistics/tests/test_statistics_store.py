"""Statistics against the real PostgreSQL: facts merged from events in any order and
idempotently, the figures computed in SQL at the period's edges (midnight CST), the
percentiles, the roll-up by region prefix, last year's values, the import's validation
and replacement, and the ledger as xlsx and CSV with names masked."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2
from liandiao.errors import InvalidInput, NotFound, PermissionDenied
from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.envelope import Envelope
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.convert import timestamp
from services.statistics import ledger
from services.statistics.app import Breakdown, Statistics, region_name
from services.statistics.domain.periods import CST
from services.statistics.main import load_config

pytestmark = pytest.mark.stack

OPERATOR = Claims("op-1", "data-centre", Role.OPERATOR, ("15",))
SUPERVISOR = Claims("sup-1", "bureau-1505", Role.SUPERVISOR, ("1505",))
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def ev(event_type: catalog.EventType, payload, region: str = "150502") -> ConsumedEvent:
    return ConsumedEvent(Envelope(str(uuid.uuid4()), event_type.key, NOW, payload.dispute_id, region, "", ""),
                         payload, "t")


def cst(*args) -> datetime:
    return datetime(*args, tzinfo=CST)


class Flow:
    """Events of one dispute, built as the services publish them."""

    def __init__(self, region="150502", source=common_pb2.CASE_SOURCE_PARTY_APPLICATION, kind="neighbours"):
        self.id, self.region, self.source, self.kind = str(uuid.uuid4()), region, source, kind

    def registered(self, at, name="张三丰", amount=10_000):
        return ev(catalog.DISPUTE_REGISTERED, intake_pb2.DisputeRegistered(
            dispute_id=self.id, region_code=self.region, dispute_type=self.kind, source=self.source,
            registered_at=timestamp(at), amount_in_dispute_fen=amount, referring_org_id="station-9",
            parties=[common_pb2.PartyRef(display_name=name, masked_id_number="110105********002X")]), self.region)

    def assigned(self, at, org="office-1"):
        return ev(catalog.DISPUTE_ASSIGNED, routing_pb2.DisputeAssigned(
            dispute_id=self.id, region_code=self.region, dispute_type=self.kind, source=self.source,
            organization_id=org, accepted_at=timestamp(at)), self.region)

    def agreed(self, at):
        return ev(catalog.AGREEMENT_EFFECTIVE, mediation_pb2.AgreementEffective(
            dispute_id=self.id, region_code=self.region, effective_at=timestamp(at), organization_id="office-1"),
            self.region)

    def failed(self, at, ground=mediation_pb2.TERMINATION_GROUND_POSITIONS_TOO_FAR_APART):
        return ev(catalog.MEDIATION_FAILED, mediation_pb2.MediationFailed(
            dispute_id=self.id, region_code=self.region, terminated_at=timestamp(at), ground=ground, failure=True),
            self.region)

    def filed(self, at, accept_by=None):
        deadline = common_pb2.Deadline(expires_at=timestamp(accept_by)) if accept_by else None
        return ev(catalog.APPLICATION_FILED, confirmation_pb2.ApplicationFiled(
            dispute_id=self.id, filed_at=timestamp(at), accept_by=deadline), self.region)

    def ruled(self, at, valid=True):
        return ev(catalog.RULING_ISSUED, confirmation_pb2.RulingIssued(
            dispute_id=self.id, issued_at=timestamp(at),
            outcome=confirmation_pb2.RULING_OUTCOME_VALID if valid else confirmation_pb2.RULING_OUTCOME_REJECTED),
            self.region)

    def flagged(self, at):
        return ev(catalog.RISK_FLAGGED, intake_pb2.RiskFlagged(dispute_id=self.id, region_code=self.region,
                                                               flagged_at=timestamp(at)), self.region)

    def acknowledged(self, flagged, at, office="police_station", everyone=False):
        return ev(catalog.WARNING_ACKNOWLEDGED, intake_pb2.WarningAcknowledged(
            dispute_id=self.id, region_code=self.region, office=office, flagged_at=timestamp(flagged),
            acknowledged_at=timestamp(at), all_acknowledged=everyone), self.region)


@pytest.fixture
async def stats(service_pool):
    async with service_pool("statistics") as pool:
        async with pool.acquire() as conn:
            await conn.execute("truncate dispute_facts, warning_acks, external_figures, offer_expiries")
        yield Statistics(pool, load_config({}).formulas, clock=lambda: NOW)


async def feed(stats: Statistics, *events: ConsumedEvent) -> None:
    async with stats.pool.acquire() as conn, conn.transaction():
        for e in events:
            await stats.on_event(conn, e)


def fig(board, key):
    for f in (*board.three_up, *board.three_down, *board.figures):
        if f.definition.key == key:
            return f
    raise KeyError(key)


async def test_figures_by_milestone_at_the_edges_of_a_month(stats):
    a, b, c, d = Flow(), Flow(), Flow(source=common_pb2.CASE_SOURCE_COURT_DELEGATION), Flow()
    # a: registered at 00:00 CST on 1 May (May's), agreed in May
    # b: registered 30 April 23:59:59 CST (April's), terminated in May
    # c: court-delegated, agreed 31 May 23:59 CST (May's), confirmed in June
    # d: registered in May, agreed at 00:00 CST on 1 June (June's)
    await feed(stats, a.registered(cst(2026, 5, 1)), a.assigned(cst(2026, 5, 2)), a.agreed(cst(2026, 5, 11)),
               b.registered(cst(2026, 4, 30, 23, 59, 59)), b.assigned(cst(2026, 5, 3)), b.failed(cst(2026, 5, 20)),
               c.registered(cst(2026, 5, 5)), c.assigned(cst(2026, 5, 6)), c.agreed(cst(2026, 5, 31, 23, 59)),
               c.filed(cst(2026, 6, 2)), c.ruled(cst(2026, 6, 20)),
               d.registered(cst(2026, 5, 20)), d.agreed(cst(2026, 6, 1)))
    may = await stats.board(OPERATOR, "150502", "2026-05")
    assert fig(may, "disputes").current.value == 3                     # a, c, d
    assert fig(may, "mediated").current.value == 3                     # a, b, c ended in May
    assert fig(may, "successful").current.value == 2                   # a, c
    assert fig(may, "mediation_success_rate").current.value == pytest.approx(2 / 3)
    assert fig(may, "litigation_mediation_rate").current.value == 1.0  # c of c
    assert fig(may, "confirmation_rate").current.value == 0.0          # no application in May: 0 of 2
    june = await stats.board(OPERATOR, "150502", "2026-06")
    assert fig(june, "successful").current.value == 1                  # d
    assert fig(june, "confirmation_rate").current.value == 1.0         # c's application ÷ d's agreement
    assert fig(june, "valid_rulings").current.value == 1
    assert fig(june, "mediation_success_rate").current.value == 1.0
    assert fig(june, "litigation_mediation_rate").current.available is False   # no court case ended in June
    # days from registration to agreement for May: a 10 days, c 26 days 23:59
    assert fig(may, "days_to_agreement_avg").current.value == pytest.approx((10 + 26 + 23 / 24 + 59 / 1440) / 2, abs=0.01)
    q2 = await stats.board(OPERATOR, "1505", "2026-Q2")
    assert fig(q2, "disputes").current.value == 4 and fig(q2, "successful").current.value == 3


async def test_events_in_any_order_and_twice_give_the_same_facts(stats):
    f = Flow()
    events = [f.agreed(cst(2026, 3, 10)), f.assigned(cst(2026, 3, 2)), f.registered(cst(2026, 3, 1))]
    await feed(stats, *events)
    await feed(stats, *reversed(events))
    board = await stats.board(OPERATOR, "150502", "2026-03")
    assert [fig(board, k).current.value for k in ("disputes", "assigned", "successful")] == [1, 1, 1]
    assert fig(board, "days_to_assignment_avg").current.value == 1.0
    async with stats.pool.acquire() as conn:
        row = await conn.fetchrow("select dispute_type, organization_id, parties_masked from dispute_facts")
    assert tuple(row) == ("neighbours", "office-1", "张** (110105********002X)")


async def test_percentiles_of_days_to_assignment(stats):
    flows = [Flow() for _ in range(10)]
    for i, f in enumerate(flows):   # 1 .. 10 days
        await feed(stats, f.registered(cst(2026, 8, 1)), f.assigned(cst(2026, 8, 2 + i)))
    board = await stats.board(OPERATOR, "15", "2026-08")
    assert fig(board, "days_to_assignment_avg").current.value == 5.5
    assert fig(board, "days_to_assignment_p90").current.value == pytest.approx(9.1)   # percentile_cont
    assert fig(board, "days_to_agreement_avg").current.available is False


async def test_previous_year_and_year_on_year_change(stats):
    for year, n in ((2025, 2), (2026, 3)):
        for _ in range(n):
            await feed(stats, Flow().registered(cst(year, 9, 15)))
    board = await stats.board(OPERATOR, "150502", "2026-09")
    d = fig(board, "disputes")
    assert (d.current.value, d.previous.value, d.change) == (3, 2, pytest.approx(0.5))


async def test_roll_up_by_prefix_and_subregions(stats):
    await feed(stats, Flow(region="150502").registered(cst(2026, 2, 3)),
               Flow(region="150502").registered(cst(2026, 2, 4)),
               Flow(region="150521").registered(cst(2026, 2, 5)),
               Flow(region="150102").registered(cst(2026, 2, 5)))
    assert fig(await stats.board(OPERATOR, "1505", "2026-02"), "disputes").current.value == 3
    assert fig(await stats.board(OPERATOR, "15", "2026-02"), "disputes").current.value == 4
    groups = await stats.figures(OPERATOR, "1505", "2026-02", Breakdown.SUBREGION)
    by_key = {g.key: next(f for f in g.figures if f.definition.key == "disputes").current.value for g in groups}
    assert by_key["150502"] == 2 and by_key["150521"] == 1 and by_key["150522"] == 0
    types = await stats.figures(OPERATOR, "15", "2026-02", Breakdown.TYPE)
    assert [(g.key, g.label) for g in types] == [("neighbours", "邻里")]


async def test_overdue_offers_warnings_and_prevented_criminal(stats):
    late, prompt, quiet = Flow(), Flow(), Flow()
    flagged = cst(2026, 10, 1, 9)
    await feed(stats, late.registered(cst(2026, 10, 1)), late.agreed(cst(2026, 10, 5)),
               late.filed(cst(2026, 10, 6), accept_by=cst(2026, 10, 10)),       # never accepted: overdue
               prompt.registered(cst(2026, 10, 1)), prompt.flagged(flagged), prompt.agreed(cst(2026, 10, 8)),
               prompt.acknowledged(flagged, flagged + timedelta(hours=2)),
               prompt.acknowledged(flagged, flagged + timedelta(hours=6), office="judicial_office", everyone=True),
               quiet.registered(cst(2026, 10, 2)), quiet.flagged(flagged))
    board = await stats.board(OPERATOR, "1505", "2026-10")
    assert fig(board, "overdue").current.value == 1
    assert fig(board, "warnings").current.value == 2
    assert fig(board, "warnings_acknowledged").current.value == 1
    assert fig(board, "prevented_criminal").current.value == 1       # flagged and agreed
    assert fig(board, "ack_hours_avg").current.value == 4.0
    assert "第25条" in fig(board, "prevented_criminal").definition.formula()


async def test_import_validates_replaces_and_rolls_up_without_counting_twice(stats):
    police = Claims("police-system", "liandiao", Role.SERVICE, ("15",))
    audited = "select count(*) from audit_log where resource_kind = 'external_figure'"
    async with stats.pool.acquire() as conn:
        before = await conn.fetchval(audited)
    with pytest.raises(InvalidInput) as bad:
        await stats.import_figures(police, "police", [("150599", "2026-05", 3), ("150502", "2026-Q2", 1),
                                                      ("150502", "2026-05", -1), ("", "2026-05", 1)])
    fields = {v.field for v in bad.value.violations}
    assert fields == {"figures[0].region_code", "figures[1].period", "figures[2].count", "figures[3].region_code"}
    with pytest.raises(PermissionDenied):
        await stats.import_figures(police, "court", [("150502", "2026-05", 3)])
    first = await stats.import_figures(police, "police", [("150502", "2026-05", 3), ("150521", "2026-05", 4)])
    again = await stats.import_figures(police, "police", [("150502", "2026-05", 3), ("150521", "2026-05", 5)])
    assert (first.created, again.unchanged, again.replaced) == (2, 1, 1)
    may = await stats.board(OPERATOR, "1505", "2026-05")
    assert fig(may, "police_cases").current.value == 8 and fig(may, "police_cases").current.available
    # The prefecture's own total wins over its counties' (reported both ways, counted once).
    await stats.import_figures(OPERATOR, "police", [("1505", "2026-05", 10)])
    assert fig(await stats.board(OPERATOR, "1505", "2026-05"), "police_cases").current.value == 10
    assert fig(await stats.board(OPERATOR, "150502", "2026-05"), "police_cases").current.value == 3
    q2 = fig(await stats.board(OPERATOR, "1505", "2026-Q2"), "police_cases")
    assert (q2.current.available, q2.current.note) == (False, "1 of 3 months reported")
    async with stats.pool.acquire() as conn:
        assert await conn.fetchval(audited) - before == 5   # every region-month stored, named


async def test_region_scope_of_the_board(stats):
    await stats.board(SUPERVISOR, "150502", "2026")
    with pytest.raises(NotFound):
        await stats.board(SUPERVISOR, "1501", "2026")
    clerk = Claims("c-1", "office-1", Role.CLERK, ("150502",))
    await stats.board(clerk, "150502", "2026")
    with pytest.raises(NotFound):
        await stats.board(clerk, "1505", "2026")
    with pytest.raises(InvalidInput) as bad:
        await stats.board(OPERATOR, "159999", "2026")
    assert bad.value.violations[0].field == "region_code"


async def test_ledger_of_an_office_masked_in_xlsx_and_csv(stats):
    mine, other = Flow(), Flow()
    await feed(stats, mine.registered(cst(2026, 4, 2), name="=HYPERLINK(x)"), mine.assigned(cst(2026, 4, 3)),
               mine.agreed(cst(2026, 4, 9)), other.registered(cst(2026, 4, 2)), other.assigned(cst(2026, 4, 3), "office-2"))
    clerk = Claims("c-1", "office-1", Role.CLERK, ("1505",))
    export = await stats.ledger(clerk, "office-1", "2026-04")
    assert [str(r.dispute_id) for r in export.rows] == [mine.id]
    with pytest.raises(PermissionDenied):
        await stats.ledger(clerk, "office-2", "2026-04")
    table = ledger.cells(export.rows, region_name)
    text = ledger.to_csv(table).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["序号", "纠纷编号", "登记日期"]
    assert rows[1][1] == mine.id and rows[1][2] == "2026-04-02" and rows[1][11] == "调解成功"
    assert rows[1][7] == "'=************ (110105********002X)"      # masked, and never a formula
    book = load_workbook(io.BytesIO(ledger.to_xlsx(table, ledger.title("office-1", export.period))))
    sheet = book["台账"]
    assert sheet["B3"].value == mine.id and sheet["E3"].value == "科尔沁区"
    supervisor_rows = (await stats.ledger(SUPERVISOR, "office-2", "2026-04")).rows
    assert [str(r.dispute_id) for r in supervisor_rows] == [other.id]
