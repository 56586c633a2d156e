"""Masking of personal data inside free text (log lines, exception messages,
span attributes): the last line of defence when a value slips into a message.
Structured views mask with liandiao.ids.masking instead."""

from __future__ import annotations

import re

# 18-char resident IDs / permits (17 digits + digit or X), 15-digit legacy IDs,
# and mainland mobiles with an optional +86. Word boundaries keep longer digit
# runs (e.g. 19-digit references) from being half-masked.
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{6}(\d{3})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[- ]?)?1[3-9]\d)\d{4}(\d{4})(?![0-9])")


def mask_free_text(text: str) -> str:
    text = _ID18.sub(lambda m: m.group(1) + "********" + m.group(2)[-4:], text)
    text = _ID15.sub(lambda m: m.group(1) + "******" + m.group(2), text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)
