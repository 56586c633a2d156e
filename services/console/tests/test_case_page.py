"""The mediator's case page against an in-memory mediation service (the real one is in
tests/browser): the extension with each party's consent, the oral agreement, follow-up visits
and the timeline; a service's field violation shown next to its field, dates in China time with
the day named, the parties' identity numbers and phones masked."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import grpc
import pytest
from starlette.testclient import TestClient

from liandiao.common.v1 import common_pb2
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.legaltime import to_china_date
from liandiao.mediation.v1 import mediation_pb2 as mpb
from liandiao.rpc.convert import timestamp
from liandiao.rpc.errors import to_status
from services.console import config
from services.console.app import create_app

MEDIATOR = "0192d000-0000-7000-8000-00000000m001"
APPLICANT, RESPONDENT = "party-applicant", "party-respondent"


def _invalid(field: str, reason: str) -> grpc.aio.AioRpcError:
    """What a service sends for bad input: INVALID_ARGUMENT with a BadRequest naming the field."""
    st = to_status(InvalidInput(FieldViolation(field, reason)))
    return grpc.aio.AioRpcError(st.code, grpc.aio.Metadata(), grpc.aio.Metadata(*st.trailing_metadata), st.details)


class FakeMediation:
    """One case; the few rules of the real service the page's forms rely on."""

    def __init__(self, status=mpb.CASE_STATUS_OPEN):
        today = to_china_date(datetime.now(UTC))
        self.case = mpb.Case(
            case_id="case-1", dispute_id="dispute-1", region_code="150102", dispute_type="neighbourhood",
            mediator_id=MEDIATOR, status=status, opened_at=timestamp(datetime.now(UTC) - timedelta(days=3)),
            deadline=common_pb2.Deadline(last_day=(today + timedelta(days=20)).isoformat(), source="PML Art.? practice"),
            parties=[common_pb2.PartyRef(party_id=APPLICANT, side=common_pb2.PARTY_SIDE_APPLICANT, display_name="王*",
                                         masked_id_number="150102********1234", masked_phone="138****5678"),
                     common_pb2.PartyRef(party_id=RESPONDENT, side=common_pb2.PARTY_SIDE_RESPONDENT,
                                         display_name="李*", masked_id_number="150102********4321")])
        if status == mpb.CASE_STATUS_AGREEMENT_EFFECTIVE:
            self.case.agreement.CopyFrom(mpb.Agreement(agreement_id="ag-1", state=mpb.AGREEMENT_STATE_EFFECTIVE,
                                                       effective_on=today.isoformat()))
        self.timeline: list[mpb.TimelineEntry] = []
        self.calls: list[tuple[str, object]] = []

    def _log(self, action: str, role: str = "mediator"):
        self.timeline.append(mpb.TimelineEntry(at=timestamp(datetime.now(UTC)), action=action, actor_role=role))

    async def GetCase(self, request):
        return self.case

    async def GetTimeline(self, request):
        return mpb.GetTimelineResponse(entries=self.timeline)

    async def GetAgreement(self, request):
        return self.case.agreement

    async def RequestExtension(self, request):
        self.calls.append(("RequestExtension", request))
        if request.days < 1:
            raise _invalid("days", "a whole number of days, at least 1")
        self.case.extension_requests.add(request_id="x-1", days=request.days, reason=request.reason,
                                         status=mpb.EXTENSION_STATUS_PENDING, requested_at=timestamp(datetime.now(UTC)))
        self._log(f"asked the parties to extend by {request.days} days")
        return self.case

    async def RecordExtensionConsent(self, request):
        self.calls.append(("RecordExtensionConsent", request))
        if not request.agreed and not request.reason:
            raise _invalid("reason", "required when the party refuses")
        x = self.case.extension_requests[-1]
        x.consents.add(party_id=request.party_id, agreed=request.agreed, reason=request.reason,
                       recorded_at=timestamp(datetime.now(UTC)))
        if len(x.consents) == len(self.case.parties):
            x.status = mpb.EXTENSION_STATUS_GRANTED
            last = date.fromisoformat(self.case.deadline.last_day) + timedelta(days=x.days)
            self.case.base_deadline.CopyFrom(self.case.deadline)
            self.case.deadline.last_day = last.isoformat()
        return self.case

    async def RecordOralAgreement(self, request):
        self.calls.append(("RecordOralAgreement", request))
        if not request.agreed_on:
            raise _invalid("agreed_on", "the date the parties state it takes effect")
        self.case.agreement.CopyFrom(mpb.Agreement(agreement_id="ag-oral", oral=True, mode=mpb.AGREEMENT_MODE_ORAL,
                                                   state=mpb.AGREEMENT_STATE_EFFECTIVE, agreed_on=request.agreed_on,
                                                   effective_on=request.agreed_on))
        self.case.status = mpb.CASE_STATUS_AGREEMENT_EFFECTIVE
        return self.case.agreement

    async def RecordFollowUp(self, request):
        self.calls.append(("RecordFollowUp", request))
        performed = request.result == mpb.FOLLOW_UP_RESULT_PERFORMED
        if not performed and not request.next_visit_on:
            raise _invalid("next_visit_on", "partly or not performed: set the next visit")
        self.case.follow_ups.add(visit_id=f"v-{len(self.case.follow_ups)}", visited_on=request.visited_on,
                                 result=request.result, notes=request.notes, next_visit_on=request.next_visit_on)
        self._log(f"follow-up visit {request.visited_on}: {'performed' if performed else 'not performed'}")
        return self.case


