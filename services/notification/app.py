"""Notification use cases: an event becomes deliveries (load the projections -> decide
who is told on which channel -> render -> store, in the event's transaction); due
deliveries are claimed in batches and sent concurrently, their outcomes recorded with
their events in one transaction per batch; an operator lists and resends them."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
from google.protobuf.json_format import MessageToDict

from liandiao import access, audit, telemetry
from liandiao.auth import Claims
from liandiao.errors import RuleViolation, parse_uuid
from liandiao.events import catalog
from liandiao.events.consumer import ConsumedEvent
from liandiao.events.outbox import enqueue
from liandiao.ids import lookup, prefecture_of
from liandiao.notification.v1 import notification_pb2
from liandiao.personnel.v1 import personnel_pb2
from liandiao.redact import mask_free_text
from liandiao.reference import dispute_types
from liandiao.rpc.convert import timestamp
from liandiao.rpc.enums import CASE_SOURCE
from services.notification import access as delivery_access
from services.notification import referrers
from services.notification.channels import Channel, ChannelError, Outgoing
from services.notification.codes import CHANNEL, REFERRER_KIND
from services.notification.contacts import Directory, Found
from services.notification.domain import coordination
from services.notification.domain import routing as rules
from services.notification.domain.receipts import Receipt, decide_receipt
from services.notification.domain.retry import GiveUp, decide_after_failure
from services.notification.domain.routing import Recipient, Routing
from services.notification.domain.states import IllegalTransition, Status, Step, transition
from services.notification.domain.templates import Catalog, Rendered, locale_of
from services.notification.handlers import facts_of
from services.notification.store import DeliveryRow, DisputeRow, NewDelivery, PartyRow, PersonRow, Store

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(seconds=60)
NO_DISPUTE = UUID(int=0)   # a coordination reminder is about no dispute   # a claimed delivery is due again if its sender died
_OFFICE_KIND = {personnel_pb2.ORGANIZATION_KIND_POLICE_STATION: "police_station",
                personnel_pb2.ORGANIZATION_KIND_PEOPLES_TRIBUNAL: "peoples_tribunal",
                personnel_pb2.ORGANIZATION_KIND_JUDICIAL_OFFICE: "judicial_office",
                personnel_pb2.ORGANIZATION_KIND_BASIC_COURT: "basic_court",
                personnel_pb2.ORGANIZATION_KIND_JUSTICE_BUREAU: "justice_bureau"}
_ROLE = {personnel_pb2.ROLE_MEDIATOR: "mediator", personnel_pb2.ROLE_LIAISON_OFFICER: "liaison_officer",
         personnel_pb2.ROLE_JUDGE: "judge", personnel_pb2.ROLE_CLERK: "clerk",
         personnel_pb2.ROLE_POLICE_OFFICER: "police_officer", personnel_pb2.ROLE_LAWYER: "lawyer"}


AGENT_PREFACE = "agent/preface"    # the line above a party's message sent to the party's agent
OFFICE_ZH = {"police_station": "派出所", "peoples_tribunal": "人民法庭", "judicial_office": "司法所"}
# Events whose liaison officers are those of given offices rather than the warning's missing ones:
# a false-mediation report is the judicial office's to look into (it guides the committees, PML Art.5).
# SPC-2011 Art.12: a rejected confirmation is notified to the judicial administration (its
# judicial office's liaison officers) as well as to the committee.
OFFICES_OF = {"mediation.false-mediation-reported": ("judicial_office",),
              "confirmation.ruling-issued": ("judicial_office",)}


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "?"


def _display(name: str, masked_phone: str) -> str:
    return f"{mask_name(name)} ({masked_phone or 'no phone'})"


def _containing(region_code: str) -> list[str]:
    """The codes a division containing ``region_code`` may be recorded under (its prefixes,
    and the six-digit spellings of its prefecture and province)."""
    prefixes = {region_code[:n] for n in range(2, len(region_code) + 1)}
    return sorted(prefixes | {region_code[:4] + "00", region_code[:2] + "0000"})


class MalformedEvent(ValueError):
    """The payload contradicts its headers."""


@dataclass(frozen=True)
class Outcome:
    delivery: DeliveryRow
    step: Step | None          # None: the attempt failed
    error: str = ""
    permanent: bool = False


class Notification:
    def __init__(self, pool: asyncpg.Pool, channels: Mapping[str, Channel], *, routing: Routing, templates: Catalog,
                 store: Store, webhook_receivers: frozenset[str] = frozenset(), concurrency: int = 16,
                 draw: Callable[[], float] = random.random, directory: Directory | None = None,
                 contacts_ttl: timedelta = timedelta(minutes=15), awaits_receipts: frozenset[str] = frozenset()):
        self.pool, self.channels, self.routing, self.templates, self.store = pool, channels, routing, templates, store
        self.webhook_receivers, self.draw = webhook_receivers, draw
        # Who keeps the real addresses (None: `contacts` holds whatever was put there), and
        # how long an address read from them is used before it is read again.
        self.directory, self.contacts_ttl = directory, contacts_ttl
        self.limit = asyncio.Semaphore(concurrency)
        # Channels whose provider reports arrival afterwards (SMS with a receipt endpoint): acceptance
        # makes them sent without an event; the receipt is their one delivery-succeeded.
        self.awaits_receipts = awaits_receipts

    # ---- events -> deliveries -------------------------------------------------
    async def on_person_changed(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        c: personnel_pb2.PersonChanged = event.payload
        p = c.person
        roles = [_ROLE[r] for r in p.roles if r in _ROLE]
        row = PersonRow(p.person_id, p.name, p.organization_id, _OFFICE_KIND.get(c.organization_kind, "other"),
                        list(p.region_codes), p.languages[0] if p.languages else "", p.masked_phone)
        active = p.roster_status != personnel_pb2.ROSTER_STATUS_REMOVED
        await self.store.upsert_person(conn, row, roles, active, event.envelope.occurred_at)

    async def on_event(self, conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        """Every routed event: keep what later events lack, then tell who the routes say."""
        msg = event.payload
        key = event.envelope.event_type.rsplit(".v", 1)[0]
        dispute_id = UUID(event.envelope.dispute_id or msg.dispute_id)
        if msg.dispute_id != str(dispute_id):
            # Not the event its headers say (another type's bytes parse as anything in
            # protobuf): retried, then dead-lettered, rather than telling anyone.
            raise MalformedEvent(f"payload's dispute_id {msg.dispute_id[:40]!r} is not the header's {dispute_id}")
        fields = MessageToDict(msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
        known, parties = await self._remember(conn, dispute_id, msg, event.envelope.region_code)
        facts = facts_of(msg)
        if not self.routing.for_event(key, facts):
            return
        wanted = {r.audience for r in self.routing.for_event(key, facts)}
        if not parties and key.startswith("mediation.") and wanted & {"party", "agent"}:
            # A case exists only after routing's dispute-assigned, which names the parties, but on
            # another topic: after a restart this consumer can be ahead of that one (the chaos run
            # saw session-scheduled tell nobody). Kept until the assignment arrives (below).
            await self.store.park(conn, event)
            return
        region_code = getattr(msg, "region_code", "") or event.envelope.region_code or (known and known.region_code)
        systems: dict[str, tuple[str, str, str]] = {}   # other referring systems: id -> (id, reference, org)
        audiences = await self._audiences(conn, key, msg, known, parties, region_code or "", facts, systems)
        planned = rules.decide_deliveries(self.routing, key, audiences, facts)
        kind = dispute_types().get(known.dispute_type if known else getattr(msg, "dispute_type", ""))
        region = lookup(region_code) if region_code else None
        common = {k: v for k, v in fields.items() if not isinstance(v, dict | list) or k == "unacknowledged_offices"}
        common.setdefault("unacknowledged_offices", [])
        common["offices_zh"] = [OFFICE_ZH.get(o, o) for o in common["unacknowledged_offices"]]
        common.update(short_id=str(dispute_id)[-8:], type_zh=kind.zh if kind else (known.dispute_type if known else ""),
                      region=region.name if region else region_code, party_count=str(len(parties)),
                      mediator=getattr(msg, "mediator_name", "") or (known.mediator_name if known else ""))
        new = []
        now = event.envelope.occurred_at
        results = {system_id: referrers.result_payload(key, msg, known, now, system)
                   for system_id, system in systems.items()}
        if known and known.referring_system_id and known.referring_system_id not in results:
            results[known.referring_system_id] = referrers.result_payload(key, msg, known, now)
        for p in planned:
            locale = locale_of(p.recipient.locale, self.routing.default_locale)
            shown, body = self._render(p.template, locale, common, p.recipient)
            new.append(NewDelivery(dispute_id, region_code or "", UUID(event.envelope.event_id), p.template,
                                   p.recipient.kind, p.recipient.recipient_id, p.recipient.display, p.channel,
                                   p.address, body.body, shown.body, body.locale,
                                   now + p.expire_after if p.expire_after else None,
                                   results.get(p.address) if p.channel == "webhook" else None))
        await self.store.add_deliveries(conn, new, datetime.now(UTC))
        if parties and key == "routing.dispute-assigned":
            for parked in await self.store.unpark(conn, dispute_id):
                await self.on_event(conn, parked)

    def _render(self, template: str, locale: str, common: Mapping[str, object],
                r: Recipient) -> tuple[Rendered, Rendered]:
        """(masked for listings, as sent). An agent gets their party's message, addressed to the
        party, under a line saying whose agent they are (templates' agent/preface)."""
        subject = r.on_behalf_of or r.name
        shown = self.templates.render(template, locale, {**common, "name": mask_name(subject)})
        body = self.templates.render(template, locale, {**common, "name": subject})
        if r.kind != "agent" or AGENT_PREFACE not in self.templates.names:
            return shown, body
        for_listing = self.templates.render(AGENT_PREFACE, body.locale, {"agent": mask_name(r.name),
                                                                         "party": mask_name(subject)})
        as_sent = self.templates.render(AGENT_PREFACE, body.locale, {"agent": r.name, "party": subject})
        return (Rendered(f"{for_listing.body}\n{shown.body}", shown.locale),
                Rendered(f"{as_sent.body}\n{body.body}", body.locale))

    async def _remember(self, conn, dispute_id: UUID, msg, envelope_region: str) -> tuple[DisputeRow | None,
                                                                                          list[PartyRow]]:
        parties = [PartyRow(p.party_id, p.display_name, p.language, p.masked_phone)
                   for p in getattr(msg, "parties", ())]
        region = getattr(msg, "region_code", "") or envelope_region
        if parties or getattr(msg, "mediator_id", ""):
            source = CASE_SOURCE.to_domain(msg.source) or "" if hasattr(msg, "source") else ""
            await self.store.upsert_dispute(conn, DisputeRow(
                dispute_id, region, getattr(msg, "dispute_type", ""), source, getattr(msg, "referring_org_id", ""),
                getattr(msg, "mediator_id", "") if hasattr(msg, "mediator_name") else "",
                getattr(msg, "mediator_name", ""), getattr(msg, "organization_id", ""),
                getattr(msg, "referring_system_id", ""), getattr(msg, "referral_reference", "")), parties)
        return await self.store.dispute(conn, dispute_id)

    async def _audiences(self, conn, key: str, msg, known: DisputeRow | None, parties: list[PartyRow],
                         region_code: str, facts: Mapping[str, object],
                         systems: dict[str, tuple[str, str, str]]) -> dict[str, list[Recipient]]:
        wanted = {r.audience for r in self.routing.for_event(key, facts)}
        out: dict[str, list[Recipient]] = {}
        # Confirmation names the applicants it serves (party_ids); otherwise every party is told.
        only = set(getattr(msg, "party_ids", ()))
        addressed = [p for p in parties if not only or p.party_id in only]
        if "party" in wanted:
            out["party"] = [Recipient("party", p.party_id, _display(p.display_name, p.masked_phone), p.display_name,
                                      p.language) for p in addressed]
        # One mediator (routing) or the case's mediators, presiding first (mediation).
        mediator_ids = list(getattr(msg, "mediator_ids", ())) or [
            getattr(msg, "mediator_id", "") or (known.mediator_id if known else "")]
        if "mediator" in wanted:
            out["mediator"] = []
            for mediator_id in filter(None, mediator_ids):
                person = await self.store.person(conn, mediator_id)
                name = (person.name if person else "") or getattr(msg, "mediator_name", "")
                shown = _display(name, person.masked_phone if person else "") if name else mediator_id
                out["mediator"].append(Recipient("mediator", mediator_id, shown, name,
                                                 person.language if person else ""))
        referrer = getattr(msg, "referring_org_id", "") or (known.referring_org_id if known else "")
        source = CASE_SOURCE.to_domain(msg.source) if hasattr(msg, "source") else (known.source if known else "")
        referrer_kind = REFERRER_KIND.get(source or (known.source if known else ""))
        if "referrer" in wanted and referrer and referrer_kind:
            out["referrer"] = [Recipient(referrer_kind, referrer, referrer, referrer)]
        if "referrer" in wanted and known and known.referring_system_id and self.directory is not None \
                and key in referrers.RESULT_OF:
            # Every system that referred it, a duplicate referral linked to it too, hears the result
            # (asked of intake at each result: a link may come at any time).
            out["referrer"] = await self._referring_systems(known, out.get("referrer", []), systems)
        court = getattr(msg, "court_org_id", "") or getattr(msg, "court_id", "")
        if "court" in wanted and court:
            out["court"] = [Recipient("court", court, court, court)]
        if "liaison_officer" in wanted and region_code:
            out["liaison_officer"] = await self._liaison_officers(conn, msg, region_code, OFFICES_OF.get(key))
        if "justice_bureau" in wanted and region_code:
            out["justice_bureau"] = [Recipient("justice_bureau", o.person_id, _display(o.name, o.masked_phone), o.name,
                                               o.language)
                                     for o in await self.store.justice_bureau(conn, _containing(region_code))]
        organization = getattr(msg, "organization_id", "") or (known.organization_id if known else "")
        if "organization" in wanted and organization:
            out["organization"] = [Recipient("organization", organization, organization, "")]
        agents_of = {p.party_id for p in addressed} if "agent" in wanted else set()
        if self.directory is not None:
            await self._look_up(conn, msg.dispute_id, out, agents_of)
        if agents_of:
            # Known from the parties' contacts (intake): told in their party's language.
            by_party = {p.party_id: p for p in addressed}
            out["agent"] = [Recipient("agent", agent_id, f"{mask_name(name)} ({mask_name(by_party[party_id].display_name)}"
                                      f" 的代理人)", name, by_party[party_id].language,
                                      on_behalf_of=by_party[party_id].display_name)
                            for party_id, agent_id, name in await self.store.agents(conn, UUID(msg.dispute_id))
                            if party_id in by_party]
        ids = [r.recipient_id for rs in out.values() for r in rs]
        languages: dict[str, str] = {}
        if self.directory is not None:
            languages = await self.store.looked_up_languages(conn, ids)
        contacts = await self.store.contacts(conn, ids)
        # A dispute a court or police case system sent in is answered to that system only (issue 10).
        system = (known.referring_org_id, known.referring_system_id) if known and known.referring_system_id \
            else ("", "")
        return {audience: [self._with_addresses(r, contacts.get(r.recipient_id, {}), languages.get(r.recipient_id),
                                                system) for r in rs] for audience, rs in out.items()}

    async def _referring_systems(self, known: DisputeRow, first: list[Recipient],
                                 systems: dict[str, tuple[str, str, str]]) -> list[Recipient]:
        """The first referrer and every other system intake links to the dispute; each other
        system's (id, reference, organization) goes into ``systems`` for its result."""
        assert self.directory is not None
        out = list(first)
        for s in await self.directory.referring_systems(str(known.dispute_id)):
            kind = REFERRER_KIND.get(s.source)
            if s.system_id == known.referring_system_id or not kind or s.system_id not in self.webhook_receivers:
                continue
            systems[s.system_id] = (s.system_id, s.reference, s.organization_id)
            out.append(Recipient(kind, s.organization_id or s.system_id, s.organization_id or s.system_id,
                                 s.organization_id, addresses={"webhook": s.system_id}))
        return out

    async def _look_up(self, conn, dispute_id: str, out: Mapping[str, list[Recipient]],
                       agents_of: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """Reads the addresses of the event's parties (intake, one call for the dispute; with
        them their agents, for the parties in ``agents_of``) and staff (personnel, one call
        each) that were not read within their lifetime. An unanswered lookup raises
        ContactsUnavailable: the event is handled again later."""
        assert self.directory is not None
        now = datetime.now(UTC)
        parties = {r.recipient_id for r in out.get("party", ())} | set(agents_of)
        staff = {r.recipient_id for audience in ("mediator", "liaison_officer", "justice_bureau")
                 for r in out.get(audience, ())}
        stale = await self.store.stale_lookups(conn, sorted(parties | staff), now - self.contacts_ttl)
        if parties & stale:
            found = await self.directory.parties(dispute_id)
            for party_id in sorted(parties & stale):
                f = found.get(party_id, Found())
                await self.store.replace_contacts(conn, party_id, f.addresses, f.language, now)
                if dispute_id:
                    await self.store.replace_agents(conn, UUID(dispute_id), party_id, f.agents)
                    for agent_id, _ in f.agents:
                        a = found.get(agent_id, Found())
                        await self.store.replace_contacts(conn, agent_id, a.addresses, f.language, now)
        for person_id in sorted(staff & stale):
            f = await self.directory.person(person_id) or Found()
            await self.store.replace_contacts(conn, person_id, f.addresses, f.language, now)

    def _with_addresses(self, r: Recipient, known: Mapping[str, str], language: str | None = None,
                        system: tuple[str, str] = ("", "")) -> Recipient:
        addresses = {**known, **r.addresses}
        referrer, system_id = system
        if r.kind in ("court", "police_station") and system_id and r.recipient_id == referrer:
            if system_id in self.webhook_receivers:
                addresses["webhook"] = system_id
        elif r.kind in ("court", "police_station") and r.recipient_id in self.webhook_receivers:
            addresses["webhook"] = r.recipient_id
        # The language the event carried, else the one its keeper answered (a party's preference).
        return Recipient(r.kind, r.recipient_id, r.display, r.name, r.locale or language or "", addresses,
                         r.on_behalf_of)

    async def _liaison_officers(self, conn, msg, region_code: str,
                                offices_of: tuple[str, ...] | None = None) -> list[Recipient]:
        """A warning goes to the liaison officers of the offices still to acknowledge,
        tier by tier as it escalates (township first); another event to those of
        ``offices_of`` at the first tier."""
        level = getattr(msg, "escalation_level", 0)
        offices = list(offices_of if offices_of is not None else getattr(msg, "unacknowledged_offices", ()))
        tiers = rules.escalation_tiers(self.routing, level)
        officers = await self.store.liaison_officers(conn, _containing(region_code), offices)
        chosen = [o for o in officers
                  if any(rules.covers_at_tier(code, region_code, tier) for code in o.region_codes for tier in tiers)]
        return [Recipient("liaison_officer", o.person_id, _display(o.name, o.masked_phone), o.name, o.language)
                for o in chosen]

    # ---- coordination reminders ---------------------------------------------------
    async def remind_coordination(self, now: datetime | None = None) -> int:
        """Each due reminder of the schedule, once per period, to every liaison officer of
        the counties' coordination groups (their county is the delivery's region)."""
        now = now or datetime.now(UTC)
        made = 0
        for reminder in self.routing.coordination:
            at = coordination.due(reminder, now)
            if at is None:
                continue
            source = coordination.source_id(reminder, at)
            async with self.pool.acquire() as conn, conn.transaction():
                if await self.store.made_from(conn, source):
                    continue
                officers = await self.store.all_liaison_officers(conn)
                recipients = [Recipient("liaison_officer", o.person_id, _display(o.name, o.masked_phone), o.name,
                                        o.language) for o in officers]
                if self.directory is not None:
                    await self._look_up(conn, "", {"liaison_officer": recipients})
                contacts = await self.store.contacts(conn, [r.recipient_id for r in recipients])
                new = []
                for o, r in zip(officers, recipients, strict=True):
                    county = next((c[:6] for c in o.region_codes if len(c) >= 6), "")
                    values = {"period": coordination.period_label(reminder, at), "short_id": "",
                              "region": (lookup(county).name if county and lookup(county) else county)}
                    addresses = contacts.get(r.recipient_id, {})
                    chans = [c for c in reminder.channels if c == "console" or addresses.get(c)] \
                        or [self.routing.fallback_channel]
                    locale = locale_of(r.locale, self.routing.default_locale)
                    template = f"coordination/{reminder.name}"
                    body = self.templates.render(template, locale, {**values, "name": r.name})
                    shown = self.templates.render(template, locale, {**values, "name": mask_name(r.name)})
                    new += [NewDelivery(NO_DISPUTE, county, source, template, "liaison_officer", r.recipient_id,
                                        r.display, c, addresses.get(c, ""), body.body, shown.body, body.locale,
                                        at + reminder.grace) for c in chans]
                made += await self.store.add_deliveries(conn, new, now)
        return made

    # ---- sending --------------------------------------------------------------
    async def dispatch_due(self, now: datetime | None = None, limit: int = 100) -> int:
        """Sends a batch of due deliveries.

        Claim, send, record: the batch is claimed in one short transaction (SKIP
        LOCKED, so two replicas take different rows), sent concurrently with no
        transaction open (at most ``concurrency`` at once), and every outcome of the
        batch is committed with its events in one transaction. A crash between a send
        and its record sends it again when the lease runs out (at-least-once; the
        idempotency key, the delivery id, lets the receiver drop the repeat)."""
        now = now or datetime.now(UTC)
        claimed = await self.store.claim_due(now, limit, CLAIM_LEASE)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(d, now) for d in claimed))
        async with self.pool.acquire() as conn, conn.transaction():
            for outcome in outcomes:
                await self._record(conn, outcome, now)
        return len(claimed)

    async def _attempt(self, d: DeliveryRow, now: datetime) -> Outcome:
        if d.expires_at is not None and d.expires_at <= now:
            return Outcome(d, Step.EXPIRE, "expired before it could be sent")
        message = Outgoing(str(d.delivery_id), d.recipient_display, d.body, self.store.address_of(d), d.template,
                           d.locale, str(d.dispute_id), d.body_masked, d.payload or "")
        async with self.limit:
            try:
                step = await self.channels[d.channel].send(message)
            except ChannelError as exc:
                return Outcome(d, None, mask_free_text(str(exc)), exc.permanent)   # stored and published: masked
            except Exception as exc:  # noqa: BLE001 - any other channel failure is retried, then recorded
                return Outcome(d, None, mask_free_text(f"{type(exc).__name__}: {exc}"))
        return Outcome(d, step or Step.ACCEPTED)

    async def _record(self, conn: asyncpg.Connection, o: Outcome, now: datetime) -> None:
        d = o.delivery
        if o.step is Step.EXPIRE:
            await self.store.record(conn, d, transition(Status(d.status), Step.EXPIRE), d.attempts, o.error, None, now)
            return
        attempts = d.attempts + 1
        if o.step is not None:
            status = transition(Status(d.status), o.step)
            # Served (CPL Art.90) when it reached the addressee's own system: the receiver answered (a
            # webhook), the mail server took it; an SMS only when the provider's receipt says so.
            served = now if status is Status.DELIVERED or d.channel in ("email", "webhook") else None
            await self.store.record(conn, d, status, attempts, "", None, now, served)
            telemetry.BUSINESS.labels("notification", "delivery_sent", prefecture_of(d.region_code), d.template).inc()
            if status is Status.SENT and d.channel in self.awaits_receipts:
                # Its success is the receipt (apply_receipts): announced once, then, with the moment
                # it was served, not also now that only the provider has it.
                return
            await self._succeeded(conn, d, now, served)
            return
        decision = decide_after_failure(self.routing.retry, attempts, o.permanent, now, self.draw(), d.expires_at)
        if isinstance(decision, GiveUp):
            await self.store.record(conn, d, transition(Status(d.status), Step.GIVE_UP), attempts,
                                    f"{o.error} ({decision.reason})", None, now)
            await enqueue(conn, catalog.DELIVERY_FAILED, notification_pb2.DeliveryFailed(
                delivery_id=str(d.delivery_id), dispute_id=str(d.dispute_id), channel=CHANNEL.to_proto(d.channel),
                error=o.error[:500], attempts=attempts),
                dispute_id=str(d.dispute_id), region_code=d.region_code, now=now)
            log.warning("delivery dead-lettered", extra={"delivery_id": str(d.delivery_id), "channel": d.channel,
                                                         "error": o.error[:200]})
            return
        await self.store.record(conn, d, transition(Status(d.status), Step.RETRY), attempts, o.error,
                                decision.at, now)

    # ---- SMS receipts -------------------------------------------------------------
    async def apply_receipts(self, receipts: list[Receipt], now: datetime | None = None) -> int:
        """The provider's status reports: a sent SMS becomes delivered (at the reported
        moment) or failed (dead-lettered, ``delivery-failed``); a repeat changes nothing.
        One transaction per callback: a receipt that overtook its own send's record
        (NotYet) rolls the callback back and the provider repeats it."""
        now = now or datetime.now(UTC)
        applied = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for r in receipts:
                d = await self.store.get_for_update(conn, r.delivery_id)
                if d is None or d.channel != "sms":
                    continue
                status = decide_receipt(Status(d.status), r)
                if status is None:
                    continue
                applied += 1
                error = "" if r.delivered else f"receipt: {r.code}"
                served = (r.reported_at or now) if r.delivered else None
                await self.store.record(conn, d, status, d.attempts, error, None, r.reported_at or now, served)
                if r.delivered:
                    await self._succeeded(conn, d, now, d.served_at or served)
                outcome = "delivery_receipted" if r.delivered else "delivery_bounced"
                telemetry.BUSINESS.labels("notification", outcome, prefecture_of(d.region_code), d.template).inc()
                if not r.delivered:
                    await enqueue(conn, catalog.DELIVERY_FAILED, notification_pb2.DeliveryFailed(
                        delivery_id=str(d.delivery_id), dispute_id=str(d.dispute_id),
                        channel=CHANNEL.to_proto(d.channel), error=error, attempts=d.attempts),
                        dispute_id=str(d.dispute_id), region_code=d.region_code, now=now)
        return applied

    async def _succeeded(self, conn: asyncpg.Connection, d: DeliveryRow, now: datetime,
                         served_at: datetime | None) -> None:
        event = notification_pb2.DeliverySucceeded(
            delivery_id=str(d.delivery_id), dispute_id=str(d.dispute_id), channel=CHANNEL.to_proto(d.channel),
            delivered_at=timestamp(now), template=d.template, recipient_id=d.recipient_id)
        if served_at is not None:
            event.served_at.CopyFrom(timestamp(served_at))
        await enqueue(conn, catalog.DELIVERY_SUCCEEDED, event, dispute_id=str(d.dispute_id),
                      region_code=d.region_code, now=now)

    # ---- operators --------------------------------------------------------------
    async def resend(self, caller: Claims, delivery_id: str, now: datetime | None = None) -> DeliveryRow:
        """A dead-lettered (failed) or expired delivery goes out again, with the same
        idempotency key; a sent one is not sent twice (FAILED_PRECONDITION)."""
        now = now or datetime.now(UTC)
        key = parse_uuid("delivery_id", delivery_id)
        async with self.pool.acquire() as conn, conn.transaction():
            d = await self.store.get_for_update(conn, key)
            facts = None if d is None else access.Facts(d.region_code, {
                access.Relation.SELF: frozenset({d.recipient_id}), access.Relation.ADDRESSEE: frozenset({d.recipient_id})})
            access.check_act(delivery_access.DELIVERY, caller, facts, f"delivery {delivery_id}", "resend")
            assert d is not None
            try:
                status = transition(Status(d.status), Step.RESEND)
            except IllegalTransition as exc:
                raise RuleViolation(str(exc), f"only a failed or expired delivery is resent; this one is "
                                    f"{d.status}") from None
            await self.store.requeue(conn, key, now)
            await self.store.history(conn, key, now, status, 0, f"resent by {caller.subject}")
            await audit.record(conn, caller, audit.Action.CHANGE, "delivery", str(key), d.region_code)
            return await self.store.get_for_update(conn, key)  # type: ignore[return-value]

    async def list(self, caller: Claims, dispute_id: str, status: str, limit: int, offset: int) -> list[DeliveryRow]:
        """A dispute's deliveries that ``caller`` may see (the access policy, in SQL);
        with no dispute, the operator's view of every dead-lettered delivery."""
        visible, params = access.visible_sql(delivery_access.DELIVERY, caller, delivery_access.COLUMNS, 3)
        if dispute_id:
            where, first = "dispute_id = $1 and ($2 = '' or status = $2)", [parse_uuid("dispute_id", dispute_id),
                                                                          status]
        else:
            where, first = "$1::uuid is null and status = any (case when $2 = '' then array['failed', 'expired'] " \
                           "else array[$2] end)", [None, status]
        rows = await self.store.list(f"{where} and {visible}", [*first, *params], limit, offset)
        # Each delivery names its recipient and (masked) address: one read entry per delivery shown.
        await audit.record(self.pool, caller, audit.Action.READ, "delivery", [str(r.delivery_id) for r in rows])
        return rows
