"""Cases and commands for the mediation domain tests (pure: no database, no broker).

Dates are worked out by hand from the 2026 State Council schedule (holidays Jan 1-3, Feb 15-23,
Apr 4-6, May 1-5, Jun 19-21, Sep 25-27, Oct 1-7; make-up working days Jan 4, Feb 14, Feb 28,
May 9, Sep 20, Oct 10)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from uuid import UUID

from liandiao.legaltime import shipped_calendar
from liandiao.signing import KeyEntry, KeyRing, PrivateKey, Signer
from services.mediation.domain.agreement import (
    ApplySeal,
    DraftAgreement,
    SignAgreement,
    decide_apply_seal,
    decide_draft_agreement,
    decide_sign,
)
from services.mediation.domain.content import (
    Act,
    AgreementContent,
    AgreementMode,
    Money,
    PartyDetails,
    PartyKind,
    PartySide,
    Responsibility,
    SignatureMethod,
    SignerRole,
    Term,
)
from services.mediation.domain.model import (
    Actor,
    ActorRole,
    Case,
    CaseSource,
    CourtProcedure,
    InPerson,
    Participant,
    ParticipantRole,
    Party,
    Policy,
)
from services.mediation.domain.rules import OpenCase, open_case
from services.mediation.domain.sessions import ScheduleSession, decide_schedule_session

CAL = shipped_calendar()
CST = timezone(timedelta(hours=8))
ORG = "committee-150502-01"
OTHER_ORG = "committee-150503-07"
COURT = "court-150502"

MEDIATOR = Actor("med-1", ORG, ActorRole.MEDIATOR)
CO_MEDIATOR = Actor("med-2", "lawfirm-9", ActorRole.MEDIATOR)
CLERK = Actor("clerk-1", ORG, ActorRole.CLERK)
OTHER_CLERK = Actor("clerk-9", OTHER_ORG, ActorRole.CLERK)
OFFICIAL = Actor("official-1", "judicial-office-150502", ActorRole.OFFICIAL)
STRANGER = Actor("med-99", OTHER_ORG, ActorRole.MEDIATOR)

APPLICANT = Party(party_id="p-a", name="张三", side=PartySide.APPLICANT, masked_id_number="150502********1234")
RESPONDENT = Party(party_id="p-r", name="李四", side=PartySide.RESPONDENT, masked_id_number="150502********5678")


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An instant in China Standard Time."""
    return datetime(year, month, day, hour, minute, tzinfo=CST)


def last_moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=CST)


def first_moment_after(day: date) -> datetime:
    nxt = day + timedelta(days=1)
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=CST)


def party_actor(party: Party) -> Actor:
    return Actor(party.party_id, "", ActorRole.PARTY)


def new_case(source: CaseSource = CaseSource.PARTY_APPLICATION, procedure: CourtProcedure = CourtProcedure.NONE,
             accepted_at: datetime | None = None, dispute_type: str = "neighbours",
             parties: tuple[Party, ...] = (APPLICANT, RESPONDENT), policy: Policy | None = None,
             summary: str = "李四翻修房屋时损坏张三院墙。") -> Case:
    court = COURT if source.court_related else ""
    command = OpenCase(case_id=UUID(int=1), dispute_id=UUID(int=2), region_code="150502101", dispute_type=dispute_type,
                       summary=summary, source=source, court_procedure=procedure, organization_id=ORG,
                       referring_org_id=court, parties=parties, mediator_id=MEDIATOR.person_id,
                       accepted_at=accepted_at or at(2026, 3, 2))
    return open_case(command, CAL, policy or Policy()).case


