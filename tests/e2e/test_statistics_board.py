"""Statistics end to end (issue 11), every service running: disputes registered at intake,
offered and accepted at routing, mediated to a written agreement or a termination, the
agreement confirmed by the court; the board of their county then equals the counts taken
directly from intake's, mediation's and confirmation's own tables. Also: the supervisors'
region scope, the police system's import (validated, replaced), the ledger as xlsx with
names masked.

The county is 开鲁县 (150523): the tests that put hand-made events on the topics use 150502,
whose read model therefore holds facts the services' tables do not."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import grpc
import pytest
from openpyxl import load_workbook

from liandiao import db
from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.confirmation.v1 import confirmation_pb2_grpc
from liandiao.devtools import board as direct
from liandiao.devtools import province
from liandiao.devtools.clients import channel, service_token, token
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2 as mpb
from liandiao.routing.v1 import routing_pb2
from liandiao.rpc.errors import field_violations
from liandiao.statistics.v1 import statistics_pb2 as pb
from liandiao.statistics.v1 import statistics_pb2_grpc
from liandiao.statistics.v1.statistics_pb2_grpc import StatisticsServiceStub
from services.confirmation.tests.stack_builders import seed_courts
from tests.e2e.support import CLERK, OPERATOR, eventually
from tests.e2e.test_mediation_flow import complete_content, hold_a_session
from tests.security.methods import identity_channel

pytestmark = pytest.mark.e2e

COUNTY = "150523"
YEAR = str(datetime.now(ZoneInfo("Asia/Shanghai")).year)
SUPERVISOR_1505 = token(Role.SUPERVISOR, subject="sup-tongliao", organization_id="bureau-1505", region_scope=("1505",))
SUPERVISOR_1504 = token(Role.SUPERVISOR, subject="sup-chifeng", organization_id="bureau-1504", region_scope=("1504",))
JUDGE = token(Role.JUDGE, subject="judge-kailu", organization_id="court-kailu", region_scope=("1505",))


@pytest.fixture(scope="module")
async def stats(services, stack_env):
    pool = await db.create_pool(stack_env["LIANDIAO_DATABASE_URL"], "confirmation")
    await eventually(lambda: pool.fetchval("select to_regclass('courts') is not null"))
    async with pool.acquire() as conn:
        await seed_courts(conn)
    await pool.close()
    chans = [channel(services.address(s)) for s in ("statistics", "confirmation")]
    yield statistics_pb2_grpc.StatisticsServiceStub(chans[0]), confirmation_pb2_grpc.ConfirmationServiceStub(chans[1])
    for ch in chans:
        await ch.close()


def _requests(prov, n: int, seed: int):
    """Party applications in the county, drawn like the demo's."""
    rng, out = random.Random(seed), []
    while len(out) < n:
        req = province.dispute_request(rng, prov, source=common_pb2.CASE_SOURCE_PARTY_APPLICATION)
        if req.region_code.startswith(COUNTY):
            out.append(req)
    return out


async def _case(stubs, req):
    d = (await stubs["intake"].RegisterDispute(req, metadata=CLERK)).dispute

    async def offered():
        a = await stubs["routing"].GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=d.dispute_id),
                                                 metadata=CLERK)
        return a if a.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED else None

    offer = await eventually(offered, timeout=60)
    mediator = token(Role.MEDIATOR, subject=offer.mediator_id)
    await stubs["routing"].AcceptAssignment(routing_pb2.AcceptAssignmentRequest(
        dispute_id=d.dispute_id, mediator_id=offer.mediator_id), metadata=mediator)
    case = await eventually(lambda: stubs["mediation"].GetCase(mpb.GetCaseRequest(dispute_id=d.dispute_id),
                                                               metadata=OPERATOR))
    return case, mediator


async def _agree(m, case, req, mediator) -> mpb.Agreement:
    await hold_a_session(m, case, mediator)
    drafted = await m.DraftAgreement(mpb.DraftAgreementRequest(
        case_id=case.case_id, mode=mpb.AGREEMENT_MODE_WRITTEN, content=complete_content(case, req)), metadata=mediator)
    for signer, role in [*((p.party_id, mpb.SIGNER_ROLE_PARTY) for p in case.parties),
                         (case.mediator_id, mpb.SIGNER_ROLE_MEDIATOR)]:
        await m.SignAgreement(mpb.SignAgreementRequest(agreement_id=drafted.agreement_id, signer_id=signer, role=role,
                                                       method=mpb.SIGNATURE_METHOD_PAPER_IN_PERSON,
                                                       digest=drafted.digest), metadata=mediator)
    return await m.ApplySeal(mpb.ApplySealRequest(agreement_id=drafted.agreement_id), metadata=mediator)


