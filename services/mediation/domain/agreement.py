"""The agreement's rules: drafting (from a template or as given), editing, signing, the seal,
oral agreements, and when it takes effect (PML Art.28-30; SPC-Online Art.19).

Signing binds one exact text. document.canonical_document renders a version to bytes; its SM3
digest is what every signature covers: a party or mediator signature records the digest the
signer was shown, the committee seal is an SM2 signature by the organization's key over the
digest's 32 bytes. Any change makes a new version, with a new digest, and drops every signature
and the seal: the agreement is a plain draft again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from liandiao.errors import FieldViolation
from liandiao.legaltime import to_china_date
from liandiao.signing import KeyRing, Signature
from services.mediation.domain.content import (
    Agreement,
    AgreementContent,
    AgreementMode,
    Money,
    PartyDetails,
    PartyKind,
    PartySignature,
    Seal,
    SignatureMethod,
    SignerRole,
)
from services.mediation.domain.document import canonical_document, normalized, with_digest
from services.mediation.domain.ending import mediator_ids
from services.mediation.domain.errors import (
    ActorNotAllowed,
    AgreementActionNotAllowed,
    AgreementIncomplete,
    AlreadySigned,
    NoAgreement,
    SealInvalid,
    StaleDigest,
    WrongAgreementMode,
    invalid,
)
from services.mediation.domain.events import (
    AgreementAmended,
    AgreementDiscarded,
    AgreementDrafted,
    AgreementEffective,
    AgreementSigned,
    MediationEvent,
    OralAgreementRecorded,
    SealApplied,
    ref,
)
from services.mediation.domain.model import Actor, ActorRole, Case, Decision, ExtensionStatus
from services.mediation.domain.rules import check, transition
from services.mediation.domain.states import AGREEMENT_TRANSITIONS, Action, AgreementState, SessionState
from services.mediation.domain.templates import choose, fill

SEAL = "seal"  # how a missing seal is named among the missing signers
_CURRENCY = re.compile(r"[A-Z]{3}")

# ---- checks -----------------------------------------------------------------------------------


def check_structure(case: Case, content: AgreementContent) -> None:
    """What a draft must get right at once (InvalidInput): exactly the case's parties, each
    once; responsibilities and terms between those parties; money in whole fen, never negative."""
    ids = [p.party_id for p in content.parties]
    if sorted(ids) != sorted(p.party_id for p in case.parties):
        raise invalid("content.parties", "list every party of the case once, and no one else")
    for i, p in enumerate(content.parties):
        own = case.party(p.party_id)
        if own is not None and own.side is not p.side:
            raise invalid(f"content.parties[{i}].side", f"the case has {p.party_id} as {own.side.value}")
    seen: set[str] = set()
    for i, r in enumerate(content.responsibilities):
        if r.party_id not in ids or r.party_id in seen:
            raise invalid(f"content.responsibilities[{i}]", "one entry per party of the agreement")
        seen.add(r.party_id)
    for i, t in enumerate(content.terms):
        field = f"content.terms[{i}]"
        if t.obligor_id not in ids or t.obligee_id not in ids:
            raise invalid(field, "obligor and obligee are parties of the agreement")
        if t.obligor_id == t.obligee_id:
            raise invalid(field, "a party owes nothing to itself")
        o = t.obligation
        if isinstance(o, Money):
            if isinstance(o.amount_fen, bool) or not isinstance(o.amount_fen, int) or o.amount_fen < 0:
                raise invalid(f"{field}.amount_fen", "a whole number of fen, not negative")
            if not _CURRENCY.fullmatch(o.currency):
                raise invalid(f"{field}.currency", "an ISO 4217 code such as CNY")


def missing_fields(content: AgreementContent, today: date, identities: bool = True) -> list[FieldViolation]:
    """What PML Art.29 requires and the draft still lacks; empty when it can be signed.
    `identities`: each party's identity and domicile (a written agreement; an oral one names
    the parties only)."""
    missing: list[FieldViolation] = []

    def need(ok: bool, field: str, reason: str) -> None:
        if not ok:
            missing.append(FieldViolation(field, reason))

    for i, p in enumerate(content.parties):
        need(bool(p.name), f"content.parties[{i}].name", "required")
        if identities and p.kind is PartyKind.NATURAL_PERSON:
            need(bool(p.id_number), f"content.parties[{i}].id_number", "required (PML Art.29 (1))")
            need(bool(p.address), f"content.parties[{i}].address", "required (PML Art.29 (1))")
        elif identities:
            need(bool(p.credit_code), f"content.parties[{i}].credit_code", "required (PML Art.29 (1))")
            need(bool(p.legal_representative), f"content.parties[{i}].legal_representative", "required")
            need(bool(p.address), f"content.parties[{i}].address", "required (PML Art.29 (1))")
    need(bool(content.facts), "content.facts", "the main facts of the dispute (PML Art.29 (2))")
    need(bool(content.issues), "content.issues", "the issues in dispute (PML Art.29 (2))")
    stated = {r.party_id for r in content.responsibilities if r.text}
    for i, p in enumerate(content.parties):
        need(p.party_id in stated, f"content.responsibilities[{i}]", f"{p.name}'s responsibility, or 无 "
                                                                    "(PML Art.29 (2))")
    need(bool(content.terms), "content.terms", "the agreed terms (PML Art.29 (3))")
    for i, t in enumerate(content.terms):
        o = t.obligation
        if isinstance(o, Money):
            need(o.amount_fen > 0, f"content.terms[{i}].amount_fen", "the amount owed")
        else:
            need(bool(o.description), f"content.terms[{i}].description", "what is owed")
        need(bool(t.manner), f"content.terms[{i}].manner", "the manner of performance (PML Art.29 (3))")
        need(t.deadline is not None, f"content.terms[{i}].deadline", "the deadline of performance (PML Art.29 (3))")
        if t.deadline is not None:
            need(t.deadline >= today, f"content.terms[{i}].deadline", f"{t.deadline} has passed")
    return missing


def _require_complete(agreement: Agreement, now: datetime) -> None:
    missing = missing_fields(agreement.content, to_china_date(now), agreement.mode is not AgreementMode.ORAL)
    if missing:
        raise AgreementIncomplete(missing)


def _current(case: Case, action: Action) -> Agreement:
    agreement = case.agreement
    if agreement is None:
        raise NoAgreement()
    if action not in AGREEMENT_TRANSITIONS[agreement.state]:
        raise AgreementActionNotAllowed(agreement.agreement_id, agreement.state, action)
    return agreement


def _replace_current(case: Case, agreement: Agreement) -> tuple[Agreement, ...]:
    return tuple(agreement if a.agreement_id == agreement.agreement_id else a for a in case.agreements)


# ---- when it takes effect ---------------------------------------------------------------------


def missing_signers(agreement: Agreement, case: Case) -> tuple[str, ...]:
    """Who (or what) must still sign. Written (PML Art.29): every party, the presiding
    mediator and the committee seal ("seal"). Online (SPC-Online Art.19): every party by
    e-signature; an online agreement also takes effect the written way. Empty: effective."""
    signed = {s.signer_id: s for s in agreement.signatures if s.digest == agreement.digest}
    parties = [p.party_id for p in agreement.content.parties]
    written = [p for p in parties if p not in signed]
    if case.presiding.person_id not in signed:
        written.append(case.presiding.person_id)
    seal = agreement.seal
    if seal is None or seal.digest != agreement.digest:
        written.append(SEAL)
    if agreement.mode is AgreementMode.ONLINE:
        online = tuple(p for p in parties
                       if p not in signed or signed[p].method is not SignatureMethod.ONLINE_E_SIGNATURE)
        return () if not online or not written else online
    return tuple(written)


def _take_effect(case: Case, agreement: Agreement, actor: Actor, now: datetime,
                 effective_on: date | None = None) -> tuple[Case, AgreementEffective]:
    on = effective_on or to_china_date(now)
    effective = replace(agreement, state=AgreementState.EFFECTIVE, effective_on=on, effective_at=now)
    sessions = tuple(replace(s, state=SessionState.CANCELLED, cancel_reason="agreement took effect")
                     if s.state is SessionState.SCHEDULED else s for s in case.sessions)
    requests = tuple(replace(r, status=ExtensionStatus.LAPSED) if r.status is ExtensionStatus.PENDING else r
                     for r in case.extension_requests)
    after = transition(case, Action.AGREEMENT_TAKES_EFFECT, actor, now,
                       f"agreement {agreement.agreement_id} v{agreement.version} effective on {on}",
                       agreements=_replace_current(case, effective), sessions=sessions, extension_requests=requests)
    event = AgreementEffective(
        **ref(case), at=now, agreement_id=effective.agreement_id, version=effective.version, mode=effective.mode,
        content=effective.content, document=canonical_document(effective), digest=effective.digest,
        effective_on=on, effective_at=now, organization_id=case.organization_id,
        referring_org_id=case.referring_org_id, source=case.source, region_code=case.region_code,
        dispute_type=case.dispute_type, parties=effective.content.parties, signatures=effective.signatures,
        seal=effective.seal, copies=effective.copies,
        mediator_ids=mediator_ids(case))
    return after, event


def _after_signing(case: Case, agreement: Agreement, actor: Actor, now: datetime, event: MediationEvent) -> Decision:
    if missing_signers(agreement, case):
        return Decision(case, (event,))
    after, effective = _take_effect(case, agreement, actor, now)
    return Decision(after, (event, effective))


# ---- drafting and editing ---------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class DraftAgreement:
    agreement_id: str
    mode: AgreementMode  # WRITTEN or ONLINE; an oral agreement is recorded instead
    actor: Actor
    template_key: str | None = None  # None: the dispute type's default template
    content: AgreementContent | None = None  # given: drafted as is (no template)
    details: tuple[PartyDetails, ...] = ()  # the parties' basic details, for the template


def decide_draft_agreement(case: Case, command: DraftAgreement, now: datetime) -> Decision:
    check(case, Action.DRAFT_AGREEMENT, command.actor, now)
    if command.mode is AgreementMode.ORAL:
        raise WrongAgreementMode("an oral agreement is recorded, not drafted (PML Art.28)")
    if any(a.agreement_id == command.agreement_id for a in case.agreements):
        raise invalid("agreement_id", "already used")
    if command.content is None:
        template = choose(case.dispute_type, command.template_key)
        content, key = fill(template, case, command.details), template.key
    else:
        content, key = command.content, ""
    content = normalized(content)
    check_structure(case, content)
    agreement = with_digest(Agreement(
        agreement_id=command.agreement_id, case_id=str(case.case_id), organization_id=case.organization_id,
        version=1, mode=command.mode, state=AgreementState.DRAFT, content=content, template_key=key, digest="",
        drafted_at=now))
    after = transition(case, Action.DRAFT_AGREEMENT, command.actor, now,
                       f"agreement {agreement.agreement_id} drafted ({command.mode.value}, "
                       f"template {key or 'none'})", agreements=(*case.agreements, agreement))
    return Decision(after, (AgreementDrafted(**ref(case), at=now, agreement_id=agreement.agreement_id, version=1,
                                             mode=agreement.mode, template_key=key, digest=agreement.digest),))


@dataclass(frozen=True, kw_only=True)
class EditAgreement:
    content: AgreementContent
    actor: Actor


def decide_edit_agreement(case: Case, command: EditAgreement, now: datetime) -> Decision:
    """A change makes a new version. After a signature it invalidates every signature and the
    seal: whoever signed signs again, having seen the new text."""
    check(case, Action.EDIT_AGREEMENT, command.actor, now)
    agreement = _current(case, Action.EDIT_AGREEMENT)
    content = normalized(command.content)
    check_structure(case, content)
    if content == agreement.content:
        raise invalid("content", "nothing changed")
    dropped, sealed = len(agreement.signatures), agreement.seal is not None
    edited = with_digest(replace(agreement, version=agreement.version + 1, content=content, signatures=(), seal=None))
    why = f"agreement {edited.agreement_id} changed to v{edited.version}"
    if dropped or sealed:
        why += f"; {dropped} signatures{' and the seal' if sealed else ''} no longer valid"
    after = transition(case, Action.EDIT_AGREEMENT, command.actor, now, why,
                       agreements=_replace_current(case, edited))
    return Decision(after, (AgreementAmended(**ref(case), at=now, agreement_id=edited.agreement_id,
                                             version=edited.version, digest=edited.digest,
                                             signatures_invalidated=dropped, seal_invalidated=sealed),))


@dataclass(frozen=True, kw_only=True)
class DiscardDraft:
    reason: str
    actor: Actor


def decide_discard_draft(case: Case, command: DiscardDraft, now: datetime) -> Decision:
    """The parties reject the draft: it becomes void and mediation goes on."""
    check(case, Action.DISCARD_DRAFT, command.actor, now)
    agreement = _current(case, Action.DISCARD_DRAFT)
    if not command.reason.strip():
        raise invalid("reason", "say why the draft is dropped")
    void = replace(agreement, state=AgreementState.VOID)
    after = transition(case, Action.DISCARD_DRAFT, command.actor, now,
                       f"agreement {agreement.agreement_id} dropped: {command.reason.strip()}",
                       agreements=_replace_current(case, void))
    return Decision(after, (AgreementDiscarded(**ref(case), at=now, agreement_id=agreement.agreement_id,
                                               reason=command.reason.strip()),))


# ---- signatures and the seal ------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class SignAgreement:
    signer_id: str
    role: SignerRole
    method: SignatureMethod
    digest: str  # the digest of the text the signer was shown
    actor: Actor
    one_time_code_ref: str = ""  # online: the one-time code challenge the application verified


def _check_signer(case: Case, agreement: Agreement, command: SignAgreement) -> None:
    actor, signer = command.actor, command.signer_id
    if command.role is SignerRole.PARTY and signer not in {p.party_id for p in agreement.content.parties}:
        raise invalid("signer_id", "not a party of the agreement")
    if command.role is SignerRole.MEDIATOR and case.mediator(signer) is None:
        raise invalid("signer_id", "not a mediator of this case")
    online = command.method is SignatureMethod.ONLINE_E_SIGNATURE
    if online and not command.one_time_code_ref.strip():
        raise invalid("one_time_code_ref", "an online e-signature is confirmed with a one-time code")
    if command.role is SignerRole.MEDIATOR and not (actor.role is ActorRole.MEDIATOR and actor.person_id == signer):
        raise ActorNotAllowed(Action.SIGN_AGREEMENT, actor.person_id, "a mediator signs only for themselves")
    if command.role is SignerRole.PARTY and online and not (actor.role is ActorRole.PARTY and actor.person_id == signer):
        raise ActorNotAllowed(Action.SIGN_AGREEMENT, actor.person_id, "a party e-signs for itself, with its own code")
    if command.role is SignerRole.PARTY and not online and actor.role is not ActorRole.MEDIATOR:
        raise ActorNotAllowed(Action.SIGN_AGREEMENT, actor.person_id,
                              "a signature on paper or a fingerprint is recorded by the mediator who witnessed it")


def decide_sign(case: Case, command: SignAgreement, now: datetime) -> Decision:
    """A party's or a mediator's signature on the current version; the agreement takes effect
    with the last one that completes it (see missing_signers)."""
    check(case, Action.SIGN_AGREEMENT, command.actor, now)
    agreement = _current(case, Action.SIGN_AGREEMENT)
    if agreement.mode is AgreementMode.ORAL:
        raise WrongAgreementMode("an oral agreement is not signed (PML Art.28)")
    _require_complete(agreement, now)
    if command.digest != agreement.digest:
        raise StaleDigest(command.digest, agreement.digest)
    _check_signer(case, agreement, command)
    if any(s.signer_id == command.signer_id for s in agreement.signatures):
        raise AlreadySigned(command.signer_id)
    signature = PartySignature(signer_id=command.signer_id, role=command.role, method=command.method, signed_at=now,
                               digest=agreement.digest, recorded_by=command.actor.person_id,
                               one_time_code_ref=command.one_time_code_ref.strip())
    signed = replace(agreement, signatures=(*agreement.signatures, signature))
    after = transition(case, Action.SIGN_AGREEMENT, command.actor, now,
                       f"{command.role.value} {command.signer_id} signed v{agreement.version} "
                       f"({command.method.value})", agreements=_replace_current(case, signed))
    event = AgreementSigned(**ref(case), at=now, agreement_id=signed.agreement_id, version=signed.version,
                            signer_id=command.signer_id, role=command.role, method=command.method,
                            digest=signed.digest, waiting_for=missing_signers(signed, case))
    return _after_signing(after, signed, command.actor, now, event)


@dataclass(frozen=True, kw_only=True)
class ApplySeal:
    signature: Signature  # made by the application with the committee's Signer over the digest
    actor: Actor


def decide_apply_seal(case: Case, command: ApplySeal, now: datetime, keys: KeyRing) -> Decision:
    """The committee's seal (PML Art.29): an SM2 signature over this version's digest by a key
    of the case's organization, checked against the key ring before it is accepted."""
    check(case, Action.APPLY_SEAL, command.actor, now)
    agreement = _current(case, Action.APPLY_SEAL)
    if agreement.mode is AgreementMode.ORAL:
        raise WrongAgreementMode("an oral agreement carries no seal (PML Art.28)")
    _require_complete(agreement, now)
    if agreement.seal is not None:
        raise AlreadySigned(SEAL)
    sig = command.signature
    if sig.key_id not in keys:
        raise SealInvalid(f"unknown key id {sig.key_id!r}")
    if keys.entry(sig.key_id).organization_id != case.organization_id:
        raise SealInvalid(f"key {sig.key_id} belongs to another organization")
    if not keys.verify(sig, bytes.fromhex(agreement.digest), case.organization_id):
        raise SealInvalid(f"not a signature of digest {agreement.digest[:16]}… by key {sig.key_id}")
    seal = Seal(organization_id=case.organization_id, signature=sig, digest=agreement.digest, applied_at=now,
                applied_by=command.actor.person_id)
    sealed = replace(agreement, seal=seal)
    after = transition(case, Action.APPLY_SEAL, command.actor, now,
                       f"committee seal applied to v{agreement.version} (key {sig.key_id})",
                       agreements=_replace_current(case, sealed))
    event = SealApplied(**ref(case), at=now, agreement_id=sealed.agreement_id, key_id=sig.key_id,
                        digest=sealed.digest)
    return _after_signing(after, sealed, command.actor, now, event)


