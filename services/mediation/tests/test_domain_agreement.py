"""The agreement: structured PML Art.29 content, one canonical document whose SM3 digest every
signature covers, the committee seal (SM2, key id), who must sign before it takes effect
(PML Art.29; SPC-Online Art.19), changes after a signature, oral agreements (PML Art.28, 30),
and what `agreement-effective` carries."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import date, timedelta

import pytest

from liandiao.errors import InvalidInput
from liandiao.signing import KeyEntry, KeyRing, PrivateKey, Signer, sm3_hex
from services.mediation.domain.agreement import (
    ApplySeal,
    DiscardDraft,
    DraftAgreement,
    EditAgreement,
    RecordOralAgreement,
    SignAgreement,
    decide_apply_seal,
    decide_discard_draft,
    decide_draft_agreement,
    decide_edit_agreement,
    decide_oral_effective,
    decide_record_oral_agreement,
    decide_sign,
    missing_signers,
)
from services.mediation.domain.clock import decide_expiry
from services.mediation.domain.content import (
    AgreementMode,
    Money,
    SignatureMethod,
    SignerRole,
    Thing,
)
from services.mediation.domain.document import FORMAT, canonical_document, verify_agreement
from services.mediation.domain.errors import (
    ActorNotAllowed,
    AgreementIncomplete,
    AlreadySigned,
    SealInvalid,
    StaleDigest,
    TransitionNotAllowed,
    WrongAgreementMode,
)
from services.mediation.domain.events import AgreementAmended, AgreementEffective, AgreementSigned
from services.mediation.domain.model import CaseSource
from services.mediation.domain.states import AgreementState, CaseState, SessionState
from services.mediation.tests.domain_builders import (
    APPLICANT,
    CLERK,
    COURT,
    KEYS,
    MEDIATOR,
    ORG,
    OTHER_ORG,
    RESPONDENT,
    SIGNER,
    at,
    complete_content,
    drafted,
    first_moment_after,
    in_session,
    new_case,
    party_actor,
    seal,
    sign_mediator,
    sign_party,
)

NOW = at(2026, 3, 5, 15)


def _signed_by_everyone_but_the_seal(case=None):
    case = drafted(case or in_session(new_case()), NOW)
    for party in case.parties:
        case = sign_party(case, party, NOW)
    return sign_mediator(case, NOW)


# ---- the canonical document and its digest ------------------------------------------------------

def test_canonical_document_is_sorted_compact_utf8_json_with_integer_money():
    agreement = drafted(new_case(), NOW).agreement
    document = canonical_document(agreement)
    assert document == canonical_document(agreement)
    text = document.decode("utf-8")
    assert "张三" in text and "\\u" not in text and ": " not in text and ", " not in text
    parsed = json.loads(text)
    assert parsed["format"] == FORMAT and parsed["version"] == 1 and parsed["copies"] == 3
    assert list(parsed) == sorted(parsed)
    assert parsed["content"]["terms"][0]["owed"] == {"kind": "money", "amount_fen": 150000, "currency": "CNY"}
    assert parsed["content"]["terms"][0]["deadline"] == "2026-04-30"
    assert json.dumps(parsed, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() == document
    assert agreement.digest == sm3_hex(document) and len(agreement.digest) == 64


def test_the_jurisdiction_places_are_signed_when_recorded_and_absent_otherwise():
    """CPL 2023 Art.205: the parties' domiciles and the subject matter's place travel to the
    court; an agreement signed before they were recorded keeps the bytes it was signed as."""
    agreement = drafted(new_case(), NOW).agreement
    plain = json.loads(canonical_document(agreement))
    assert "subject_matter_region" not in plain["content"]
    assert all("domicile_region" not in p for p in plain["content"]["parties"])
    content = agreement.content
    placed = replace(content, subject_matter_region="150525200",
                     parties=tuple(replace(p, domicile_region="150523") for p in content.parties))
    with_places = replace(agreement, content=placed)
    parsed = json.loads(canonical_document(with_places))
    assert parsed["content"]["subject_matter_region"] == "150525200"
    assert [p["domicile_region"] for p in parsed["content"]["parties"]] == ["150523", "150523"]
    assert sm3_hex(canonical_document(with_places)) != agreement.digest
    from services.mediation import convert
    carried = convert.agreement_content(placed, None, False)
    assert carried.subject_matter_region == "150525200" and carried.parties[0].domicile_region == "150523"


def test_decomposed_and_composed_text_sign_the_same_document():
    case = new_case()
    content = complete_content(case)
    nfd = replace(content, facts=unicodedata.normalize("NFD", "Café 院墙 ") + content.facts)
    nfc = replace(content, facts=unicodedata.normalize("NFC", "Café 院墙 ") + content.facts)
    assert nfd.facts != nfc.facts
    a = decide_draft_agreement(case, DraftAgreement(agreement_id="ag-1", mode=AgreementMode.WRITTEN, actor=MEDIATOR,
                                                    content=nfd), NOW).case.agreement
    b = decide_draft_agreement(case, DraftAgreement(agreement_id="ag-1", mode=AgreementMode.WRITTEN, actor=MEDIATOR,
                                                    content=nfc), NOW).case.agreement
    assert a.digest == b.digest


def test_one_changed_character_changes_the_digest_and_breaks_every_signature():
    case = seal(_signed_by_everyone_but_the_seal(), NOW)
    agreement = case.agreement
    assert agreement.state is AgreementState.EFFECTIVE and verify_agreement(agreement, KEYS).ok
    tampered = replace(agreement, content=replace(agreement.content,
                                                  facts=agreement.content.facts.replace("三米", "二米")))
    check = verify_agreement(tampered, KEYS)
    assert not check.ok and not check.digest_matches and check.seal_valid is False
    assert set(check.broken_signatures) == {"p-a", "p-r", "med-1"}
    # and at the bytes level: the seal's SM2 signature does not cover the changed document's digest
    assert not KEYS.verify(agreement.seal.signature, bytes.fromhex(sm3_hex(canonical_document(tampered))), ORG)


# ---- structure and completeness -----------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    (lambda c: replace(c, parties=c.parties[:1]), "content.parties"),
    (lambda c: replace(c, terms=(replace(c.terms[0], obligee_id="p-x"),)), "content.terms[0]"),
    (lambda c: replace(c, terms=(replace(c.terms[0], obligee_id="p-r"),)), "content.terms[0]"),
    (lambda c: replace(c, terms=(replace(c.terms[0], obligation=Money(-1)),)), "content.terms[0].amount_fen"),
    (lambda c: replace(c, terms=(replace(c.terms[0], obligation=Money(1.5)),)), "content.terms[0].amount_fen"),
    (lambda c: replace(c, terms=(replace(c.terms[0], obligation=Money(100, "RMB元")),)),
     "content.terms[0].currency"),
    (lambda c: replace(c, responsibilities=c.responsibilities * 2), "content.responsibilities[2]"),
    (lambda c: replace(c, parties=(replace(c.parties[0], side=c.parties[1].side), c.parties[1])),
     "content.parties[0].side"),
])
def test_structural_mistakes_are_refused_at_drafting(change, field):
    case = new_case()
    with pytest.raises(InvalidInput) as bad:
        decide_draft_agreement(case, DraftAgreement(agreement_id="ag-1", mode=AgreementMode.WRITTEN, actor=MEDIATOR,
                                                    content=change(complete_content(case))), NOW)
    assert bad.value.violations[0].field == field


def test_an_incomplete_agreement_cannot_be_signed_or_sealed():
    case = new_case()
    content = complete_content(case)
    content = replace(content, issues=(), terms=(replace(content.terms[0], obligation=Money(0), deadline=None),
                                                 replace(content.terms[1], deadline=date(2026, 3, 1))))
    case = decide_draft_agreement(case, DraftAgreement(agreement_id="ag-1", mode=AgreementMode.WRITTEN,
                                                       actor=MEDIATOR, content=content), NOW).case
    with pytest.raises(AgreementIncomplete) as refused:
        sign_party(case, APPLICANT, NOW)
    fields = [v.field for v in refused.value.violations]
    assert fields == ["content.issues", "content.terms[0].amount_fen", "content.terms[0].deadline",
                      "content.terms[1].deadline"]
    assert "2026-03-01 has passed" in str(refused.value)
    with pytest.raises(AgreementIncomplete):
        seal(case, NOW)


# ---- who signs, and when it takes effect --------------------------------------------------------

def test_written_agreement_takes_effect_with_every_party_the_mediator_and_the_seal():
    case = drafted(in_session(new_case()), NOW)
    assert missing_signers(case.agreement, case) == ("p-a", "p-r", "med-1", "seal")
    case = sign_party(case, APPLICANT, NOW)
    case = sign_party(case, RESPONDENT, NOW, SignatureMethod.FINGERPRINT)
    case = sign_mediator(case, NOW)
    assert case.state is CaseState.AGREEMENT_DRAFTED and missing_signers(case.agreement, case) == ("seal",)
    sealed = decide_apply_seal(case, ApplySeal(signature=SIGNER.sign(bytes.fromhex(case.agreement.digest)),
                                               actor=CLERK), NOW + timedelta(minutes=5), KEYS)
    assert sealed.case.state is CaseState.AGREEMENT_EFFECTIVE
    agreement = sealed.case.agreement
    assert agreement.state is AgreementState.EFFECTIVE and agreement.effective_on == date(2026, 3, 5)
    assert [(s.signer_id, s.method) for s in agreement.signatures] == [
        ("p-a", SignatureMethod.PAPER_IN_PERSON), ("p-r", SignatureMethod.FINGERPRINT),
        ("med-1", SignatureMethod.PAPER_IN_PERSON)]
    assert all(s.signed_at == NOW and s.recorded_by == "med-1" for s in agreement.signatures)
    assert agreement.seal.signature.key_id == SIGNER.key_id
    assert [e.__class__.__name__ for e in sealed.events] == ["SealApplied", "AgreementEffective"]
    # the scheduled session is called off: there is nothing left to mediate
    assert sealed.case.sessions[0].state is SessionState.CANCELLED


def test_missing_seal_is_not_effective():
    case = _signed_by_everyone_but_the_seal()
    assert case.state is CaseState.AGREEMENT_DRAFTED and case.agreement.state is AgreementState.DRAFT
    assert missing_signers(case.agreement, case) == ("seal",)


def test_a_party_missing_is_not_effective():
    case = drafted(new_case(), NOW)
    case = seal(sign_mediator(sign_party(case, APPLICANT, NOW), NOW), NOW)
    assert case.state is CaseState.AGREEMENT_DRAFTED and missing_signers(case.agreement, case) == ("p-r",)
    signed = decide_sign(case, SignAgreement(signer_id="p-r", role=SignerRole.PARTY,
                                             method=SignatureMethod.PAPER_IN_PERSON, digest=case.agreement.digest,
                                             actor=MEDIATOR), NOW)
    assert signed.case.state is CaseState.AGREEMENT_EFFECTIVE
    assert isinstance(signed.events[0], AgreementSigned) and signed.events[0].waiting_for == ()


def test_the_presiding_mediator_must_sign():
    case = drafted(new_case(), NOW)
    case = seal(sign_party(sign_party(case, APPLICANT, NOW), RESPONDENT, NOW), NOW)
    assert missing_signers(case.agreement, case) == ("med-1",)


def test_online_agreement_takes_effect_when_every_party_e_signed():
    case = drafted(new_case(), NOW, mode=AgreementMode.ONLINE)
    case = sign_party(case, APPLICANT, NOW, SignatureMethod.ONLINE_E_SIGNATURE)
    assert missing_signers(case.agreement, case) == ("p-r",)
    decision = decide_sign(case, SignAgreement(signer_id="p-r", role=SignerRole.PARTY,
                                               method=SignatureMethod.ONLINE_E_SIGNATURE,
                                               digest=case.agreement.digest, actor=party_actor(RESPONDENT),
                                               one_time_code_ref="otp-77"), NOW)
    assert decision.case.state is CaseState.AGREEMENT_EFFECTIVE and decision.case.agreement.seal is None
    assert decision.case.agreement.signatures[1].one_time_code_ref == "otp-77"


def test_online_agreement_with_a_paper_signature_needs_the_written_route():
    case = drafted(new_case(), NOW, mode=AgreementMode.ONLINE)
    case = sign_party(sign_party(case, APPLICANT, NOW, SignatureMethod.ONLINE_E_SIGNATURE), RESPONDENT, NOW)
    assert case.state is CaseState.AGREEMENT_DRAFTED and missing_signers(case.agreement, case) == ("p-r",)
    assert seal(sign_mediator(case, NOW), NOW).state is CaseState.AGREEMENT_EFFECTIVE


def test_a_written_agreement_is_not_effective_by_e_signatures_alone():
    case = drafted(new_case(), NOW)
    for party in case.parties:
        case = sign_party(case, party, NOW, SignatureMethod.ONLINE_E_SIGNATURE)
    assert missing_signers(case.agreement, case) == ("med-1", "seal")


@pytest.mark.parametrize("command, error, match", [
    (dict(signer_id="p-a", method=SignatureMethod.ONLINE_E_SIGNATURE, actor=party_actor(APPLICANT)),
     InvalidInput, "one-time code"),
    (dict(signer_id="p-a", method=SignatureMethod.ONLINE_E_SIGNATURE, actor=MEDIATOR, one_time_code_ref="otp"),
     ActorNotAllowed, "e-signs for itself"),
    (dict(signer_id="p-a", method=SignatureMethod.ONLINE_E_SIGNATURE, actor=party_actor(RESPONDENT),
          one_time_code_ref="otp"), ActorNotAllowed, "e-signs for itself"),
    (dict(signer_id="p-a", method=SignatureMethod.PAPER_IN_PERSON, actor=party_actor(APPLICANT)),
     ActorNotAllowed, "recorded by the mediator"),
    (dict(signer_id="p-x", method=SignatureMethod.PAPER_IN_PERSON, actor=MEDIATOR), InvalidInput, "signer_id"),
])
def test_signature_rules(command, error, match):
    case = drafted(new_case(), NOW)
    with pytest.raises(error, match=match):
        decide_sign(case, SignAgreement(role=SignerRole.PARTY, digest=case.agreement.digest,
                                        **{"one_time_code_ref": "", **command}), NOW)


def test_a_mediator_signs_only_for_themselves_and_nobody_signs_twice():
    case = drafted(new_case(), NOW)
    with pytest.raises(ActorNotAllowed, match="only for themselves"):
        decide_sign(case, SignAgreement(signer_id="med-1", role=SignerRole.MEDIATOR,
                                        method=SignatureMethod.PAPER_IN_PERSON, digest=case.agreement.digest,
                                        actor=party_actor(APPLICANT)), NOW)
    signed = sign_party(case, APPLICANT, NOW)
    with pytest.raises(AlreadySigned):
        sign_party(signed, APPLICANT, NOW)


def test_a_signature_must_cover_the_current_digest():
    case = drafted(new_case(), NOW)
    with pytest.raises(StaleDigest):
        decide_sign(case, SignAgreement(signer_id="p-a", role=SignerRole.PARTY, method=SignatureMethod.PAPER_IN_PERSON,
                                        digest="00" * 32, actor=MEDIATOR), NOW)


# ---- the seal -------------------------------------------------------------------------------------

def test_seal_must_be_the_organizations_key_over_this_digest():
    case = _signed_by_everyone_but_the_seal()
    digest = bytes.fromhex(case.agreement.digest)
    stranger = PrivateKey.generate()
    other_org = Signer("committee-150503-07.2026a", OTHER_ORG, stranger)
    ring = KEYS.with_entry(KeyEntry(other_org.key_id, OTHER_ORG, stranger.public_key()))
    attempts = [
        (other_org.sign(digest), ring, "belongs to another organization"),
        (Signer("unknown.1", ORG, stranger).sign(digest), KEYS, "unknown key id"),
        (SIGNER.sign(bytes(32)), KEYS, "not a signature of digest"),
        (replace(SIGNER.sign(digest), key_id=SIGNER.key_id, value=other_org.sign(digest).value), KEYS,
         "not a signature"),
    ]
    for signature, keys, why in attempts:
        with pytest.raises(SealInvalid, match=why):
            decide_apply_seal(case, ApplySeal(signature=signature, actor=CLERK), NOW, keys)
    sealed = seal(case, NOW)
    assert sealed.state is CaseState.AGREEMENT_EFFECTIVE
    with pytest.raises(TransitionNotAllowed):
        decide_apply_seal(sealed, ApplySeal(signature=SIGNER.sign(digest), actor=CLERK), NOW, KEYS)


def test_the_seal_is_applied_once_per_version():
    case = seal(drafted(new_case(), NOW), NOW)
    with pytest.raises(AlreadySigned, match="seal"):
        seal(case, NOW)


def test_an_old_agreement_still_verifies_after_a_key_rotation():
    old_case = seal(_signed_by_everyone_but_the_seal(), NOW)
    new_key = PrivateKey.generate()
    rotated = KeyRing([KeyEntry(SIGNER.key_id, ORG, SIGNER.private_key.public_key(), retired=True),
                       KeyEntry("committee-150502-01.2027a", ORG, new_key.public_key())])
    assert verify_agreement(old_case.agreement, rotated).ok
    new_signer = Signer("committee-150502-01.2027a", ORG, new_key)
    new_case_sealed = seal(_signed_by_everyone_but_the_seal(), NOW, signer=new_signer, keys=rotated)
    assert new_case_sealed.agreement.seal.signature.key_id == "committee-150502-01.2027a"
    assert verify_agreement(new_case_sealed.agreement, rotated).ok
    # without the old public key the old seal cannot be checked: rotation must keep it
    assert verify_agreement(old_case.agreement, KeyRing([rotated.entry("committee-150502-01.2027a")])).seal_valid \
        is False


# ---- changes after a signature ------------------------------------------------------------------

def test_any_change_after_a_signature_invalidates_every_signature_and_the_seal():
    case = seal(sign_party(drafted(new_case(), NOW), APPLICANT, NOW), NOW)
    before = case.agreement
    content = replace(before.content, terms=(replace(before.content.terms[0], obligation=Money(120000)),
                                             before.content.terms[1]))
    decision = decide_edit_agreement(case, EditAgreement(content=content, actor=MEDIATOR), NOW + timedelta(hours=1))
    after = decision.case.agreement
    assert after.version == 2 and after.digest != before.digest and after.state is AgreementState.DRAFT
    assert after.signatures == () and after.seal is None and decision.case.state is CaseState.AGREEMENT_DRAFTED
    (event,) = decision.events
    assert isinstance(event, AgreementAmended) and event.signatures_invalidated == 1 and event.seal_invalidated
    assert "1 signatures and the seal no longer valid" in decision.case.timeline[-1].reason
    with pytest.raises(StaleDigest):  # the applicant's old digest no longer signs anything
        decide_sign(decision.case, SignAgreement(signer_id="p-a", role=SignerRole.PARTY,
                                                 method=SignatureMethod.PAPER_IN_PERSON, digest=before.digest,
                                                 actor=MEDIATOR), NOW)
    with pytest.raises(InvalidInput, match="nothing changed"):
        decide_edit_agreement(decision.case, EditAgreement(content=content, actor=MEDIATOR), NOW)


def test_an_effective_agreement_is_not_edited():
    case = seal(_signed_by_everyone_but_the_seal(), NOW)
    with pytest.raises(TransitionNotAllowed):
        decide_edit_agreement(case, EditAgreement(content=complete_content(case), actor=MEDIATOR), NOW)


def test_a_discarded_draft_is_void_and_mediation_goes_on():
    case = drafted(in_session(new_case()), NOW)
    decision = decide_discard_draft(case, DiscardDraft(reason="被申请人不接受赔偿数额", actor=MEDIATOR), NOW)
    assert decision.case.state is CaseState.IN_SESSION and decision.case.agreement is None
    assert decision.case.agreements[0].state is AgreementState.VOID
    again = decide_draft_agreement(decision.case, DraftAgreement(
        agreement_id="ag-2", mode=AgreementMode.WRITTEN, actor=MEDIATOR, content=complete_content(case)), NOW)
    assert again.case.agreement.agreement_id == "ag-2" and len(again.case.agreements) == 2
    with pytest.raises(InvalidInput, match="already used"):
        decide_draft_agreement(decision.case, DraftAgreement(
            agreement_id="ag-1", mode=AgreementMode.WRITTEN, actor=MEDIATOR, content=complete_content(case)), NOW)


# ---- what agreement-effective carries -----------------------------------------------------------

def test_agreement_effective_carries_what_confirmation_needs():
    case = _signed_by_everyone_but_the_seal(in_session(new_case(CaseSource.COURT_DELEGATION)))
    decision = decide_apply_seal(case, ApplySeal(signature=SIGNER.sign(bytes.fromhex(case.agreement.digest)),
                                                 actor=CLERK), NOW, KEYS)
    event = decision.events[-1]
    assert isinstance(event, AgreementEffective)
    assert event.content == decision.case.agreement.content and event.digest == sm3_hex(event.document)
    assert event.effective_on == date(2026, 3, 5) and event.effective_at == NOW
    assert event.organization_id == ORG and event.referring_org_id == COURT
    assert event.source is CaseSource.COURT_DELEGATION
    assert [p.party_id for p in event.parties] == ["p-a", "p-r"] and event.parties[0].id_number
    assert event.copies == 3 == decision.case.agreement.copies  # one per party, one for the committee
    assert event.seal.signature.key_id == SIGNER.key_id and len(event.signatures) == 3
    assert event.mediator_ids == ("med-1",) and event.mode is AgreementMode.WRITTEN
    assert KEYS.verify(event.seal.signature, bytes.fromhex(event.digest), ORG)


# ---- oral agreements ----------------------------------------------------------------------------

def _oral(case, agreed_on, now=NOW, content=None):
    content = content or complete_content(case)
    return decide_record_oral_agreement(case, RecordOralAgreement(agreement_id="ag-o", content=content,
                                                                  agreed_on=agreed_on, actor=MEDIATOR), now)


def test_an_oral_agreement_agreed_today_is_effective_at_once():
    case = new_case()
    content = complete_content(case)
    # names suffice for an oral agreement: no ID numbers or addresses recorded
    content = replace(content, parties=tuple(replace(p, id_number="", address="") for p in content.parties))
    decision = _oral(in_session(case), date(2026, 3, 5), content=content)
    assert decision.case.state is CaseState.AGREEMENT_EFFECTIVE
    effective = decision.events[-1]
    assert isinstance(effective, AgreementEffective) and effective.mode is AgreementMode.ORAL
    assert effective.effective_on == date(2026, 3, 5) and effective.seal is None and effective.signatures == ()


def test_an_oral_agreement_takes_effect_on_the_agreed_date():
    case = _oral(in_session(new_case()), date(2026, 3, 9)).case
    assert case.state is CaseState.AGREEMENT_DRAFTED and case.agreement.agreed_on == date(2026, 3, 9)
    assert decide_oral_effective(case, at(2026, 3, 8, 23, 59)) is None
    decision = decide_oral_effective(case, at(2026, 3, 9, 0, 0))
    assert decision.case.state is CaseState.AGREEMENT_EFFECTIVE
    assert decision.case.agreement.effective_on == date(2026, 3, 9)
    assert decision.case.timeline[-1].actor.role.value == "system"


def test_an_oral_agreement_reached_earlier_is_effective_from_that_day():
    case = new_case(accepted_at=at(2026, 3, 2))
    assert _oral(case, date(2026, 3, 3)).case.agreement.effective_on == date(2026, 3, 3)
    with pytest.raises(InvalidInput, match="before the case was accepted"):
        _oral(case, date(2026, 3, 1))


def test_an_oral_agreement_waiting_for_its_date_does_not_expire():
    case = _oral(new_case(CaseSource.COURT_COMMISSION), date(2026, 3, 20))  # period ends 17 Mar
    assert decide_expiry(case.case, first_moment_after(date(2026, 3, 17))) is None


def test_an_oral_agreement_is_neither_signed_nor_sealed():
    case = _oral(new_case(), date(2026, 3, 20)).case
    with pytest.raises(WrongAgreementMode):
        sign_party(case, APPLICANT, NOW)
    with pytest.raises(WrongAgreementMode):
        seal(case, NOW)
    with pytest.raises(WrongAgreementMode):
        decide_draft_agreement(new_case(), DraftAgreement(agreement_id="x", mode=AgreementMode.ORAL, actor=MEDIATOR),
                               NOW)


def test_a_thing_is_owed_too():
    case = new_case()
    content = complete_content(case)
    content = replace(content, terms=(replace(content.terms[0], obligation=Thing("拖拉机", "1台")),))
    agreement = decide_draft_agreement(case, DraftAgreement(agreement_id="ag-1", mode=AgreementMode.WRITTEN,
                                                            actor=MEDIATOR, content=content), NOW).case.agreement
    owed = json.loads(canonical_document(agreement))["content"]["terms"][0]["owed"]
    assert owed == {"kind": "thing", "description": "拖拉机", "quantity": "1台"}