async def _confirm(court, agreement: mpb.Agreement, case, clerk) -> None:
    items = [cpb.MaterialItem(material="agreement"), cpb.MaterialItem(material="presiding_proof")]
    for p in case.parties:
        items += [cpb.MaterialItem(material=m, party_id=p.party_id) for m in ("identity", "domicile", "contact")]
    request = cpb.ApplyRequest(agreement_id=agreement.agreement_id, court_org_id="court-kailu", submitted=items,
                               applicants=[cpb.Applicant(party_id=p.party_id) for p in case.parties])

    async def filed():
        try:
            return await court.Apply(request, metadata=clerk)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:   # the agreement not projected yet
                raise
            return None

    application = await eventually(filed)
    await court.AcceptApplication(cpb.AcceptApplicationRequest(application_id=application.application_id),
                                  metadata=JUDGE)
    await court.Rule(cpb.RuleRequest(application_id=application.application_id, outcome=cpb.RULING_OUTCOME_VALID,
                                     reasons="协议系双方自愿达成，内容不违反法律规定。"), metadata=JUDGE)


async def _board(stub, metadata=OPERATOR, region=COUNTY) -> pb.Board:
    return await stub.GetBoard(pb.GetBoardRequest(region_code=region, period=YEAR), metadata=metadata)


def _bounds(board: pb.Board) -> tuple[datetime, datetime]:
    return board.period_start.ToDatetime(tzinfo=UTC), board.period_end.ToDatetime(tzinfo=UTC)