def in_session(case: Case, when: datetime | None = None, now: datetime | None = None) -> Case:
    when = when or case.clock.accepted_at + timedelta(days=2)
    command = ScheduleSession(session_id=f"s-{len(case.sessions) + 1}", scheduled_for=when,
                              venue=InPerson("村委会调解室"),
                              participants=(Participant(MEDIATOR.person_id, ParticipantRole.MEDIATOR),
                                            *(Participant(p.party_id, ParticipantRole.PARTY) for p in case.parties)),
                              actor=MEDIATOR)
    return decide_schedule_session(case, command, now or case.clock.accepted_at + timedelta(hours=1)).case


def details(party: Party) -> PartyDetails:
    return PartyDetails(party_id=party.party_id, name=party.name, side=party.side, kind=PartyKind.NATURAL_PERSON,
                        gender="男", ethnicity="汉族", birth_date=date(1970, 5, 1),
                        id_number="150502197005011234" if party.side is PartySide.APPLICANT else "15050219800202567X", address="内蒙古通辽市科尔沁区某村",
                        phone="13800000000")


def complete_content(case: Case, deadline: date = date(2026, 4, 30)) -> AgreementContent:
    a, r = case.parties[0], case.parties[1]
    return AgreementContent(
        parties=tuple(details(p) for p in case.parties),
        facts="李四翻修房屋时损坏张三院墙约三米。",
        issues=("院墙损坏的赔偿数额",),
        responsibilities=(Responsibility(a.party_id, "无"), Responsibility(r.party_id, "施工不慎，负全部责任")),
        terms=(
            Term(obligor_id=r.party_id, obligee_id=a.party_id, obligation=Money(150000), manner="一次性银行转账",
                 deadline=deadline),
            Term(obligor_id=r.party_id, obligee_id=a.party_id, obligation=Act("修复院墙，恢复原状"), manner="自行修复",
                 deadline=deadline),
        ),
        other_terms="双方就本纠纷再无其他争议。",
    )


def drafted(case: Case, now: datetime, mode: AgreementMode = AgreementMode.WRITTEN) -> Case:
    command = DraftAgreement(agreement_id="ag-1", mode=mode, actor=MEDIATOR, content=complete_content(case))
    return decide_draft_agreement(case, command, now).case


SEAL_KEY = PrivateKey.from_hex("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
SIGNER = Signer("committee-150502-01.2026a", ORG, SEAL_KEY)
KEYS = KeyRing([KeyEntry(SIGNER.key_id, ORG, SEAL_KEY.public_key())])


def sign_party(case: Case, party: Party, now: datetime,
               method: SignatureMethod = SignatureMethod.PAPER_IN_PERSON) -> Case:
    agreement = case.agreement
    assert agreement is not None
    online = method is SignatureMethod.ONLINE_E_SIGNATURE
    command = SignAgreement(signer_id=party.party_id, role=SignerRole.PARTY, method=method, digest=agreement.digest,
                            actor=party_actor(party) if online else MEDIATOR,
                            one_time_code_ref="otp-123" if online else "")
    return decide_sign(case, command, now).case


def sign_mediator(case: Case, now: datetime, actor: Actor = MEDIATOR) -> Case:
    agreement = case.agreement
    assert agreement is not None
    command = SignAgreement(signer_id=actor.person_id, role=SignerRole.MEDIATOR,
                            method=SignatureMethod.PAPER_IN_PERSON, digest=agreement.digest, actor=actor)
    return decide_sign(case, command, now).case


def seal(case: Case, now: datetime, signer: Signer = SIGNER, keys: KeyRing = KEYS) -> Case:
    agreement = case.agreement
    assert agreement is not None
    signature = signer.sign(bytes.fromhex(agreement.digest))
    return decide_apply_seal(case, ApplySeal(signature=signature, actor=CLERK), now, keys).case


def effective(case: Case, now: datetime) -> Case:
    """Drafted, signed by both parties and the mediator, sealed: effective."""
    case = drafted(case, now)
    for party in case.parties:
        case = sign_party(case, party, now)
    return seal(sign_mediator(case, now), now)


def without_timeline(case: Case) -> Case:
    return replace(case, timeline=())
