"""Protobuf enum numbers <-> the domain's string values, one table per enum."""

from __future__ import annotations

from collections.abc import Mapping


class EnumMap:
    def __init__(self, pairs: Mapping[int, str]):
        self._to_domain = dict(pairs)
        self._to_proto = {v: k for k, v in pairs.items()}

    def to_proto(self, value: str) -> int:
        return self._to_proto.get(value, 0)

    def to_domain(self, number: int) -> str | None:
        """None for UNSPECIFIED or a number this build does not know."""
        return self._to_domain.get(number)


def _common_maps() -> tuple[EnumMap, EnumMap]:
    from liandiao.common.v1 import common_pb2 as c

    source = EnumMap({
        c.CASE_SOURCE_PARTY_APPLICATION: "party_application",
        c.CASE_SOURCE_OWN_INITIATIVE: "own_initiative",
        c.CASE_SOURCE_POLICE_REFERRAL: "police_referral",
        c.CASE_SOURCE_COURT_DELEGATION: "court_delegation",
        c.CASE_SOURCE_COURT_COMMISSION: "court_commission",
        c.CASE_SOURCE_DEPARTMENT_REFERRAL: "department_referral",
        c.CASE_SOURCE_ONLINE: "online",
    })
    procedure = EnumMap({c.COURT_PROCEDURE_ORDINARY: "ordinary", c.COURT_PROCEDURE_SIMPLIFIED: "simplified"})
    return source, procedure


# common.v1 enums every service reads, with the domain's string values.
CASE_SOURCE, COURT_PROCEDURE = _common_maps()
