"""Masking of personal data inside free text (log lines, exception messages,
span attributes, dead-letter errors): the last line of defence when a value slips
into a message. Structured views mask with liandiao.ids.masking instead.

ID numbers and phones have a shape a pattern finds. Names and addresses do not, so
the code that receives them (a gRPC request, a consumed event) ``remember``s them
for the task that handles it (a context variable, so one call never sees another's
values), and every mask of free text in that task also masks those."""

from __future__ import annotations

import contextvars
import re

from google.protobuf.message import Message

from liandiao.ids.masking import mask_name

# 18-char resident IDs / permits (17 digits + digit or X), 15-digit legacy IDs,
# and mainland mobiles with an optional +86. Word boundaries keep longer digit
# runs (e.g. 19-digit references) from being half-masked. The 17 digits of an ID
# without its check character are masked too (a common partial form).
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx]?)(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{6}(\d{3})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[- ]?)?1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?![0-9])")

# Fields of requests and events that hold names or addresses of people.
PERSONAL_FIELDS = frozenset({"name", "display_name", "party_name", "agent_name", "address", "service_address",
                             "mediator_name", "recipient_name"})

_known: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("liandiao_personal_values", default=())


def remember(*values: str) -> None:
    """Masks these values (names, addresses) in free text for the rest of the current task."""
    fresh = tuple(v.strip() for v in values if v and len(v.strip()) >= 2)
    if fresh:
        # Longest first, so a full name is masked before a shorter one inside it.
        _known.set(tuple(sorted(set(_known.get()) | set(fresh), key=len, reverse=True)))


def remember_message(message: Message, depth: int = 0) -> None:
    """Remembers every name and address field of a protobuf message, however deep.
    Anything else (e.g. the server's stand-in for a request that did not decode) is ignored."""
    if depth > 8 or not isinstance(message, Message):
        return
    found: list[str] = []
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE:
            for item in (value if field.is_repeated else [value]):
                if isinstance(item, Message):
                    remember_message(item, depth + 1)
        elif field.type == field.TYPE_STRING and field.name in PERSONAL_FIELDS:
            found.extend(value if field.is_repeated else [value])
    remember(*found)


def mask_free_text(text: str) -> str:
    for value in _known.get():
        if value in text:
            text = text.replace(value, mask_name(value))
    text = _ID18.sub(lambda m: m.group(1) + "********" + m.group(2)[-4:], text)
    text = _ID15.sub(lambda m: m.group(1) + "******" + m.group(2), text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)
