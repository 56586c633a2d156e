"""Simplified Chinese first, English available. The message ids are the Simplified Chinese
text itself (what most people of the console read), so a missing English entry shows the
Chinese, never a blank; translations/en/LC_MESSAGES/messages.po holds the English, read with
Babel at start-up (no compiled file to keep in step). tests/test_i18n.py checks that every
message id in the templates and the code has its English."""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

HERE = Path(__file__).parent
LOCALES = ("zh", "en")
DEFAULT = "zh"
_PO = HERE / "translations" / "{}" / "LC_MESSAGES" / "messages.po"


@cache
def translations(locale: str) -> gettext.NullTranslations:
    if locale == DEFAULT or locale not in LOCALES:
        return gettext.NullTranslations()
    with open(str(_PO).format(locale), "rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def pick(cookie: str | None) -> str:
    return cookie if cookie in LOCALES else DEFAULT
