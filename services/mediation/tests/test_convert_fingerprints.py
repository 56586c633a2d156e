"""agreement-effective carries each party's phone and address as keyed fingerprints (for
confirmation's false-mediation signals), never the text."""

from __future__ import annotations

from dataclasses import replace

from liandiao.pii import PiiCipher
from services.mediation import convert
from services.mediation.tests.domain_builders import APPLICANT, RESPONDENT, complete_content, new_case

CIPHER = PiiCipher(b"k" * 32)


def test_phones_and_addresses_leave_as_fingerprints_that_match_when_the_text_matches():
    case = new_case()
    content = complete_content(case)
    same_place = replace(content.parties[1], address=" 内蒙古通辽市 科尔沁区某村", phone="+8613800000000")
    content = replace(content, parties=(content.parties[0], same_place))
    out = convert.agreement_content(content, case, full=False)
    convert.contact_fingerprints(out, content, CIPHER.fingerprint)
    zhang, li = (next(p for p in out.parties if p.party_id == x.party_id) for x in (APPLICANT, RESPONDENT))
    assert zhang.phone == "" and zhang.address == ""   # the text stays in mediation
    assert zhang.phone_fingerprint == li.phone_fingerprint == CIPHER.fingerprint("13800000000")
    assert zhang.address_fingerprint == li.address_fingerprint != ""
    other = replace(content.parties[1], address="内蒙古通辽市开鲁县某村", phone="13900000000")
    out = convert.agreement_content(replace(content, parties=(content.parties[0], other)), case, full=False)
    convert.contact_fingerprints(out, replace(content, parties=(content.parties[0], other)), CIPHER.fingerprint)
    assert out.parties[0].phone_fingerprint != out.parties[1].phone_fingerprint
    assert out.parties[0].address_fingerprint != out.parties[1].address_fingerprint
