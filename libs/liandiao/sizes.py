"""How large a request's fields may be: sizes a real user never reaches, so that
hostile input is refused at the edge (INVALID_ARGUMENT naming the field) and no
event a service publishes can come near Kafka's 1 MB message limit.

Each service lists its own sizes in ``services/<svc>/limits.py`` (one place per
service, read by its domain rules too); anything it does not list gets the
defaults here. docs/decisions.md gives the reasoning. Pure: no protobuf here;
liandiao.rpc.checks applies a ``Limits`` to a request message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Characters (code points) of a string field; bytes of a bytes field.
ID = 64           # a UUID is 36; other references (an officer's badge id) fit too
CODE = 32         # region codes (12), dispute-type codes, BCP-47 tags, ISO dates and weeks
PHONE = 32        # "+86 138-0013-8000" with room for spaces
NAME = 100        # a person's or an organization's name
SHORT = 200       # one line: a reference number, an address, a course, a fee standard
REASON = 500      # why something was done, in a sentence or two
TEXT = 2000       # a paragraph: notes, complaints, a disclosure, an agent's authorised matters
LONG = 4000       # the brief facts of a dispute, a session record, a mediation plan
PAGE_TOKEN = 200  # an opaque token from a previous page

# Elements of a repeated field (or entries of a map).
ITEMS = 50


@dataclass(frozen=True)
class Size:
    """``chars``: of a string (each element, for a repeated string); ``items``: of a repeated field."""
    chars: int | None = None
    items: int | None = None


@dataclass(frozen=True)
class Limits:
    """``fields`` maps "Message.field" (the message's short name) to its size; a field
    not listed gets ``string`` characters (``ID`` for a name ending in ``_id``/``_ids``,
    ``PAGE_TOKEN`` for a page token) and ``items`` elements."""
    fields: Mapping[str, Size] = field(default_factory=dict)
    string: int = SHORT
    items: int = ITEMS

    def chars(self, message: str, name: str) -> int:
        size = self.fields.get(f"{message}.{name}")
        if size is not None and size.chars is not None:
            return size.chars
        if name.endswith(("_id", "_ids")):
            return ID
        if name == "page_token":
            return PAGE_TOKEN
        return self.string

    def count(self, message: str, name: str) -> int:
        size = self.fields.get(f"{message}.{name}")
        return size.items if size is not None and size.items is not None else self.items

