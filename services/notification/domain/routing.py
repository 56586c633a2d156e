"""Who is told what, on which channel (pure).

The routes are configuration operators edit (``routing.toml``): event type x audience
-> channels + template. This module validates that file's content and decides the
deliveries of one event from the recipients the app resolved for each audience; it
does no I/O. A new event type plugs in with a route and a template: the facts a
template sees are the event's own fields (``Occurrence.values``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services.notification.domain.coordination import CoordinationError, Reminder
from services.notification.domain.coordination import parse as parse_coordination
from services.notification.domain.retry import RetryPolicy

CHANNELS = ("console", "sms", "email", "webhook")
# party: the dispute's parties; mediator: the assigned mediator; referrer: the police station
# or court that referred the dispute; court: the court an application was filed with;
# liaison_officer: the region's liaison officers (by escalation tier for warnings, the township's
# judicial office for a false-mediation report); organization: the mediation organization
# (committee) that has the case; agent: the agents (代理人) of the parties the event tells,
# each told what their party is told, in the party's language (the party's template, with a
# preface saying whose agent they are).
# justice_bureau: the people of the justice bureau (司法局) whose region contains the dispute's
# (the county's, else the prefecture's): it guides people's mediation (PML Art.5).
AUDIENCES = ("party", "agent", "mediator", "referrer", "court", "liaison_officer", "organization", "justice_bureau")
# Region-code length of each tier of liaison officers (GB/T 2260 + NBS township codes).
TIER_DIGITS = {"township": 9, "county": 6, "prefecture": 4, "province": 2}


class RoutingError(ValueError):
    """The routing file is wrong; the message names the entry and the field."""


@dataclass(frozen=True)
class Route:
    event: str                     # "<service>.<event>", e.g. "routing.dispute-assigned"
    audience: str
    channels: tuple[str, ...]      # every listed channel the recipient has an address on
    template: str
    expire_after: timedelta | None = None
    # The event's own fields that must hold for the route to apply (``when`` in the file),
    # e.g. {"returned_to_court": False}: a failure that went back to court is told once,
    # by case-returned-to-court, not a second time as mediation-failed.
    when: tuple[tuple[str, bool | str | int], ...] = ()

    def applies(self, facts: Mapping[str, Any]) -> bool:
        return all(facts.get(name) == value for name, value in self.when)


@dataclass(frozen=True)
class Routing:
    routes: tuple[Route, ...]
    fallback_channel: str = "console"   # a recipient with no address on any routed channel
    default_locale: str = "zh-CN"
    escalation_tiers: tuple[str, ...] = ("township", "county", "prefecture")
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    coordination: tuple[Reminder, ...] = ()     # the coordination groups' reminders

    @property
    def events(self) -> frozenset[str]:
        return frozenset(r.event for r in self.routes)

    def for_event(self, event: str, facts: Mapping[str, Any] | None = None) -> tuple[Route, ...]:
        """The event's routes; with ``facts`` (the event's fields), only those whose ``when`` holds."""
        return tuple(r for r in self.routes if r.event == event and (facts is None or r.applies(facts)))


@dataclass(frozen=True)
class Recipient:
    kind: str                  # party | agent | mediator | liaison_officer | court | police_station | organization
    recipient_id: str
    display: str               # masked, what listings and logs show
    name: str = ""             # as the template addresses them
    locale: str = ""           # preferred language if known (BCP-47)
    addresses: Mapping[str, str] = field(default_factory=dict)   # channel -> address
    on_behalf_of: str = ""     # an agent's party, by name: the message is the party's


@dataclass(frozen=True)
class Planned:
    template: str
    recipient: Recipient
    channel: str
    address: str
    expire_after: timedelta | None


def decide_deliveries(routing: Routing, event: str, audiences: Mapping[str, Sequence[Recipient]],
                      facts: Mapping[str, Any] | None = None) -> list[Planned]:
    """One delivery per recipient and channel; a recipient in two audiences of the same
    event is told once per channel (the first route wins). ``facts``: the event's fields,
    against which each route's ``when`` is checked."""
    planned: list[Planned] = []
    seen: set[tuple[str, str]] = set()
    for route in routing.for_event(event, facts or {}):
        for who in audiences.get(route.audience, ()):
            channels = [c for c in route.channels if c == "console" or who.addresses.get(c)]
            if not channels and routing.fallback_channel:
                channels = [routing.fallback_channel]
            for channel in channels:
                if (who.recipient_id, channel) in seen:
                    continue
                seen.add((who.recipient_id, channel))
                planned.append(Planned(route.template, who, channel, who.addresses.get(channel, ""),
                                       route.expire_after))
    return planned


def escalation_tiers(routing: Routing, level: int) -> tuple[str, ...]:
    """Tiers of liaison officers told at warning level ``level``: the township's from the
    first warning, the county's added at the first escalation, and so on; past the last
    tier the warning keeps going to all of them."""
    return routing.escalation_tiers[: max(level, 0) + 1]