class Backend:
    def __init__(self, mediation):
        self.mediation = mediation

    def open(self):
        pass

    async def close(self):
        pass

    def as_person(self, token):
        async def none(request):
            return SimpleNamespace(applications=[], organizations=[], facts="")
        other = SimpleNamespace(ListApplications=none, ListOrganizations=none, GetDispute=none)
        return SimpleNamespace(mediation=self.mediation, confirmation=other, personnel=other, intake=other)


def _client(tmp_path, mediation):
    users = tmp_path / "users.json"
    users.write_text(json.dumps([{"key": "m", "label": "调解员", "role": "mediator", "subject": MEDIATOR,
                                  "organization_id": "committee-1", "regions": ["1501"]}]))
    c = TestClient(create_app(config.load({"LIANDIAO_CONSOLE_DEMO_USERS": str(users)}), Backend(mediation)))
    token = _csrf(c.get("/sign-in").text)
    c.post("/sign-in", data={"csrf": token, "user": "m", "next": "/cases/case-1"}, follow_redirects=False)
    return c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _post(c, path: str, data: dict[str, str]):
    page = c.get("/cases/case-1")
    return c.post(path, data={"csrf": _csrf(page.text), **data})


def _section(html: str, section: str) -> str:
    return re.search(rf'<section id="{section}">(.*?)</section>', html, re.S).group(1)


@pytest.fixture
def effective(tmp_path):
    fake = FakeMediation(mpb.CASE_STATUS_AGREEMENT_EFFECTIVE)
    with _client(tmp_path, fake) as c:
        yield c, fake


@pytest.fixture
def running(tmp_path):
    fake = FakeMediation(mpb.CASE_STATUS_IN_SESSION)
    with _client(tmp_path, fake) as c:
        yield c, fake


def test_a_follow_up_not_performed_without_the_next_visit_is_shown_at_that_field_and_nothing_recorded(effective):
    c, fake = effective
    r = _post(c, "/cases/case-1/follow-ups", {"follow_up.visited_on": "2026-12-01", "follow_up.result": "not"})
    section = _section(r.text, "follow-ups")
    assert re.search(r'id="follow_up.next_visit_on-error" role="alert">partly or not performed: set the next visit',
                     section)
    assert 'aria-invalid="true" aria-describedby="follow_up.next_visit_on-error"' in section
    assert not fake.case.follow_ups


