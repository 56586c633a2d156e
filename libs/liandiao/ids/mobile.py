"""Mainland China mobile numbers: 11 digits matching ^1[3-9]\\d{9}$ (MIIT numbering plan),
optionally written with the country code +86 (also 0086 or 86) and with spaces or hyphens.
"""

from __future__ import annotations

import re

from liandiao.ids.errors import InvalidIdentifier

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = str.maketrans("", "", " -\u00a0")
_COUNTRY_PREFIXES = ("+86", "0086", "86")


def normalize_mobile(text: str) -> str:
    """Return the bare 11-digit number, e.g. "+86 138-0013-8000" -> "13800138000".

    Raises ``InvalidIdentifier`` for anything else (landlines, foreign numbers, typos).
    """
    compact = text.strip().translate(_SEPARATORS)
    for prefix in _COUNTRY_PREFIXES:
        # Unambiguous: a mainland mobile number itself never starts with 8, 0 or +.
        if compact.startswith(prefix):
            compact = compact[len(prefix) :]
            break
    if not (compact.isascii() and compact.isdigit()):
        raise InvalidIdentifier(
            "a mobile number may contain only digits, spaces, hyphens and a leading +86"
        )
    if len(compact) != 11:
        raise InvalidIdentifier(
            f"a mobile number has 11 digits after +86, got {len(compact)}"
        )
    if not _MOBILE.fullmatch(compact):
        raise InvalidIdentifier("a mobile number starts with 13 to 19")
    return compact
