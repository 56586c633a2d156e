"""The ruling (裁定) and its one canonical form, the bytes the court's key signs.

Shared: confirmation builds and signs it; the offline verifier, the PDF view
(liandiao.documents.ruling_pdf) and the console read it. It was confirmation's domain module;
it is a document format anyone holding a ruling reads, so it lives in libs.

Outcomes (CPL 2023 Art.206): the agreement is valid, and a party may apply for enforcement
if the other does not perform; or the application is rejected, and the parties may change
the agreement or reach a new one by mediation, or sue. Rejection grounds are those of
SPC-Interp Art.358, plus an Art.355 ground found only after acceptance (Art.355 para.2).
Sole judge (CPL 2023 Art.185); no fee (SPC-2011 Art.11).

Canonical form (format liandiao-ruling/1): UTF-8, NFC, one field per line in a fixed order,
"标签：值", LF after every line, no trailing spaces. List entries and the lines of the reasons
sit on their own lines indented by two spaces (entries start "  - "), so no value can start
a field of its own: the rendering is injective, and `parse_ruling` inverts it. Text is
normalized when the document is built (NFC; runs of whitespace in one-line fields become
one space; the reasons keep their non-empty lines, stripped), so equal documents render to
equal bytes. The legal basis and the notice are derived from the outcome, not free text.
Signing is someone else's job: any object with the RulingSigner / RulingVerifier shape.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol


class Side(StrEnum):
    """The two sides of the dispute (甲方 / 乙方). A joint application needs every party of both."""

    APPLICANT = "applicant"
    RESPONDENT = "respondent"


class Asks(StrEnum):
    PAYMENT = "payment"  # money, in fen
    ACT = "act"  # do or refrain from an act (apologise, remove a wall, visitation)
    THING = "thing"  # deliver or transfer a specific thing
    STATUS = "status"  # declare an identity relationship valid, void or dissolved
    OWNERSHIP = "ownership"  # declare who owns property or an IP right (确权)
    SPECIAL_PROCEDURE = "special_procedure"  # a matter of another special procedure, summons, bankruptcy
    NON_CIVIL = "non_civil"  # outside the courts' civil remit (e.g. an administrative sanction)


FORMAT = "liandiao-ruling/1"
TITLE = "民事裁定书"


class Outcome(StrEnum):
    VALID = "valid"
    REJECTED = "rejected"


class RejectionGround(StrEnum):
    MANDATORY_LAW = "art358_1"  # 违反法律强制性规定
    HARMS_OTHERS = "art358_2"  # 损害国家利益、社会公共利益、他人合法权益
    PUBLIC_ORDER = "art358_3"  # 违背公序良俗
    NOT_VOLUNTARY = "art358_4"  # 违反自愿原则
    UNCLEAR = "art358_5"  # 内容不明确
    OTHER = "art358_6"  # 其他不能进行司法确认的情形
    INADMISSIBLE = "art355_2"  # an Art.355 ground found after acceptance

    @property
    def citation(self) -> str:
        if self is RejectionGround.INADMISSIBLE:
            return "SPC-Interp Art.355 para.2"
        return f"SPC-Interp Art.358 item {self.value[-1]}"

    @property
    def label(self) -> str:
        return _GROUND_LABELS[self]


_GROUND_LABELS = {
    RejectionGround.MANDATORY_LAW: "违反法律强制性规定",
    RejectionGround.HARMS_OTHERS: "损害国家利益、社会公共利益、他人合法权益",
    RejectionGround.PUBLIC_ORDER: "违背公序良俗",
    RejectionGround.NOT_VOLUNTARY: "违反自愿原则",
    RejectionGround.UNCLEAR: "内容不明确",
    RejectionGround.OTHER: "其他不能进行司法确认的情形",
    RejectionGround.INADMISSIBLE: "受理后发现不应受理",
}
_GROUND_BASIS = {
    **{g: f"《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第三百五十八条第{'一二三四五六'[i]}项"
       for i, g in enumerate(list(RejectionGround)[:6])},
    RejectionGround.INADMISSIBLE: "《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第三百五十五条第二款",
}
_CPL_206 = "《中华人民共和国民事诉讼法》第二百零六条"
_OUTCOME_LABELS = {Outcome.VALID: "确认调解协议有效", Outcome.REJECTED: "驳回申请"}
_NOTICES = {
    Outcome.VALID: "一方当事人拒绝履行或者未全部履行的，对方当事人可以向人民法院申请执行。",
    Outcome.REJECTED: "当事人可以通过调解方式变更原调解协议或者达成新的调解协议，也可以向人民法院提起诉讼。",
}
_SIDE_LABELS = {Side.APPLICANT: "甲方", Side.RESPONDENT: "乙方"}
_ASKS_LABELS = {
    Asks.PAYMENT: "给付金钱", Asks.ACT: "履行行为", Asks.THING: "交付财物", Asks.STATUS: "身份关系",
    Asks.OWNERSHIP: "确认权属", Asks.SPECIAL_PROCEDURE: "特别程序事项", Asks.NON_CIVIL: "非民事事项",
}
_ABSENT = "-"


def legal_basis(outcome: Outcome, ground: RejectionGround | None) -> str:
    if outcome is Outcome.VALID or ground is None:
        return _CPL_206
    return f"{_CPL_206}；{_GROUND_BASIS[ground]}"


def _line(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _token(name: str, text: str) -> str:
    token = unicodedata.normalize("NFC", text).strip()
    if not token or any(c.isspace() for c in token) or token == _ABSENT:
        raise ValueError(f"{name} must be one word, got {text!r}")
    return token


@dataclass(frozen=True)
class DocParty:
    side: Side
    party_id: str
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "party_id", _token("party_id", self.party_id))
        object.__setattr__(self, "name", _line(self.name))
        if not self.name:
            raise ValueError("a party needs a name")


@dataclass(frozen=True)
class DocTerm:
    asks: Asks
    description: str
    amount_fen: int | None = None
    due_on: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", _line(self.description))
        if not self.description:
            raise ValueError("a term needs a description")


@dataclass(frozen=True, kw_only=True)
class RulingDocument:
    court_id: str
    court_name: str
    case_number: str
    ruling_id: str
    application_id: str
    agreement_id: str
    dispute_id: str
    organization_id: str
    organization_name: str
    agreement_effective_on: date
    parties: tuple[DocParty, ...]
    terms: tuple[DocTerm, ...]
    outcome: Outcome
    ground: RejectionGround | None
    reasons: str
    judge_id: str
    judge_name: str
    issued_on: date

    def __post_init__(self) -> None:
        for name in ("court_id", "case_number", "ruling_id", "application_id", "agreement_id", "dispute_id",
                     "organization_id", "judge_id"):
            object.__setattr__(self, name, _token(name, getattr(self, name)))
        for name in ("court_name", "organization_name", "judge_name"):
            object.__setattr__(self, name, _line(getattr(self, name)))
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        lines = [_line(x) for x in unicodedata.normalize("NFC", self.reasons).splitlines()]
        object.__setattr__(self, "reasons", "\n".join(x for x in lines if x))
        if not self.reasons:
            raise ValueError("a ruling gives its reasons")
        if (self.outcome is Outcome.REJECTED) != (self.ground is not None):
            raise ValueError("a rejection has a ground; a valid ruling has none")
        if not self.parties or not self.terms:
            raise ValueError("a ruling names the parties and the terms")

    @property
    def legal_basis(self) -> str:
        return legal_basis(self.outcome, self.ground)


# ---- rendering --------------------------------------------------------------------------------

_FIELDS = (  # (label, attribute) in document order; None marks a block rendered specially
    ("版式", None), ("法院", "court_name"), ("法院标识", "court_id"), ("案号", "case_number"),
    ("裁定标识", "ruling_id"), ("申请标识", "application_id"), ("协议标识", "agreement_id"),
    ("纠纷标识", "dispute_id"), ("调解组织", "organization_name"), ("调解组织标识", "organization_id"),
    ("协议生效日期", "agreement_effective_on"), ("当事人", "parties"), ("协议内容", "terms"),
    ("裁定结果", "outcome"), ("驳回依据", "ground"), ("理由", "reasons"), ("法律依据", "legal_basis"),
    ("告知", "notice"), ("审判员", "judge_name"), ("审判员标识", "judge_id"), ("裁定日期", "issued_on"),
)


def _lines(doc: RulingDocument) -> Iterator[str]:
    yield TITLE
    yield f"版式：{FORMAT}"
    for label, attr in _FIELDS[1:]:
        if attr == "parties":
            yield f"{label}："
            yield from (f"  - {_SIDE_LABELS[p.side]} {p.party_id} {p.name}" for p in doc.parties)
        elif attr == "terms":
            yield f"{label}："
            for n, t in enumerate(doc.terms, start=1):
                amount = str(t.amount_fen) if t.amount_fen is not None else _ABSENT
                due = t.due_on.isoformat() if t.due_on is not None else _ABSENT
                yield f"  - {n} {_ASKS_LABELS[t.asks]} {amount} {due} {t.description}"
        elif attr == "reasons":
            yield f"{label}："
            yield from (f"  {x}" for x in doc.reasons.split("\n"))
        elif attr == "outcome":
            yield f"{label}：{_OUTCOME_LABELS[doc.outcome]}"
        elif attr == "ground":
            yield f"{label}：{_ABSENT}" if doc.ground is None else f"{label}：{doc.ground.value} {doc.ground.label}"
        elif attr == "notice":
            yield f"{label}：{_NOTICES[doc.outcome]}"
        else:
            value = getattr(doc, str(attr))
            yield f"{label}：{value.isoformat() if isinstance(value, date) else value}"


def render_ruling(doc: RulingDocument) -> bytes:
    """The canonical bytes of the ruling: what is digested (SM3) and signed (SM2)."""
    return "".join(f"{line}\n" for line in _lines(doc)).encode("utf-8")


# ---- parsing ----------------------------------------------------------------------------------


class InvalidRulingDocument(ValueError):
    """Bytes that are not a canonical ruling of a known format."""


_SIDES = {v: k for k, v in _SIDE_LABELS.items()}
_ASKS = {v: k for k, v in _ASKS_LABELS.items()}
_OUTCOMES = {v: k for k, v in _OUTCOME_LABELS.items()}
_ENTRY = re.compile(r"  - (.+)")


def parse_ruling(content: bytes) -> RulingDocument:
    """The document whose canonical rendering is exactly `content`; InvalidRulingDocument if none."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRulingDocument("not UTF-8") from exc
    if not text.endswith("\n"):
        raise InvalidRulingDocument("a canonical ruling ends with a newline")
    lines = text[:-1].split("\n")
    if not lines or lines[0] != TITLE:
        raise InvalidRulingDocument(f"does not start with {TITLE}")
    values: dict[str, object] = {}
    i = 1
    try:
        for label, attr in _FIELDS:
            head = lines[i]
            if not head.startswith(f"{label}："):
                raise InvalidRulingDocument(f"line {i + 1}: expected field {label}")
            value, i = head[len(label) + 1:], i + 1
            block: list[str] = []
            while i < len(lines) and lines[i].startswith("  "):
                block.append(lines[i])
                i += 1
            if attr is None:
                if value != FORMAT:
                    raise InvalidRulingDocument(f"unknown format {value!r}")
            elif attr == "parties":
                values[attr] = tuple(_party(b) for b in block)
            elif attr == "terms":
                values[attr] = tuple(_term(n, b) for n, b in enumerate(block, start=1))
            elif attr == "reasons":
                values[attr] = "\n".join(b[2:] for b in block)
            elif attr == "outcome":
                values[attr] = _OUTCOMES[value]
            elif attr == "ground":
                values[attr] = None if value == _ABSENT else RejectionGround(value.split(" ", 1)[0])
            elif attr in ("legal_basis", "notice"):
                values[f"_{attr}"] = value
            elif attr in ("agreement_effective_on", "issued_on"):
                values[attr] = date.fromisoformat(value)
            else:
                values[attr] = value
            if block and attr not in ("parties", "terms", "reasons"):
                raise InvalidRulingDocument(f"field {label} takes no indented lines")
        if i != len(lines):
            raise InvalidRulingDocument(f"line {i + 1}: text after the last field")
        derived = {k: values.pop(k) for k in ("_legal_basis", "_notice")}
        doc = RulingDocument(**values)  # type: ignore[arg-type]
    except InvalidRulingDocument:
        raise
    except (IndexError, KeyError, ValueError, TypeError) as exc:
        raise InvalidRulingDocument(f"malformed ruling: {exc}") from exc
    if derived != {"_legal_basis": doc.legal_basis, "_notice": _NOTICES[doc.outcome]}:
        raise InvalidRulingDocument("the legal basis or notice does not match the outcome")
    if render_ruling(doc) != content:
        raise InvalidRulingDocument("not in canonical form")
    return doc


