"""Writes translations/en/LC_MESSAGES/messages.po from en.txt (msgid=English, one a line), the
form the translators keep; run after editing en.txt: python services/console/translations/build_po.py"""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

HERE = Path(__file__).parent
catalog = Catalog(locale="en", project="liandiao-console", fuzzy=False)
for line in (HERE / "en.txt").read_text(encoding="utf-8").splitlines():
    if line and not line.startswith("#"):
        msgid, _, text = line.partition("=")
        catalog.add(msgid, text)
out = HERE / "en" / "LC_MESSAGES" / "messages.po"
out.parent.mkdir(parents=True, exist_ok=True)
with out.open("wb") as f:
    write_po(f, catalog, width=0, omit_header=False)