def test_a_follow_up_recorded_is_listed_with_its_days_named_and_on_the_timeline(effective):
    c, fake = effective
    r = _post(c, "/cases/case-1/follow-ups", {"follow_up.visited_on": "2026-12-01", "follow_up.result": "partly",
                                              "follow_up.notes": "已付一半", "follow_up.next_visit_on": "2026-12-05"})
    sent = fake.calls[-1][1]
    assert sent.result == mpb.FOLLOW_UP_RESULT_PARTLY_PERFORMED and sent.next_visit_on == "2026-12-05"
    rows = re.findall(r'<tr class="follow-up">(.*?)</tr>', _section(r.text, "follow-ups"), re.S)
    assert len(rows) == 1
    # 2026-12-01 is a Tuesday, a working day; 2026-12-05 a Saturday.
    assert "2026-12-01</time> 周二" in rows[0] and "部分履行" in rows[0] and "已付一半" in rows[0]
    assert "2026-12-05</time> 周六<span class=\"daykind\">（休息日）" in rows[0]
    assert "follow-up visit 2026-12-01" in _section(r.text, "timeline")


def test_the_extension_asks_each_party_and_the_clock_moves_when_all_agreed(running):
    c, fake = running
    before = fake.case.deadline.last_day
    r = _post(c, "/cases/case-1/extension", {"extension.days": "abc", "extension.reason": "等待鉴定"})
    assert 'id="extension.days-error" role="alert">a whole number of days, at least 1' in _section(r.text, "extension")
    r = _post(c, "/cases/case-1/extension", {"extension.days": "15", "extension.reason": "等待鉴定"})
    section = _section(r.text, "extension")
    assert "申请延长 15 日" in section and "待当事人同意" in section
    assert section.count('action="/cases/case-1/extension/consent"') == 2    # one per party
    # A refusal needs its reason: the error goes to that party's form only.
    r = _post(c, "/cases/case-1/extension/consent", {"party_id": RESPONDENT, "agreed": "no"})
    section = _section(r.text, "extension")
    assert f'id="consent.{RESPONDENT}.reason-error" role="alert">required when the party refuses' in section
    assert f"consent.{APPLICANT}.reason-error" not in section
    r = _post(c, "/cases/case-1/extension/consent", {"party_id": RESPONDENT})
    assert f'id="consent.{RESPONDENT}.agreed-error" role="alert">请选择同意或不同意' in r.text
    assert [name for name, _ in fake.calls].count("RecordExtensionConsent") == 1   # the unanswered one never sent
    for party in (APPLICANT, RESPONDENT):
        r = _post(c, "/cases/case-1/extension/consent", {"party_id": party, "agreed": "yes"})
    section = _section(r.text, "extension")
    assert "已延长" in section and "/extension/consent" not in section
    assert fake.case.deadline.last_day != before and "原定期限" in section and before in section


def test_an_oral_agreement_needs_its_date_and_then_shows_as_oral_without_signatures(running):
    c, fake = running
    fields = {"mode": "oral", "content.facts": "邻里漏水", "amount_yuan": "500",
              "content.parties[0].id_number": "", "content.parties[0].address": ""}
    r = _post(c, "/cases/case-1/agreement", fields)
    assert 'id="agreed_on-error" role="alert">the date the parties state it takes effect' in _section(r.text, "agreement")
    r = _post(c, "/cases/case-1/agreement", {**fields, "agreed_on": "2026-12-02"})
    sent = fake.calls[-1][1]
    assert fake.calls[-1][0] == "RecordOralAgreement" and sent.content.terms[0].money.amount_fen == 50000
    section = _section(r.text, "agreement")
    assert "口头协议" in section and "2026-12-02</time> 周三" in section and "记录签名" not in section


def test_the_page_masks_the_parties_and_the_timeline_names_who_acted(effective):
    c, fake = effective
    fake._log("agreement takes effect", role="system")
    html = c.get("/cases/case-1").text
    assert "150102********1234" in html and "138****5678" in html
    assert "系统 · agreement takes effect" in _section(html, "timeline")
    english = c.get("/lang/en", headers={"referer": "http://testserver/cases/case-1"})
    assert "Follow-up visits" in english.text and "Record the visit" in english.text