def _party(entry: str) -> DocParty:
    match = _ENTRY.fullmatch(entry)
    if match is None:
        raise InvalidRulingDocument(f"bad party entry {entry!r}")
    side, party_id, name = match[1].split(" ", 2)
    return DocParty(Side(_SIDES[side]), party_id, name)


def _term(n: int, entry: str) -> DocTerm:
    match = _ENTRY.fullmatch(entry)
    if match is None:
        raise InvalidRulingDocument(f"bad term entry {entry!r}")
    no, asks, amount, due, description = match[1].split(" ", 4)
    if no != str(n):
        raise InvalidRulingDocument(f"term {no} out of order")
    return DocTerm(Asks(_ASKS[asks]), description,
                   None if amount == _ABSENT else int(amount),
                   None if due == _ABSENT else date.fromisoformat(due))


# ---- signing, as the signing library will provide it --------------------------------------------


class RulingSigner(Protocol):
    """Signs with the court's current key: SM2 over the SM3 digest (liandiao.signing)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class RulingVerifier(Protocol):
    """Checks a signature against the published key `key_id`; False for a changed message, a
    wrong or revoked key."""

    def verify(self, message: bytes, signature: bytes, key_id: str) -> bool: ...


@dataclass(frozen=True)
class SignedRuling:
    content: bytes  # render_ruling(document)
    key_id: str
    signature: bytes


def sign_ruling(doc: RulingDocument, signer: RulingSigner) -> SignedRuling:
    content = render_ruling(doc)
    return SignedRuling(content, signer.key_id, signer.sign(content))


def verify_ruling(signed: SignedRuling, verifier: RulingVerifier) -> RulingDocument | None:
    """The document when the signature holds and the content is a canonical ruling; else None."""
    if not verifier.verify(signed.content, signed.signature, signed.key_id):
        return None
    try:
        return parse_ruling(signed.content)
    except InvalidRulingDocument:
        return None
