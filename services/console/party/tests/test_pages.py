"""The party page with Starlette's TestClient over an in-memory source (the real
intake behind it is tested in tests/e2e/test_case_code.py): the QR link fills the code
in, digits travel only in a POST, refusals read as the visitor needs them, nothing is
cached, English on request."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from liandiao.intake.v1 import intake_pb2
from services.console import party
from services.console.party import Refused


class FakeSource:
    def __init__(self, answer=None, refusal: Refused | None = None):
        self.answer, self.refusal, self.calls = answer, refusal, []

    async def case_status(self, code, phone_last4, client_address, language):
        self.calls.append((code, phone_last4, client_address, language))
        if self.refusal:
            raise self.refusal
        return self.answer

    async def organization_name(self, organization_id):
        return {"org-c": "科尔沁区大林镇人民调解委员会"}.get(organization_id, "")


def _client(source, **kw) -> TestClient:
    return TestClient(Starlette(routes=[Mount(party.PREFIX, app=party.router(source, **kw))]))


def _status(**kw) -> intake_pb2.CaseStatus:
    ts = Timestamp()
    ts.FromDatetime(datetime(2026, 12, 9, 1, 30, tzinfo=UTC))
    base = dict(stage=intake_pb2.CASE_STAGE_IN_MEDIATION, headline="调解员王调解正在调解您的纠纷",
                explanation="调解不收费。", your_name="张**", mediator_name="王调解",
                mediator_organization_id="org-c", next_session=intake_pb2.NextSession(
                    scheduled_for=ts, place="大林镇司法所", number=2),
                to_do=["请按时参加第2次调解：2026-12-09 09:30（北京时间），大林镇司法所。"],
                deadlines=[intake_pb2.StatusDeadline(what="共同申请司法确认的最后一天", last_day="2026-12-30",
                                                     for_you=True)],
                registered_on="2026-12-01", dispute_type="neighbours", language="zh")
    return intake_pb2.CaseStatus(**{**base, **kw})


def test_the_qr_link_opens_the_form_with_the_code_filled_in_and_nothing_cached():
    r = _client(FakeSource()).get("/party/?code=7KQ4M-2XH9P")
    assert r.status_code == 200 and 'lang="zh-CN"' in r.text
    assert 'value="7KQ4M-2XH9P"' in r.text and "手机号码后四位" in r.text
    assert 'name="viewport"' in r.text and 'inputmode="numeric"' in r.text
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"


def test_the_status_page_shows_the_mediator_office_next_session_and_what_to_do():
    source = FakeSource(_status())
    r = _client(source).post("/party/", data={"code": "7kq4m-2xh9p", "digits": "1234", "lang": "zh"})
    assert r.status_code == 200
    assert source.calls == [("7kq4m-2xh9p", "1234", "testclient", "zh")]
    for shown in ("调解员王调解正在调解您的纠纷", "张**", "王调解", "科尔沁区大林镇人民调解委员会", "2026-12-09 09:30",
                  "大林镇司法所", "请按时参加第2次调解", "2026-12-30", "邻里"):
        assert shown in r.text, shown
    assert "1234" not in r.text and r.headers["cache-control"] == "no-store"


def test_a_wrong_code_and_wrong_digits_read_the_same_and_a_lock_says_how_long():
    r = _client(FakeSource(refusal=Refused("no_match"))).post("/party/", data={"code": "X", "digits": "1"})
    assert "查询码或手机号码后四位不正确" in r.text and 'value="X"' in r.text
    locked = _client(FakeSource(refusal=Refused("locked", retry_after_seconds=1790))).post(
        "/party/", data={"code": "X", "digits": "1234"})
    assert locked.status_code == 429 and "30分钟后再试" in locked.text


def test_field_errors_show_next_to_their_field():
    refusal = Refused("invalid", {"case_code": "is not a case code", "phone_last4": "must be 4 digits"})
    r = _client(FakeSource(refusal=refusal)).post("/party/", data={"code": "ABC", "digits": "12"})
    assert r.status_code == 400
    assert 'id="code-error"' in r.text and 'id="digits-error"' in r.text and 'aria-invalid="true"' in r.text


def test_english_on_request_and_the_client_address_behind_the_ingress():
    source = FakeSource(_status(headline="Your dispute is being mediated by 王调解", language="en"))
    client = _client(source, forwarded_hops=1)
    assert 'lang="en"' in client.get("/party/?lang=en").text
    r = client.post("/party/", data={"code": "7KQ4M-2XH9P", "digits": "1234", "lang": "en"},
                    headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    assert "Your dispute is being mediated by" in r.text and "What you need to do" in r.text
    assert source.calls[-1][2:] == ("203.0.113.9", "en")
