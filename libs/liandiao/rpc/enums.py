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
