"""Masking of personal identifiers for logs and list views.

ID numbers and phone numbers are personal information, and ID numbers of minors are sensitive
personal information (PIPL Art. 28, 51): every log line and list view shows them masked. The
helpers never raise and never reveal more than the documented characters, even for malformed
input, which is exactly what ends up in error logs.
"""

from __future__ import annotations

from liandiao.ids.errors import InvalidIdentifier
from liandiao.ids.mobile import normalize_mobile


def mask_id(text: str) -> str:
    """Keep the first 6 and last 4 characters of an 18- or 15-character ID number.

    "11010519491231002X" -> "110105********002X". Anything of another length is masked entirely.
    """
    number = text.strip().upper()
    if len(number) in (15, 18):
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    return "*" * len(number)


def mask_phone(text: str) -> str:
    """Keep the first 3 and last 4 digits of a mobile number: "+86 138 0013 8000" -> "138****8000".

    Anything that is not a mainland mobile number is masked entirely.
    """
    try:
        number = normalize_mobile(text)
    except InvalidIdentifier:
        return "*" * len(text.strip())
    return f"{number[:3]}****{number[7:]}"


def mask_name(text: str) -> str:
    """Keep a name's first character (the surname, for a Chinese name): "张三丰" -> "张**"."""
    name = text.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""