# ---- oral agreements (PML Art.28, 30) ---------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class RecordOralAgreement:
    agreement_id: str
    content: AgreementContent
    agreed_on: date  # the date the parties state it takes effect (PML Art.30)
    actor: Actor


def decide_record_oral_agreement(case: Case, command: RecordOralAgreement, now: datetime) -> Decision:
    """The mediator records what the parties agreed orally; it takes effect on the date they
    state: at once if that date has come, else on that day (decide_oral_effective)."""
    check(case, Action.RECORD_ORAL_AGREEMENT, command.actor, now)
    if any(a.agreement_id == command.agreement_id for a in case.agreements):
        raise invalid("agreement_id", "already used")
    opened = to_china_date(case.clock.accepted_at)
    if command.agreed_on < opened:
        raise invalid("agreed_on", f"before the case was accepted ({opened})")
    content = normalized(command.content)
    check_structure(case, content)
    agreement = with_digest(Agreement(
        agreement_id=command.agreement_id, case_id=str(case.case_id), organization_id=case.organization_id,
        version=1, mode=AgreementMode.ORAL, state=AgreementState.DRAFT, content=content, template_key="",
        digest="", drafted_at=now, agreed_on=command.agreed_on))
    _require_complete(agreement, now)
    after = transition(case, Action.RECORD_ORAL_AGREEMENT, command.actor, now,
                       f"oral agreement {agreement.agreement_id} recorded, effective {command.agreed_on}",
                       agreements=(*case.agreements, agreement))
    events: list[MediationEvent] = [OralAgreementRecorded(**ref(case), at=now, agreement_id=agreement.agreement_id,
                                                          agreed_on=command.agreed_on, digest=agreement.digest)]
    if command.agreed_on <= to_china_date(now):
        after, effective = _take_effect(after, agreement, command.actor, now, command.agreed_on)
        events.append(effective)
    return Decision(after, tuple(events))


def decide_oral_effective(case: Case, now: datetime) -> Decision | None:
    """The sweep: an oral agreement whose date has come takes effect; None otherwise."""
    agreement = case.agreement
    if (agreement is None or agreement.mode is not AgreementMode.ORAL or agreement.state is not AgreementState.DRAFT
            or agreement.agreed_on is None or to_china_date(now) < agreement.agreed_on or case.holds):
        return None
    after, effective = _take_effect(case, agreement, Actor.system(case.organization_id), now, agreement.agreed_on)
    return Decision(after, (effective,))
