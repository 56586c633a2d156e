"""One access policy for every read and every command (issue 7).

A method's rule says which roles may SEE a resource and which may ACT on it, and
through what: the caller's region scope (a prefix of the resource's GB/T 2260 code),
and a relation of the caller's organization or person to the resource (the police
station that referred it, the court that delegated it or must decide, the office or
committee that holds it, the case's own mediators, the party's agent, the person
themself). A caller who may not see a resource is told NOT_FOUND, never its data;
one who may see it but not act gets PERMISSION_DENIED.

Services describe a resource as ``Facts`` (built from their own rows) for single
reads and commands, and give ``visible_sql`` the names of the columns that hold the
same facts, so that list queries filter in SQL by the same rule instead of after
fetching. Pure: no I/O; the gRPC interceptor keeps the method-level role check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from liandiao.auth import Claims, Role
from liandiao.errors import NotFound, PermissionDenied
from liandiao.legaltime import to_china_date


class Relation(StrEnum):
    """How a caller may be related to a resource. ORGANIZATION relations compare the
    caller's organization id, PERSON relations the caller's person id (subject)."""
    HOLDER = "holder"          # the office or committee that registered / holds / mediates it
    REFERRER = "referrer"      # the police station or department that referred it (PML Art.18)
    COURT = "court"            # the court that delegated or commissioned it, or must decide on it
    MEDIATOR = "mediator"      # one of the case's own mediators
    AGENT = "agent"            # a party's agent (or the party)
    SELF = "self"              # the person the record is about (or addressed to)
    ADDRESSEE = "addressee"    # the organization a message is addressed to (a station, a court)
    ON_DUTY = "on_duty"        # a lawyer the duty rota lists at the resource's office (DUTY_WINDOW_DAYS)

    @property
    def of_person(self) -> bool:
        return self in (Relation.MEDIATOR, Relation.AGENT, Relation.SELF, Relation.ON_DUTY)


@dataclass(frozen=True)
class Facts:
    """What the policy needs to know of one resource."""
    region_code: str
    related: Mapping[Relation, frozenset[str]] = field(default_factory=dict)

    def relates(self, relation: Relation, caller: Claims) -> bool:
        who = caller.subject if relation.of_person else caller.organization_id
        return bool(who) and who in self.related.get(relation, frozenset())


@dataclass(frozen=True)
class Grant:
    """``roles`` may, through ANY of ``via`` (none: the region scope alone), provided
    the caller's region scope covers the resource (always required: a token of one
    prefecture never reaches another's records, whatever the relation)."""
    roles: frozenset[Role]
    via: frozenset[Relation] = frozenset()

    def allows(self, caller: Claims, facts: Facts) -> bool:
        if caller.role not in self.roles or not caller.sees_region(facts.region_code):
            return False
        return not self.via or any(facts.relates(r, caller) for r in self.via)


def grant(*roles: Role, via: Iterable[Relation] = ()) -> Grant:
    return Grant(frozenset(roles), frozenset(via))


@dataclass(frozen=True)
class Rule:
    """Who sees a resource and who acts on it. Acting implies seeing."""
    see: tuple[Grant, ...]
    act: tuple[Grant, ...] = ()

    def may_see(self, caller: Claims, facts: Facts) -> bool:
        return any(g.allows(caller, facts) for g in (*self.see, *self.act))

    def may_act(self, caller: Claims, facts: Facts) -> bool:
        return any(g.allows(caller, facts) for g in self.act)


def check_see(rule: Rule, caller: Claims, facts: Facts | None, what: str) -> Facts:
    """The resource's facts when ``caller`` may see it; NotFound otherwise (also when
    it does not exist: the two are told apart by nobody)."""
    if facts is None or not rule.may_see(caller, facts):
        raise NotFound(f"{what} not found")
    return facts


