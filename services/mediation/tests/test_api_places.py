"""The jurisdiction places of an agreement (CPL 2023 Art.205) are checked against the shipped
GB/T 2260 list at the edge, the field named. Pure."""

from __future__ import annotations

import pytest

from liandiao.common.v1 import common_pb2
from liandiao.errors import InvalidInput
from liandiao.mediation.v1 import mediation_pb2 as pb
from services.mediation.api import content


def _content(domicile: str = "", subject_matter: str = "") -> pb.AgreementContent:
    return pb.AgreementContent(subject_matter_region=subject_matter, parties=[pb.AgreementParty(
        party_id="p-a", name="张三", side=common_pb2.PARTY_SIDE_APPLICANT, domicile_region=domicile)])


def test_known_places_are_kept():
    c = content(_content("150523", "150525200"))
    assert c.subject_matter_region == "150525200" and c.parties[0].domicile_region == "150523"


@pytest.mark.parametrize("given, field", [
    (dict(domicile="1505"), "content.parties[0].domicile_region"),        # a prefecture is no place
    (dict(domicile="159999"), "content.parties[0].domicile_region"),      # not in the list
    (dict(subject_matter="abc"), "content.subject_matter_region"),
])
def test_an_unknown_or_too_coarse_place_names_the_field(given, field):
    with pytest.raises(InvalidInput) as exc:
        content(_content(**given))
    assert [v.field for v in exc.value.violations] == [field]
