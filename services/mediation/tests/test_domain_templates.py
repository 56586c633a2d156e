"""Templates per dispute type fill the PML Art.29 fields from the case and leave the numbers to
the mediator: nothing can be signed until they are filled."""

from __future__ import annotations

import pytest

from liandiao.errors import InvalidInput
from liandiao.reference import dispute_types
from services.mediation.domain.agreement import DraftAgreement, decide_draft_agreement, missing_fields
from services.mediation.domain.content import Act, AgreementMode, Money, PartySide
from services.mediation.domain.model import Party
from services.mediation.domain.templates import TEMPLATES, choose, fill, template_for
from services.mediation.tests.domain_builders import APPLICANT, MEDIATOR, RESPONDENT, at, details, new_case

NOW = at(2026, 3, 3)


@pytest.mark.parametrize("dispute_type, key", [
    ("neighbours", "neighbour_damage"),
    ("labour", "wage_arrears"),
    ("traffic_accident", "traffic_compensation"),
    ("marriage_family", "generic"),  # elder support is one family dispute among others: chosen by name
    ("contract", "generic"),
])
def test_default_template_by_dispute_type(dispute_type, key):
    assert template_for(dispute_type).key == key


def test_the_five_templates_exist_and_name_real_dispute_types():
    assert {"neighbour_damage", "elder_support", "wage_arrears", "traffic_compensation", "generic"} <= set(TEMPLATES)
    known = set(dispute_types())
    for template in TEMPLATES.values():
        assert template.applies_to <= known and template.default_for <= template.applies_to | set()


def test_choosing_a_template_that_does_not_fit_is_refused():
    assert choose("marriage_family", "elder_support").key == "elder_support"
    assert choose("labour", "generic").key == "generic"
    with pytest.raises(InvalidInput, match="marriage_family, not labour"):
        choose("labour", "elder_support")
    with pytest.raises(InvalidInput, match="no template 'divorce'"):
        choose("marriage_family", "divorce")


def test_wage_arrears_draft_names_the_employer_as_obligor_and_leaves_the_amount_open():
    case = new_case(dispute_type="labour", summary="2025年6月至12月工资未付。")
    content = fill(TEMPLATES["wage_arrears"], case)
    assert [p.party_id for p in content.parties] == ["p-a", "p-r"]
    (term,) = content.terms
    assert (term.obligor_id, term.obligee_id) == ("p-r", "p-a")
    assert term.obligation == Money(0) and term.deadline is None and "银行转账" in term.manner
    assert "李四未按时足额支付劳动报酬" in content.facts and "2025年6月至12月工资未付。" in content.facts
    problems = {v.field for v in missing_fields(content, NOW.date())}
    assert {"content.terms[0].amount_fen", "content.terms[0].deadline", "content.parties[0].id_number"} <= problems


def test_elder_support_gives_one_term_per_child():
    father = Party(party_id="p-f", name="王老汉", side=PartySide.APPLICANT)
    sons = (Party(party_id="p-s1", name="王大", side=PartySide.RESPONDENT),
            Party(party_id="p-s2", name="王二", side=PartySide.RESPONDENT))
    case = new_case(dispute_type="marriage_family", parties=(father, *sons), summary="")
    content = fill(TEMPLATES["elder_support"], case)
    money = [t for t in content.terms if isinstance(t.obligation, Money)]
    care = [t for t in content.terms if isinstance(t.obligation, Act)]
    assert [t.obligor_id for t in money] == ["p-s1", "p-s2"] == [t.obligor_id for t in care]
    assert all(t.obligee_id == "p-f" for t in content.terms)
    assert "王老汉系王大、王二的长辈" in content.facts
    assert [r.text for r in content.responsibilities][0] == "无"
    assert "第一千零六十七条" in content.responsibilities[1].text


def test_a_template_draft_uses_the_parties_details_and_is_editable():
    case = new_case(dispute_type="neighbours")
    decision = decide_draft_agreement(case, DraftAgreement(agreement_id="ag-1", mode=AgreementMode.WRITTEN,
                                                           actor=MEDIATOR, details=(details(APPLICANT),)), NOW)
    agreement = decision.case.agreement
    assert agreement.template_key == "neighbour_damage" and agreement.version == 1
    assert agreement.content.parties[0].id_number == "150502197005011234"
    assert agreement.content.parties[1].name == RESPONDENT.name and agreement.content.parties[1].id_number == ""
    assert "李四与张三系邻居。李四翻修房屋时损坏张三院墙。" == agreement.content.facts
