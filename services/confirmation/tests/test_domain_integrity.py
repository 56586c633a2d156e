"""The terms confirmation relies on are the terms signed (domain/integrity.py): mediation's
terms document, its SM3, and the projection's parties and terms must agree. Pure."""

from __future__ import annotations

import json

import pytest

from liandiao.common.v1 import common_pb2
from liandiao.mediation.v1 import mediation_pb2 as m
from liandiao.signing import sm3_hex
from services.confirmation.app import agreement_of, from_agreement_effective
from services.confirmation.domain.integrity import TermsNotAsSigned, check_terms_as_signed

SIGNED = "5a" * 32


def _terms_doc(amount: int = 120_000, agreement_id: str = "agr-1", digest: str = SIGNED,
               respondent_side: str = "respondent") -> bytes:
    # mediation's layout (services/mediation/domain/document.py terms_document)
    doc = {"format": "liandiao.agreement-terms/1", "agreement_id": agreement_id, "agreement_digest": digest,
           "parties": [{"party_id": "p-a", "side": "applicant"}, {"party_id": "p-r", "side": respondent_side}],
           "terms": [{"obligor_id": "p-r", "obligee_id": "p-a", "manner": "一次性银行转账", "deadline": "2026-07-01",
                      "owed": {"kind": "money", "amount_fen": amount, "currency": "CNY"}},
                     {"obligor_id": "p-r", "obligee_id": "p-a", "manner": "", "deadline": None,
                      "owed": {"kind": "act", "description": "赔礼道歉"}}]}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _record(terms_doc: bytes | None = None, digest: str | None = None):
    doc = _terms_doc() if terms_doc is None else terms_doc
    e = m.AgreementEffective(
        agreement_id="agr-1", dispute_id="0190f000-0000-7000-8000-000000000002", organization_id="org",
        region_code="150502", digest=SIGNED, terms_document=doc, terms_digest=sm3_hex(doc) if digest is None else digest,
        content=m.AgreementContent(
            parties=[m.AgreementParty(party_id="p-a", name="张三", side=common_pb2.PARTY_SIDE_APPLICANT),
                     m.AgreementParty(party_id="p-r", name="李四", side=common_pb2.PARTY_SIDE_RESPONDENT)],
            terms=[m.Term(obligor_id="p-r", obligee_id="p-a", money=m.Money(amount_fen=120_000, currency="CNY"),
                          manner="一次性银行转账", deadline="2026-07-01"),
                   m.Term(obligor_id="p-r", obligee_id="p-a", act=m.Act(description="赔礼道歉"))]))
    e.effective_at.FromJsonString("2026-06-01T02:00:00Z")
    return from_agreement_effective(e)


def _check(record) -> None:
    check_terms_as_signed(agreement_of(record), record.content_digest, record.terms_document, record.terms_digest)


def test_the_terms_as_signed_pass():
    _check(_record())


def test_a_projection_recorded_before_the_terms_document_has_nothing_to_check():
    r = _record()
    r.ClearField("terms_document")
    r.ClearField("terms_digest")
    _check(r)


def test_a_tampered_amount_in_the_projection_is_refused_naming_the_term():
    r = _record()
    r.terms[0].amount_fen = 1_200_000
    with pytest.raises(TermsNotAsSigned, match="term 1 differs from the signed one"):
        _check(r)


def test_a_dropped_term_is_refused():
    r = _record()
    del r.terms[1]
    with pytest.raises(TermsNotAsSigned, match="1 terms held, 2 signed"):
        _check(r)


@pytest.mark.parametrize("record, why", [
    (lambda: _record(_terms_doc(amount=1)), "term 1 differs"),  # a document that hashes but says otherwise
    (lambda: _record(digest="00" * 32), "do not hash"),
    (lambda: _record(_terms_doc(agreement_id="agr-2")), "another agreement"),
    (lambda: _record(_terms_doc(digest="ee" * 32)), "another signed version"),
    (lambda: _record(_terms_doc(respondent_side="applicant")), "parties differ"),
    (lambda: _record(b"{not json"), "cannot be read"),
])
def test_a_terms_document_that_does_not_match_is_refused(record, why):
    with pytest.raises(TermsNotAsSigned, match=why) as exc:
        _check(record())
    assert exc.value.rule == "confirmation.agreement-digest"
