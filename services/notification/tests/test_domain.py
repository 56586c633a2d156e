"""Notification's pure rules, table-driven, no I/O: the delivery state table, the
retry policy at its boundaries, the routing file's checks, templates and their
fallback, and which liaison officers a warning reaches at each level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notification import config
from services.notification.domain.retry import GiveUp, RetryAt, RetryPolicy, backoff, decide_after_failure
from services.notification.domain.routing import (
    Recipient,
    RoutingError,
    covers_at_tier,
    decide_deliveries,
    escalation_tiers,
    parse_routing,
)
from services.notification.domain.states import TRANSITIONS, IllegalTransition, Status, Step, transition
from services.notification.domain.templates import Catalog, TemplateProblem, locale_of
from services.notification.handlers import event_fields

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CFG = config.load({})
EVENTS = ["routing.dispute-assigned", "intake.risk-flagged"]


@pytest.mark.parametrize(("status", "step", "after"), [
    (Status.PENDING, Step.ACCEPTED, Status.SENT), (Status.PENDING, Step.RECEIPTED, Status.DELIVERED),
    (Status.SENT, Step.RECEIPTED, Status.DELIVERED), (Status.SENT, Step.BOUNCE, Status.FAILED),
    (Status.PENDING, Step.RETRY, Status.PENDING),
    (Status.PENDING, Step.GIVE_UP, Status.FAILED), (Status.PENDING, Step.EXPIRE, Status.EXPIRED),
    (Status.FAILED, Step.RESEND, Status.PENDING), (Status.EXPIRED, Step.RESEND, Status.PENDING),
])
def test_allowed_steps(status, step, after):
    assert transition(status, step) is after


def test_every_other_step_is_refused_by_name():
    refused = [(s, t) for s in Status for t in Step if (s, t) not in TRANSITIONS]
    assert (Status.SENT, Step.RESEND) in refused and (Status.DELIVERED, Step.RETRY) in refused
    for s, t in refused:
        with pytest.raises(IllegalTransition, match=f"delivery.{t.value}-from-{s.value}"):
            transition(s, t)


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 2), (2, 4), (3, 8), (9, 512), (10, 600), (30, 600)])
def test_backoff_doubles_up_to_its_cap(attempts, seconds):
    assert backoff(RetryPolicy(), attempts, 0.0) == timedelta(seconds=seconds)


def test_jitter_only_shortens_and_stays_within_its_fraction():
    p = RetryPolicy(jitter=0.2)
    assert backoff(p, 3, 0.999) > timedelta(seconds=8 * 0.8) and backoff(p, 3, 0.999) < timedelta(seconds=8)


def test_retry_until_the_last_attempt_then_give_up():
    p = RetryPolicy(max_attempts=6)
    assert decide_after_failure(p, 5, False, NOW, 0.0) == RetryAt(NOW + timedelta(seconds=32))
    assert isinstance(decide_after_failure(p, 6, False, NOW, 0.0), GiveUp)
    assert decide_after_failure(p, 1, True, NOW, 0.0) == GiveUp("refused permanently")
    # A retry that would fall after the message's expiry is not made.
    assert isinstance(decide_after_failure(p, 1, False, NOW, 0.0, NOW + timedelta(seconds=1)), GiveUp)
    assert isinstance(decide_after_failure(p, 1, False, NOW, 0.0, NOW + timedelta(seconds=3)), RetryAt)


def route(**kw):
    entry = {"event": "routing.dispute-assigned", "audience": "party", "channels": ["sms"],
             "template": "dispute-assigned/party"}
    return {"route": [{**entry, **kw}]}


@pytest.mark.parametrize(("data", "named"), [
    (route(event="routing.nope"), "route[0].event"),
    (route(audience="everyone"), "route[0].audience"),
    (route(channels=["fax"]), "route[0].channels"),
    (route(channels=[]), "route[0].channels"),
    (route(template="no/such"), "route[0].template"),
    (route(colour="red"), "unknown field(s) colour"),
    (route(expire_after_hours=0), "route[0].expire_after_hours"),
    ({"route": route()["route"] * 2}, "a second route"),
    ({"route": []}, "no routes"),
    ({**route(), "retry": {"max_attempts": 0}}, "retry"),
    ({**route(), "retry": {"tries": 3}}, "retry"),
    ({**route(), "escalation": {"tiers": ["village"]}}, "escalation.tiers"),
    (route(when={"returned_to_cour": False}), "route[0].when.returned_to_cour: the event has no such field"),
    (route(when={"region_code": False}), "route[0].when.region_code: False is not str"),
    (route(when="returned_to_court"), "route[0].when: a table"),
])
def test_a_bad_routing_file_is_refused_naming_the_entry(data, named):
    with pytest.raises(RoutingError, match=named.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        parse_routing(data, templates=CFG.templates.names, known_events=EVENTS, event_fields=event_fields())


def test_a_route_applies_only_when_the_event_has_the_values_it_names():
    routing = parse_routing(route(when={"source": "CASE_SOURCE_ONLINE"}), templates=CFG.templates.names,
                            known_events=EVENTS, event_fields=event_fields())
    who = {"party": [Recipient("party", "p-1", "王*", "王建国")]}
    assert decide_deliveries(routing, "routing.dispute-assigned", who, {"source": "CASE_SOURCE_ONLINE"})
    assert decide_deliveries(routing, "routing.dispute-assigned", who, {"source": "CASE_SOURCE_POLICE"}) == []


def test_the_shipped_routing_file_routes_registration_assignment_and_warnings():
    assert {"intake.dispute-registered", "routing.dispute-assigned", "intake.risk-flagged"} <= CFG.routing.events
    assert [r.audience for r in CFG.routing.for_event("intake.dispute-registered")] == ["party", "agent"]
    assert {"mediation.agreement-effective", "confirmation.application-filed"} <= CFG.routing.events


def test_an_agent_is_told_what_their_party_is_told_but_not_a_signing_code():
    to_party = {(r.event, r.template, r.when) for r in CFG.routing.routes if r.audience == "party"}
    to_agent = {(r.event, r.template, r.when) for r in CFG.routing.routes if r.audience == "agent"}
    assert to_agent == {t for t in to_party if t[0] != "mediation.signing-code-issued"}   # the code is the party's own


def test_each_recipient_is_told_on_the_channels_it_has_else_on_the_fallback():
    routing = parse_routing(route(channels=["sms", "email"]), templates=CFG.templates.names, known_events=EVENTS)
    both = Recipient("party", "p-1", "王*", "王建国", addresses={"sms": "138", "email": "a@b"})
    none = Recipient("party", "p-2", "李*", "李秀英")
    planned = decide_deliveries(routing, "routing.dispute-assigned", {"party": [both, none, both]})
    assert [(p.recipient.recipient_id, p.channel) for p in planned] == [
        ("p-1", "sms"), ("p-1", "email"), ("p-2", "console")]
    assert decide_deliveries(routing, "intake.risk-flagged", {"party": [both]}) == []


def test_locales_and_fallback():
    assert (locale_of("mn"), locale_of("zh"), locale_of("en"), locale_of(""), locale_of("fr")) == (
        "mn-Mong", "zh-CN", "en", "zh-CN", "zh-CN")
    catalog = Catalog({"zh-CN": {"a/b": "你好 {{ name }}"}, "en": {}})
    assert catalog.render("a/b", "en", {"name": "X"}).locale == "zh-CN"
    with pytest.raises(TemplateProblem):
        catalog.render("a/b", "zh-CN", {})
    with pytest.raises(KeyError):
        catalog.render("c/d", "zh-CN", {})
    with pytest.raises(TemplateProblem):
        Catalog({"en": {"a/b": "x"}})               # no zh-CN at all


def test_templates_run_in_a_sandbox():
    catalog = Catalog({"zh-CN": {"evil": "{{ name.__class__.__mro__[1].__subclasses__() }}"}})
    with pytest.raises(Exception, match="unsafe|access"):
        catalog.render("evil", "zh-CN", {"name": "x"})


@pytest.mark.parametrize(("level", "tiers"), [
    (0, ("township",)), (1, ("township", "county")), (2, ("township", "county", "prefecture")),
    (5, ("township", "county", "prefecture"))])
def test_a_warning_escalates_tier_by_tier(level, tiers):
    assert escalation_tiers(CFG.routing, level) == tiers


@pytest.mark.parametrize(("officer", "tier", "covers"), [
    ("150502001", "township", True), ("150502001203", "township", True), ("150502002", "township", False),
    ("150502", "county", True), ("150503", "county", False), ("150502", "township", False),
    ("150500", "prefecture", True), ("1505", "prefecture", True), ("150100", "prefecture", False),
    ("150502001", "county", False)])
def test_which_officer_is_of_which_tier(officer, tier, covers):
    assert covers_at_tier(officer, "150502001203", tier) is covers


def test_mediation_and_confirmation_texts_speak_mongolian_and_institutions_read_english():
    later = ("session-scheduled", "agreement-effective", "mediation-failed", "case-returned-to-court",
             "expiry-reminder-due", "false-mediation-reported", "application-filed", "application-accepted",
             "application-refused", "ruling-issued", "session-cancelled")
    values = {"name": "宝音", "short_id": "12345678", "case_number": "（2026）内0502民特12号", "working_days_left": 3,
              "scheduled_for": "2026-12-03 09:00", "place": "司法所", "region": "科尔沁区",
              "outcome": "RULING_OUTCOME_VALID", "advice_code": ""}
    for route in CFG.routing.routes:
        if route.event.split(".")[1] not in later:
            continue
        people = route.audience in ("party", "agent", "mediator", "liaison_officer")
        locale = "mn-Mong" if people else "en"
        shown = CFG.templates.render(route.template, locale, values)
        assert shown.locale == locale, route.template
        assert "12345678" in shown.body and ("ᠮᠠᠷᠭᠤᠯᠳᠤᠭᠠᠨ" in shown.body if people else "dispute" in shown.body.lower())