def check_act(rule: Rule, caller: Claims, facts: Facts | None, what: str, action: str) -> Facts:
    """Like ``check_see``, and PermissionDenied when the caller may see but not act."""
    facts = check_see(rule, caller, facts, what)
    if not rule.may_act(caller, facts):
        raise PermissionDenied(f"role {caller.role} of {caller.organization_id or 'no organization'} may see "
                               f"{what} but not {action} it")
    return facts


@dataclass(frozen=True)
class Columns:
    """Where a table keeps the facts: the region code column and, per relation, a
    column that holds one id (``text``) or an array of ids (``text[]``)."""
    region: str
    related: Mapping[Relation, str] = field(default_factory=dict)
    arrays: frozenset[Relation] = frozenset()


def narrow_scope(scope: tuple[str, ...], prefix: str) -> tuple[str, ...]:
    """The caller's region prefixes, narrowed to ``prefix`` when the query asks for
    part of them; empty when the prefix is outside the scope."""
    if not prefix:
        return scope
    if any(prefix.startswith(s) for s in scope):
        return (prefix,)
    return tuple(s for s in scope if s.startswith(prefix))


def visible_sql(rule: Rule, caller: Claims, columns: Columns, first_param: int,
                region_prefix: str = "") -> tuple[str, list[object]]:
    """A WHERE condition (and its parameters, numbered from ``first_param``) that keeps
    exactly the rows ``rule.may_see`` allows ``caller``, optionally narrowed to
    ``region_prefix``. ``("false", [])`` when nothing can be visible."""
    scope = narrow_scope(caller.region_scope, region_prefix)
    params: list[object] = []

    def arg(value: object) -> str:
        params.append(value)
        return f"${first_param + len(params) - 1}"

    options: list[str] = []
    for g in (*rule.see, *rule.act):
        if caller.role not in g.roles or not scope:
            continue
        region = f"{columns.region} like any({arg([p + '%' for p in scope])}::text[])"
        if not g.via:
            options.append(region)
            continue
        relations = []
        for relation in sorted(g.via):
            who = caller.subject if relation.of_person else caller.organization_id
            column = columns.related.get(relation)
            if not who or column is None:
                continue
            relations.append(f"{arg(who)} = any({column})" if relation in columns.arrays
                             else f"{column} = {arg(who)}")
        if relations:
            options.append(f"({region} and ({' or '.join(relations)}))")
    if not options:
        return "false", []
    return "(" + " or ".join(dict.fromkeys(options)) + ")", params


# ---- the lawyer on duty (值班律师) ------------------------------------------------------
# Lawyers and legal-service workers serve at judicial offices and police stations at least
# one day a week (DOMAIN §6). The "relevant time" of the relation: the rota lists the lawyer
# at the office on a China calendar day of the last DUTY_WINDOW_DAYS, today included. A week
# is one rota cycle, so a lawyer serving weekly keeps sight of the office's disputes without
# a gap, and loses it a week after leaving the rota; a day booked ahead grants nothing yet.
DUTY_WINDOW_DAYS = 7


def duty_window(today: date) -> tuple[date, date]:
    """First and last rota day (inclusive) that relate a lawyer to an office ``today``."""
    return today - timedelta(days=DUTY_WINDOW_DAYS - 1), today


def duty_window_at(now: datetime) -> tuple[date, date]:
    return duty_window(to_china_date(now))


def on_duty_sql(offices: str, rota: str = "duty_rota") -> str:
    """The ``ON_DUTY`` column for ``Columns``: an SQL array of the person ids ``rota``
    (person_id text, office_org_id text, day date) lists at any of ``offices`` (an SQL
    array expression of the row's office ids) within the duty window of today in China."""
    today = "(now() at time zone 'Asia/Shanghai')::date"
    return (f"array(select t.person_id from {rota} t where t.office_org_id = any({offices}) "
            f"and t.day between {today} - {DUTY_WINDOW_DAYS - 1} and {today})")