async def test_the_board_equals_the_services_own_counts_after_disputes_flow_through(world, stats, stack_env):
    stubs, prov = world
    stat, court = stats
    dsn = stack_env["LIANDIAO_DATABASE_URL"]
    before = direct.figures_of(await _board(stat))
    agreed_req, failed_req, open_req = _requests(prov, 3, 7311)
    refused = _requests(prov, 4, 7312)[-1]
    refused.parties[1].consent.decision = intake_pb2.CONSENT_DECISION_REFUSED   # never mediated (PML Art.17)
    refused.parties[1].consent.routes_told[:] = ["arbitration", "litigation"]

    agreed, mediator = await _case(stubs, agreed_req)
    agreement = await _agree(stubs["mediation"], agreed, agreed_req, mediator)
    assert agreement.state == mpb.AGREEMENT_STATE_EFFECTIVE
    clerk = token(Role.CLERK, subject="clerk-kailu", organization_id=agreed.organization_id, region_scope=(COUNTY,))
    await _confirm(court, agreement, agreed, clerk)
    failing, failing_mediator = await _case(stubs, failed_req)
    await stubs["mediation"].Terminate(mpb.TerminateRequest(
        case_id=failing.case_id, ground=mpb.TERMINATION_GROUND_POSITIONS_TOO_FAR_APART, details="分歧过大",
        routes_told=["向人民法院起诉"]), metadata=failing_mediator)
    await _case(stubs, open_req)
    await stubs["intake"].RegisterDispute(refused, metadata=CLERK)

    async def caught_up():
        board = await _board(stat)
        counts = await direct.direct_counts(dsn, COUNTY, *_bounds(board))
        return (board, counts) if not direct.mismatches(board, counts) and counts["valid_rulings"] else None

    board, counts = await eventually(caught_up, timeout=60)
    shown = direct.figures_of(board)
    moved = {k: shown[k].current.value - before[k].current.value
             for k in ("disputes", "assigned", "mediated", "successful", "failed", "applications", "valid_rulings")}
    assert moved == {"disputes": 3, "assigned": 3, "mediated": 2, "successful": 1, "failed": 1, "applications": 1,
                     "valid_rulings": 1}
    rate = shown["mediation_success_rate"]
    assert rate.current.numerator == counts["successful"] and rate.current.denominator == counts["mediated"]
    assert rate.formula == "本期调解成功件数（调解协议生效） ÷ 本期调结件数（协议生效或调解终止）"
    assert [f.key for f in board.three_up] == ["mediation_success_rate", "litigation_mediation_rate",
                                               "confirmation_rate"]
    assert board.previous_period == str(int(YEAR) - 1) and board.region_name == "开鲁县"
    # The prefecture's board is the roll-up of its counties.
    by_county = await stat.GetFigures(pb.GetFiguresRequest(region_code="1505", period=YEAR,
                                                           breakdown=pb.BREAKDOWN_SUBREGION), metadata=OPERATOR)
    kailu = next(g for g in by_county.groups if g.key == COUNTY)
    assert kailu.label == "开鲁县"
    assert next(f for f in kailu.figures if f.key == "disputes").current.value == shown["disputes"].current.value
    prefecture = direct.figures_of(await _board(stat, region="1505"))
    assert prefecture["disputes"].current.value == sum(
        next(f for f in g.figures if f.key == "disputes").current.value for g in by_county.groups)

    # The ledger of the office that mediated: the disputes it held, names masked.
    ledger = await stat.ExportLedger(pb.ExportLedgerRequest(organization_id=agreed.organization_id, period=YEAR,
                                                            format=pb.LEDGER_FORMAT_XLSX), metadata=clerk)
    sheet = load_workbook(io.BytesIO(ledger.content))["台账"]
    ids = {row[1] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert agreed.dispute_id in ids and ledger.rows == len(ids)
    names = {p.display_name for p in agreed.parties}
    text = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
    assert not any(n in text for n in names if len(n) > 1)
    other = token(Role.CLERK, subject="clerk-x", organization_id="another-office", region_scope=(COUNTY,))
    with pytest.raises(grpc.aio.AioRpcError) as refused_export:
        await stat.ExportLedger(pb.ExportLedgerRequest(organization_id=agreed.organization_id, period=YEAR,
                                                       format=pb.LEDGER_FORMAT_CSV), metadata=other)
    assert refused_export.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_supervisors_read_their_regions_only(stats):
    stat, _ = stats
    assert (await _board(stat, SUPERVISOR_1505)).region_code == COUNTY
    with pytest.raises(grpc.aio.AioRpcError) as outside:
        await _board(stat, SUPERVISOR_1504)
    assert outside.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as mediator:
        await _board(stat, token(Role.MEDIATOR, region_scope=("1505",)))
    assert mediator.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_police_system_imports_its_counts_and_a_bad_import_names_the_field(stats, services):
    # The police system calls over its own certificate (a service token must match it).
    async with identity_channel(services, "statistics", "police-system") as ch:
        await _imports(StatisticsServiceStub(ch))


async def _imports(stat):
    police = service_token("police-system")
    month = f"{YEAR}-01"
    first = await stat.ImportExternalFigures(pb.ImportExternalFiguresRequest(
        source_system=pb.SOURCE_SYSTEM_POLICE, figures=[pb.ExternalFigure(region_code=COUNTY, period=month, count=4)]),
        metadata=police)
    again = await stat.ImportExternalFigures(pb.ImportExternalFiguresRequest(
        source_system=pb.SOURCE_SYSTEM_POLICE, figures=[pb.ExternalFigure(region_code=COUNTY, period=month, count=6)]),
        metadata=police)
    assert (first.created + first.replaced + first.unchanged, again.replaced) == (1, 1)
    board = await stat.GetBoard(pb.GetBoardRequest(region_code=COUNTY, period=month), metadata=OPERATOR)
    police_cases = next(f for f in board.three_down if f.key == "police_cases")
    assert (police_cases.current.available, police_cases.current.value, police_cases.source) == (True, 6.0, "police")
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stat.ImportExternalFigures(pb.ImportExternalFiguresRequest(
            source_system=pb.SOURCE_SYSTEM_POLICE, figures=[
                pb.ExternalFigure(region_code="150599", period=month, count=1),
                pb.ExternalFigure(region_code=COUNTY, period=YEAR, count=1),
                pb.ExternalFigure(region_code=COUNTY, period=month, count=-3)]), metadata=police)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(bad.value)) == {"figures[0].region_code", "figures[1].period", "figures[2].count"}
    board = await stat.GetBoard(pb.GetBoardRequest(region_code=COUNTY, period=month), metadata=OPERATOR)
    assert next(f for f in board.three_down if f.key == "police_cases").current.value == 6.0   # nothing stored
    with pytest.raises(grpc.aio.AioRpcError) as court_figures:
        await stat.ImportExternalFigures(pb.ImportExternalFiguresRequest(
            source_system=pb.SOURCE_SYSTEM_COURT, figures=[pb.ExternalFigure(region_code=COUNTY, period=month,
                                                                              count=1)]), metadata=police)
    assert court_figures.value.code() == grpc.StatusCode.PERMISSION_DENIED
