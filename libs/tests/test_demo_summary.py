"""The demo's counting, without a stack: its summary, when it calls the flow
drained, and the trace index of the OTLP sink."""

from __future__ import annotations

from collections import Counter

import pytest

from liandiao.devtools.metrics import FlowState, drained
from liandiao.devtools.notices import Notices, Told
from liandiao.devtools.otlp_sink import OtlpSink
from liandiao.devtools.summary import Run, problems, render
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2
from liandiao.routing.v1 import routing_pb2

REGISTERED, REFUSED = intake_pb2.DISPUTE_STATUS_REGISTERED, intake_pb2.DISPUTE_STATUS_REFUSED


def dispute(n: int, prefecture: str = "1505", status=REGISTERED, dtype: str = "neighbours") -> intake_pb2.Dispute:
    return intake_pb2.Dispute(dispute_id=f"d{n}", prefecture=prefecture, region_code=prefecture + "02",
                              dispute_type=dtype, status=status, source=1)


def assignment(n: int, status=routing_pb2.ASSIGNMENT_STATUS_ACCEPTED, reason="covers township") -> routing_pb2.Assignment:
    return routing_pb2.Assignment(dispute_id=f"d{n}", status=status, reason=reason)


def case(n: int, status=mediation_pb2.CASE_STATUS_OPEN) -> mediation_pb2.Case:
    c = mediation_pb2.Case(dispute_id=f"d{n}", status=status)
    c.deadline.period_name = "peoples_mediation"
    return c


def a_run(**changes) -> Run:
    """Four registrations: three registered (two in 通辽 1505, one in 赤峰 1504), one
    refused consent; two accepted with cases, one unplaced."""
    base = dict(
        requested=4, disputes=[dispute(1), dispute(2, dtype="contract"), dispute(3, "1504"), dispute(4, status=REFUSED)],
        unanswered=Counter(), invalid=2, bad_sent=2,
        assignments={"d1": assignment(1), "d2": assignment(2, reason="covers county (widened)"),
                     "d3": assignment(3, routing_pb2.ASSIGNMENT_STATUS_UNASSIGNED)},
        declined=1, cases=[case(1), case(2)], deliveries_sent=8, notified=2, whole_traces=2, consultations=0,
        health={"intake": "SERVING", "routing": "SERVING"}, backlog=0, lag=0, drained=True,
        phases=[("registration", 1.25)],
    )
    return Run(**(base | changes))


def _row(text: str, start: str) -> list[str]:
    return next(line for line in text.splitlines() if line.startswith(start)).split()


def test_summary_counts_what_the_services_answered():
    text = render(a_run())
    assert _row(text, " 通辽市 (1505)")[-2:] == ["2", "2"]     # registered, assigned
    assert _row(text, " 赤峰市 (1504)")[-2:] == ["1", "0"]
    assert _row(text, " 邻里 neighbours")[-2:] == ["2", "1"]
    assert "4 of 4 answered, 3 registered, 1 refused consent" in text
    assert "2 accepted (0 the parties' joint choice), 1 declined and re-offered, 1 unplaced" in text
    assert "cases open:   peoples_mediation 2 (total 2 of 2 opened)" in text
    assert "placed at:    township 1, county (widened) 1" in text
    assert "tracing:      2/2" in text and "registration 1.2s" in text
    assert "result:       the whole flow worked" in text
    assert problems(a_run()) == []


def test_cases_open_leaves_out_the_cases_that_ended():
    ended = [case(3, mediation_pb2.CASE_STATUS_AGREEMENT_EFFECTIVE), case(4, mediation_pb2.CASE_STATUS_TERMINATED),
             case(5, mediation_pb2.CASE_STATUS_RETURNED_TO_COURT), case(6, mediation_pb2.CASE_STATUS_CLOSED)]
    text = render(a_run(cases=[case(1), case(2, mediation_pb2.CASE_STATUS_IN_SESSION), *ended]))
    assert "cases open:   peoples_mediation 2 (total 2 of 6 opened)" in text


