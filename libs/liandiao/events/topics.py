"""Topic names, shard selection and subscription patterns (DESIGN.md "Events",
"Scale and regions")."""

from __future__ import annotations

import re
from collections.abc import Iterable

from liandiao.events.catalog import EventType

PROVINCE_SHARD = "00"  # province-level facts with no region


def shard_of(region_code: str) -> str:
    """Prefecture shard: the first four digits of a GB/T 2260 code, or ``00``."""
    if not region_code or region_code == PROVINCE_SHARD:
        return PROVINCE_SHARD
    if len(region_code) < 4 or not region_code[:4].isdigit() or region_code[2:4] == "00":
        return PROVINCE_SHARD  # a province-level code (e.g. 150000) has no prefecture
    return region_code[:4]


def topic_name(event: EventType, region_code: str) -> str:
    return f"liandiao.{event.service}.{event.name}.v{event.version}.{shard_of(region_code)}"


def dlq_topic(topic: str, consumer: str) -> str:
    return f"{topic}.dlq.{consumer}"


def subscription_pattern(
    events: Iterable[EventType],
    prefectures: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> str:
    """Regex over topic names: every shard, only ``prefectures`` (a regional release),
    or every shard but ``exclude`` (the province-wide release next to regional ones).
    Dead-letter topics never match (the pattern is anchored after the shard)."""
    names = "|".join(sorted(re.escape(f"{e.service}.{e.name}.v{e.version}") for e in events))
    # A regional release also takes the province-level shard: a provincial court's
    # roster change concerns every region.
    only = sorted(set(prefectures) | {PROVINCE_SHARD}) if prefectures else []
    skip = sorted(set(exclude))
    if only:
        shard = "(?:" + "|".join(only) + ")"
    elif skip:
        shard = "(?!(?:" + "|".join(skip) + r")$)[0-9]+"
    else:
        shard = "[0-9]+"
    return rf"^liandiao\.(?:{names})\.{shard}$"