def significant(code: str) -> str:
    """The digits that name a division: 150500 -> 1505 (a prefecture), 150502001000 ->
    150502001 (a township), so a prefix test says whether it contains another code."""
    if len(code) == 12 and code.endswith("000"):
        code = code[:9]
    if len(code) == 6:
        code = code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
    return code


def covers_at_tier(officer_region: str, dispute_region: str, tier: str) -> bool:
    """An officer of ``tier`` covers the dispute: their division is the dispute's own
    division at that tier (a village officer counts as the township's)."""
    own = significant(officer_region)[: TIER_DIGITS[tier]]
    return len(own) == TIER_DIGITS[tier] and len(significant(officer_region)) >= TIER_DIGITS[tier] \
        and (len(significant(officer_region)) == TIER_DIGITS[tier] or tier == "township") \
        and significant(dispute_region).startswith(own)


def _conditions(where: str, when: Any, fields: Mapping[str, Any] | None) -> tuple[tuple[str, bool | str | int], ...]:
    """A route's ``when``: a table of the event's own scalar fields and the value each must have."""
    if not isinstance(when, dict):
        raise RoutingError(f"{where}.when: a table of event field = value")
    out = []
    for name, value in when.items():
        if fields is not None and name not in fields:
            raise RoutingError(f"{where}.when.{name}: the event has no such field; it has "
                               f"{', '.join(sorted(fields))}")
        expected = fields.get(name) if fields is not None else None
        if not isinstance(value, bool | str | int) or (expected is not None and type(value) is not expected):
            kind = expected.__name__ if expected is not None else "a boolean, string or number"
            raise RoutingError(f"{where}.when.{name}: {value!r} is not {kind}")
        out.append((name, value))
    return tuple(out)


def parse_routing(data: Mapping[str, Any], *, templates: Iterable[str], known_events: Iterable[str],
                  event_fields: Mapping[str, Mapping[str, type]] | None = None) -> Routing:
    """Validates the routing file's content; RoutingError names what is wrong.
    ``event_fields``: each event's scalar fields and their types, to check ``when``."""
    templates, known = set(templates), set(known_events)
    routes: list[Route] = []
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(data.get("route", [])):
        where = f"route[{i}]"
        unknown = set(entry) - {"event", "audience", "channels", "template", "expire_after_hours", "when"}
        if unknown:
            raise RoutingError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        event, audience = entry.get("event", ""), entry.get("audience", "")
        if event not in known:
            raise RoutingError(f"{where}.event: {event!r} is not an event this service consumes")
        if audience not in AUDIENCES:
            raise RoutingError(f"{where}.audience: {audience!r}; known: {', '.join(AUDIENCES)}")
        channels = entry.get("channels", [])
        if not channels or not isinstance(channels, list) or any(c not in CHANNELS for c in channels):
            raise RoutingError(f"{where}.channels: {channels!r}; each one of {', '.join(CHANNELS)}")
        template = entry.get("template", "")
        if template not in templates:
            raise RoutingError(f"{where}.template: {template!r} has no zh-CN text")
        if (event, audience) in seen:
            raise RoutingError(f"{where}: a second route for {event} -> {audience}")
        seen.add((event, audience))
        hours = entry.get("expire_after_hours")
        if hours is not None and (not isinstance(hours, int | float) or hours <= 0):
            raise RoutingError(f"{where}.expire_after_hours: must be a positive number")
        when = _conditions(where, entry.get("when", {}),
                           event_fields.get(event) if event_fields is not None else None)
        routes.append(Route(event, audience, tuple(channels), template,
                            timedelta(hours=hours) if hours is not None else None, when))
    if not routes:
        raise RoutingError("route: no routes (every event would be dropped)")
    defaults = data.get("defaults", {})
    fallback = defaults.get("fallback_channel", "console")
    if fallback not in (*CHANNELS, ""):
        raise RoutingError(f"defaults.fallback_channel: {fallback!r}")
    tiers = tuple(data.get("escalation", {}).get("tiers", ("township", "county", "prefecture")))
    if not tiers or any(t not in TIER_DIGITS for t in tiers):
        raise RoutingError(f"escalation.tiers: {list(tiers)!r}; each one of {', '.join(TIER_DIGITS)}")
    try:
        retry = RetryPolicy(**data.get("retry", {}))
    except (TypeError, ValueError) as exc:
        raise RoutingError(f"retry: {exc}") from None
    try:
        coordination = parse_coordination(data.get("coordination"), templates, CHANNELS)
    except CoordinationError as exc:
        raise RoutingError(str(exc)) from None
    return Routing(tuple(routes), fallback, defaults.get("locale", "zh-CN"), tiers, retry, coordination)