def test_summary_shows_what_each_audience_received_by_channel():
    told = {("party", "sms"): Told(10, 8, 1, 1, 3), ("party", "email"): Told(2), ("court", "webhook"): Told(1, 1)}
    text = render(a_run(notices=Notices(told, sms_received=10, sms_requests=13, receipts=9, mails=2)))
    assert _row(text, " party             sms") == ["party", "sms", "10", "8", "1", "3", "1"]
    assert _row(text, " court") == ["court", "webhook", "1", "1", "0", "0", "0"]
    assert "10 messages accepted of 13 requests" in text and "9 receipts" in text and "2 e-mails received" in text
    assert "told" not in render(a_run())                       # no real channels: no table


@pytest.mark.parametrize("changes, problem", [
    ({"unanswered": Counter({"UNAVAILABLE": 3})}, "3 registrations never answered (UNAVAILABLE 3)"),
    ({"cases": [case(1)]}, "1 accepted disputes have no case in mediation"),
    ({"assignments": {"d1": assignment(1), "d2": assignment(2)}}, "1 registered disputes have no assignment"),
    ({"notified": 1}, "notification took 1 of 2 assignments"),
    ({"drained": False, "backlog": 7}, "the flow did not come to rest (outbox backlog 7, consumer lag 0)"),
    ({"invalid": 1}, "1 of 2 bad registrations not refused as INVALID_ARGUMENT"),
    ({"health": {"intake": "NOT_SERVING"}}, "not SERVING: {'intake': 'NOT_SERVING'}"),
])
def test_a_run_that_lost_something_says_what(changes, problem):
    run = a_run(**changes)
    assert problem in problems(run)
    assert problem in render(run)


def test_the_flow_is_drained_only_at_rest_for_the_settle_time():
    quiet = FlowState(backlog=0, lag=0, moved=100, at=10.0)
    assert drained(quiet, FlowState(0, 0, 100, 11.5), settle=1.5)
    assert not drained(quiet, FlowState(0, 0, 100, 11.0), settle=1.5)     # not long enough
    assert not drained(quiet, FlowState(0, 0, 101, 12.0), settle=1.5)     # an event moved meanwhile
    assert not drained(quiet, FlowState(3, 0, 100, 12.0), settle=1.5)     # rows wait in an outbox
    assert not drained(quiet, FlowState(0, 2, 100, 12.0), settle=1.5)     # a consumer is behind


def test_flow_state_sums_every_service():
    intake = {("liandiao_outbox_backlog", (("service", "intake"),)): 2.0,
              ("liandiao_events_published_total", (("event_type", "a"), ("service", "intake"))): 5.0}
    routing = {("liandiao_consumer_lag", (("consumer", "routing.disputes"), ("partition", "0"))): 1.0,
               ("liandiao_events_consumed_total", (("consumer", "routing.disputes"), ("outcome", "processed"))): 4.0}
    assert FlowState.of([intake, routing], at=1.0) == FlowState(backlog=2, lag=1, moved=9, at=1.0)


def test_sink_finds_whole_journeys_by_index():
    sink = OtlpSink()
    t1, t2 = bytes(16 * [1]), bytes(16 * [2])
    sink.add("liandiao-intake", [(t1, "d1"), (t2, "d2")])
    sink.add("liandiao-routing", [(t1, ""), (t2, "d2")])
    sink.add("liandiao-mediation", [(t1, "d1")])
    assert sink.span_count == 5
    assert sink.traces_of_dispute("d1") == {t1.hex(): {"liandiao-intake", "liandiao-routing", "liandiao-mediation"}}
    journey = {"liandiao-intake", "liandiao-routing", "liandiao-mediation"}
    assert sink.whole_journeys(["d1", "d2", "d9"], journey) == 1
