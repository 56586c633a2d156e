"""The mediation agreement (调解协议书) as data: PML Art.29's fields, structured, and the
signatures and seal that bind one exact version of it.

PML Art.29 para.1 lists what the agreement states: (1) each party's basic details; (2) the
main facts of the dispute, the issues in dispute and each party's responsibility; (3) what the
parties agreed through mediation, with the manner and deadline of performance. Para.2: it is
effective once every party has signed, sealed or fingerprinted, the mediator has signed and the
committee's seal is applied; each party keeps one copy and the committee one.
SPC-Online Art.19: online, it is effective once every party has e-signed.
PML Art.28, 30: an oral agreement is recorded by the mediator and is effective on the date the
parties reached it (the date they state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from liandiao.signing import Signature
from services.mediation.domain.states import AgreementState


class PartySide(Enum):
    APPLICANT = "applicant"  # 申请人
    RESPONDENT = "respondent"  # 被申请人


class PartyKind(Enum):
    NATURAL_PERSON = "natural_person"
    ORGANIZATION = "organization"


class AgreementMode(Enum):
    WRITTEN = "written"  # PML Art.29: parties, mediator, committee seal
    ONLINE = "online"  # SPC-Online Art.19: every party e-signs
    ORAL = "oral"  # PML Art.28, 30: recorded by the mediator


class SignatureMethod(Enum):
    PAPER_IN_PERSON = "paper_in_person"  # 签名或盖章, on the paper copy, before the mediator
    FINGERPRINT = "fingerprint"  # 按指印
    ONLINE_E_SIGNATURE = "online_e_signature"  # e-signature confirmed with a one-time code


class SignerRole(Enum):
    PARTY = "party"
    MEDIATOR = "mediator"


@dataclass(frozen=True, kw_only=True)
class PartyDetails:
    """A party's basic details as the agreement states them (PML Art.29 (1)). A natural
    person: name, gender, ethnicity, birth date, ID number, address; an organization: name,
    unified social credit code, legal representative, address."""

    party_id: str
    name: str
    side: PartySide
    kind: PartyKind
    gender: str = ""
    ethnicity: str = ""
    birth_date: date | None = None
    id_number: str = ""
    address: str = ""
    phone: str = ""
    legal_representative: str = ""
    credit_code: str = ""
    domicile_region: str = ""  # GB/T 2260: where the party is domiciled (CPL 2023 Art.205 item 2)


@dataclass(frozen=True)
class Money:
    """An amount in minor units (fen for CNY: 1 yuan = 100 fen), never a float."""

    amount_fen: int
    currency: str = "CNY"


@dataclass(frozen=True)
class Act:
    """Something to be done (or refrained from): repair the wall, apologise, stop the noise."""

    description: str


@dataclass(frozen=True)
class Thing:
    """A thing to be handed over or returned."""

    description: str
    quantity: str = ""


Obligation = Money | Act | Thing


@dataclass(frozen=True, kw_only=True)
class Term:
    """One agreed term (PML Art.29 (3)): who owes whom what, how and by when."""

    obligor_id: str
    obligee_id: str
    obligation: Obligation
    manner: str  # 履行方式: e.g. "一次性银行转账", "分三期现金支付"
    deadline: date | None  # 履行期限: the last day of performance (China date)


@dataclass(frozen=True)
class Responsibility:
    """A party's responsibility for the dispute (PML Art.29 (2)); "无" where none."""

    party_id: str
    text: str


@dataclass(frozen=True, kw_only=True)
class AgreementContent:
    parties: tuple[PartyDetails, ...]
    facts: str
    issues: tuple[str, ...]
    responsibilities: tuple[Responsibility, ...]
    terms: tuple[Term, ...]
    other_terms: str = ""  # e.g. "双方就本纠纷再无其他争议"
    subject_matter_region: str = ""  # GB/T 2260: where the subject matter lies (CPL 2023 Art.205 item 2)


@dataclass(frozen=True, kw_only=True)
class PartySignature:
    """A signature by a party or a mediator on one version (its digest) of the agreement."""

    signer_id: str
    role: SignerRole
    method: SignatureMethod
    signed_at: datetime
    digest: str  # SM3 (hex) of the canonical document the signer was shown
    recorded_by: str  # the person who recorded it: the mediator, or the party online
    one_time_code_ref: str = ""  # the verified one-time code challenge, online only


@dataclass(frozen=True, kw_only=True)
class Seal:
    """The committee's seal: an SM2 signature by the organization's key over the digest."""

    organization_id: str
    signature: Signature
    digest: str
    applied_at: datetime
    applied_by: str


@dataclass(frozen=True, kw_only=True)
class Agreement:
    agreement_id: str
    case_id: str
    organization_id: str
    version: int  # 1 at drafting, +1 at every change; part of the signed document
    mode: AgreementMode
    state: AgreementState
    content: AgreementContent
    template_key: str
    digest: str  # SM3 (hex) of canonical_document(this version)
    drafted_at: datetime
    signatures: tuple[PartySignature, ...] = ()
    seal: Seal | None = None
    agreed_on: date | None = None  # oral: the date the parties state it takes effect
    effective_on: date | None = None
    effective_at: datetime | None = None

    @property
    def copies(self) -> int:
        """One copy per party plus one kept by the committee (PML Art.29 para.2)."""
        return len(self.content.parties) + 1
