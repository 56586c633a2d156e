"""Hypothesis strategies built from protobuf descriptors: any message type, any
depth, so a field or method added to a contract is fuzzed without anyone writing
a generator for it.

Every field gets a mix of plausible values (``Hints``: what a caller could really
send, e.g. an existing id) and hostile ones: huge strings, NUL and control
characters, invalid UTF-8 in bytes, integers at and beyond every boundary, NaN and
infinities, Timestamps outside what Python's datetime holds, enum numbers the
contract does not know, repeated fields large and full of duplicates. A second
strategy takes a plausible request and breaks one to three of its fields, so
hostile values also reach the code behind the first checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

F = FieldDescriptor
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
_RANGES = {
    F.TYPE_INT32: INT32, F.TYPE_SINT32: INT32, F.TYPE_SFIXED32: INT32,
    F.TYPE_INT64: INT64, F.TYPE_SINT64: INT64, F.TYPE_SFIXED64: INT64,
    F.TYPE_UINT32: UINT32, F.TYPE_FIXED32: UINT32, F.TYPE_UINT64: UINT64, F.TYPE_FIXED64: UINT64,
}

# Strings a validator must survive. PostgreSQL text refuses NUL; the rest are
# look-alikes of digits, direction overrides, non-characters and separators.
NASTY_STRINGS = (
    "", " ", "\t\n\r", "\x00", "a\x00b", "\x00" * 3, "\x01\x07\x1b[31m", "\x7f", "\u0085", "\u2028",
    "\u200b", "\u202e1505", "\ufeff", "\ufffe", "\uffff", "\U0010ffff", "\U0001f600", "١٢٣", "²", "１２３",
    " 1", "1_000", "-0", "+1", "0x10", "1e5", "NaN", "-1", "9" * 30, "'; drop table x; --", "%s%n%x",
    "{name}", "{0.__class__}", "../../etc/passwd", "\\", "null", "true", "[]", "{}", "A" * 18, "x" * 201,
)
# Lengths around the limits a service may set, and far beyond them. The largest
# keeps a request near the server's 4 MiB limit only when several are combined.
HUGE_LENGTHS = (101, 201, 257, 501, 1001, 2001, 4001, 5001, 10_001, 65_537, 300_001, 1_000_001)
HUGE_COUNTS = (2, 3, 11, 51, 101, 201, 371, 1_001, 5_001, 20_001)
# What one generated request may weigh: near the server's 4 MiB receive limit, so
# huge values reach the validators; copies beyond it are not made (20,001 copies of
# a megabyte string would be 20 GB in the test process).
REQUEST_BUDGET = 4 * 1024 * 1024
INT_EDGES = (0, 1, -1, 2, 5, 6, 7, 10, 49, 50, 51, 100, 101, 150, 151, 199, 200, 201, 999, 1000, 10_000,
             2**31 - 1, -(2**31), 2**32 - 1, 2**53 + 1, 2**63 - 1, -(2**63))
FLOAT_EDGES = (0.0, -0.0, 0.5, 1.0, 1.25, 199.5, 200.0, 200.5, 1e308, -1e308, 5e-324, math.inf, -math.inf,
               math.nan)
# Timestamp seconds: inside, at and outside datetime's range (years 1..9999), and
# outside what PostgreSQL's timestamptz holds.
TS_SECONDS = (0, -1, 1_767_225_600, 4_102_444_800, 253_402_300_799, 253_402_300_800, -62_135_596_800,
              -62_135_596_801, -210_866_803_200, 9_224_318_016_000, 2**62, -(2**62), 2**63 - 1, -(2**63))
TS_NANOS = (0, 1, 999_999_999, 1_000_000_000, -1, 2**31 - 1, -(2**31))

Hint = Callable[[FieldDescriptor], st.SearchStrategy | None]


def _no_hint(_: FieldDescriptor) -> None:
    return None


@dataclass
class Builder:
    """``hint(field)`` returns plausible values for a field (by its name), or None."""
    hint: Hint = _no_hint
    max_depth: int = 5
    _cache: dict[tuple[str, str], st.SearchStrategy] = field(default_factory=dict)

    # ---- scalars ------------------------------------------------------------------
    def hostile(self, fd: FieldDescriptor) -> st.SearchStrategy:
        """Values of the field's type that a careless handler gets wrong."""
        t = fd.type
        if t == F.TYPE_STRING:
            return st.one_of(
                st.sampled_from(NASTY_STRINGS),
                st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40),
                st.builds(lambda unit, n: (unit * n)[:n], st.sampled_from(["x", "汉", "\x00", "9", "a b"]),
                          st.sampled_from(HUGE_LENGTHS)),
            )
        if t == F.TYPE_BYTES:
            return st.one_of(
                st.binary(max_size=64),
                st.sampled_from([b"", b"\x00", b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]),
                st.builds(lambda unit, n: unit * n, st.sampled_from([b"\xff", b"\x00"]), st.sampled_from(HUGE_LENGTHS)),
            )
        if t in _RANGES:
            lo, hi = _RANGES[t]
            return st.one_of(st.sampled_from([v for v in INT_EDGES if lo <= v <= hi]), st.integers(lo, hi))
        if t in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
            floats = st.floats(width=32 if t == F.TYPE_FLOAT else 64)
            return st.one_of(st.sampled_from(FLOAT_EDGES), floats)
        if t == F.TYPE_BOOL:
            return st.booleans()
        if t == F.TYPE_ENUM:
            # proto3 enums are open: a number this build does not know arrives as itself.
            known = [v.number for v in fd.enum_type.values]
            return st.one_of(st.sampled_from(known), st.sampled_from([max(known) + 1, -1, 2**31 - 1, -(2**31)]),
                             st.integers(*INT32))
        if t == F.TYPE_MESSAGE:
            return self.message(fd.message_type)
        raise TypeError(f"no strategy for field type {t} of {fd.full_name}")

    def element(self, fd: FieldDescriptor, depth: int) -> st.SearchStrategy:
        """One value of the field (one element, for a repeated field)."""
        if fd.type == F.TYPE_MESSAGE:
            generic = self.message(fd.message_type, depth + 1)
        else:
            generic = self.hostile(fd)
        hinted = self.hint(fd)
        return st.one_of(hinted, generic) if hinted is not None else generic

    def value(self, fd: FieldDescriptor, depth: int) -> st.SearchStrategy:
        """What the field is set to: a scalar, a message, a list or a dict."""
        if _is_map(fd):
            key_fd, value_fd = fd.message_type.fields_by_name["key"], fd.message_type.fields_by_name["value"]
            keys, values = self.element(key_fd, depth), self.element(value_fd, depth)
            return st.one_of(
                st.dictionaries(keys, values, max_size=4),
                st.builds(lambda k, v, n: {f"{k}{i}": v for i in range(_fitting(v, n))},
                          st.just("k") | st.text(max_size=3), values, st.sampled_from(HUGE_COUNTS))
                if key_fd.type == F.TYPE_STRING
                else st.dictionaries(keys, values, max_size=4),
            )
        one = self.element(fd, depth)
        if fd.is_repeated:
            return st.one_of(
                st.lists(one, max_size=4),
                # Many copies of one value: huge and full of duplicates at once.
                st.builds(lambda v, n: [v] * _fitting(v, n), one, st.sampled_from(HUGE_COUNTS)),
            )
        return one

    # ---- messages -----------------------------------------------------------------
    def message(self, desc: Descriptor, depth: int = 0, *, plausible: bool = False) -> st.SearchStrategy:
        """Messages of type ``desc``: each field set or not, oneofs with at most one member.

        ``plausible``: only hinted values, every hinted field set (a request a real caller sends)."""
        key = (desc.full_name, f"{'p' if plausible else 'g'}{min(depth, self.max_depth)}")
        if key in self._cache:
            return self._cache[key]
        if desc.full_name == "google.protobuf.Timestamp":
            strat = _timestamps(desc)
        elif desc.full_name == "google.protobuf.FieldMask":
            strat = self._field_mask(desc)
        elif depth >= self.max_depth:
            strat = st.just(message_factory.GetMessageClass(desc)())
        else:
            strat = st.deferred(lambda: self._fields(desc, depth, plausible))
        self._cache[key] = strat
        return strat

    def _fields(self, desc: Descriptor, depth: int, plausible: bool) -> st.SearchStrategy:
        cls = message_factory.GetMessageClass(desc)
        real_oneofs = [o for o in desc.oneofs if not _synthetic(o)]
        in_oneof = {f.name for o in real_oneofs for f in o.fields}
        required: dict[str, st.SearchStrategy] = {}
        optional: dict[str, st.SearchStrategy] = {}
        for fd in desc.fields:
            if fd.name in in_oneof:
                continue
            if plausible:
                hinted = self._plausible(fd, depth)
                if hinted is not None:
                    required[fd.name] = hinted
            else:
                optional[fd.name] = self.value(fd, depth)
        oneofs = [st.one_of(st.none(), *(st.tuples(st.just(f.name), self._member(f, depth, plausible))
                                         for f in o.fields))
                  for o in real_oneofs]
        return st.builds(lambda values, chosen: _build(cls, {**values, **dict(c for c in chosen if c)}),
                         st.fixed_dictionaries(required, optional=optional), st.tuples(*oneofs))

    def _member(self, fd: FieldDescriptor, depth: int, plausible: bool) -> st.SearchStrategy:
        hinted = self._plausible(fd, depth) if plausible else None
        return hinted if hinted is not None else self.value(fd, depth)

    def _plausible(self, fd: FieldDescriptor, depth: int) -> st.SearchStrategy | None:
        if fd.type == F.TYPE_MESSAGE and not _is_map(fd):
            one = self.message(fd.message_type, depth + 1, plausible=True)
        else:
            one = self.hint(fd)
            if one is None:
                one = _ordinary(fd)
            if one is None:
                return None
        if fd.is_repeated and not _is_map(fd):
            return st.lists(one, min_size=1, max_size=3)
        return None if _is_map(fd) else one

    def _field_mask(self, desc: Descriptor) -> st.SearchStrategy:
        paths_fd = desc.fields_by_name["paths"]
        cls = message_factory.GetMessageClass(desc)
        return st.builds(lambda paths: cls(paths=paths), self.value(paths_fd, self.max_depth))

    # ---- breaking a good request --------------------------------------------------
    def mutated(self, base: st.SearchStrategy) -> st.SearchStrategy:
        """``base`` requests with one to three fields (at any depth) set to hostile values,
        or a repeated field's element duplicated many times (e.g. the same party twice)."""

        @st.composite
        def strategy(draw):
            msg = draw(base)
            out = type(msg)()
            out.CopyFrom(msg)
            for _ in range(draw(st.integers(1, 3))):
                holder, fd = draw(st.sampled_from(_slots(out)))
                if fd.is_repeated and not _is_map(fd) and len(getattr(holder, fd.name)) and draw(
                        st.booleans()):
                    items = list(getattr(holder, fd.name))
                    pick = items[draw(st.integers(0, len(items) - 1))]
                    room = max(REQUEST_BUDGET - out.ByteSize(), 0)
                    _assign(holder, fd, items + [pick] * _fitting(pick, draw(st.sampled_from(HUGE_COUNTS)), room))
                else:
                    value = draw(self.value(fd, 0))
                    if _weight(value) + out.ByteSize() <= REQUEST_BUDGET:
                        _assign(holder, fd, value)
            return out

        return strategy()


def _weight(value) -> int:
    """Bytes a value adds to a request, roughly."""
    if isinstance(value, str):
        return len(value) * 3 if not value.isascii() else len(value)
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Message):
        return value.ByteSize()
    if isinstance(value, list | tuple):
        return sum(_weight(v) for v in value[:1]) * len(value)
    if isinstance(value, dict):
        return sum(_weight(k) + _weight(v) + 4 for k, v in list(value.items())[:1]) * len(value)
    return 8


def _fitting(value, n: int, room: int = REQUEST_BUDGET) -> int:
    """How many copies of ``value`` (at most ``n``, at least one) fit in ``room``."""
    return max(1, min(n, room // max(_weight(value), 1)))


def _ordinary(fd: FieldDescriptor) -> st.SearchStrategy | None:
    """What a real caller puts in a scalar nobody hinted: a known enum value, a small number."""
    if fd.type == F.TYPE_ENUM:
        return st.sampled_from([v.number for v in fd.enum_type.values if v.number] or [0])
    if fd.type == F.TYPE_BOOL:
        return st.booleans()
    if fd.type in _RANGES:
        return st.sampled_from([1, 2, 3, 5, 20])
    if fd.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.sampled_from([1.0, 2.5, 8.0])
    return None


def _timestamps(desc: Descriptor) -> st.SearchStrategy:
    cls = message_factory.GetMessageClass(desc)
    seconds = st.one_of(st.sampled_from(TS_SECONDS), st.integers(0, 4_102_444_800), st.integers(*INT64))
    nanos = st.one_of(st.just(0), st.sampled_from(TS_NANOS), st.integers(*INT32))
    return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, nanos)


def _is_map(fd: FieldDescriptor) -> bool:
    return fd.type == F.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry


def _synthetic(oneof) -> bool:
    """proto3 ``optional`` fields sit in a synthetic oneof of their own."""
    return len(oneof.fields) == 1 and getattr(oneof.fields[0], "has_presence", False) and oneof.name.startswith("_")


def _build(cls: type[Message], values: dict) -> Message:
    msg = cls()
    for name, value in values.items():
        _assign(msg, msg.DESCRIPTOR.fields_by_name[name], value)
    return msg


def _assign(msg: Message, fd: FieldDescriptor, value) -> None:
    if _is_map(fd):
        target = getattr(msg, fd.name)
        target.clear()
        if fd.message_type.fields_by_name["value"].type == F.TYPE_MESSAGE:
            for k, v in value.items():
                target[k].CopyFrom(v)
        else:
            target.update(value)
    elif fd.is_repeated:
        target = getattr(msg, fd.name)
        del target[:]
        if fd.type == F.TYPE_MESSAGE:
            for v in value:
                target.add().CopyFrom(v)
        else:
            target.extend(value)
    elif fd.type == F.TYPE_MESSAGE:
        getattr(msg, fd.name).CopyFrom(value)
    else:
        setattr(msg, fd.name, value)


def _slots(msg: Message, depth: int = 0) -> list[tuple[Message, FieldDescriptor]]:
    """Every field of ``msg`` and of the messages set inside it: where a mutation may go."""
    out = []
    for fd in msg.DESCRIPTOR.fields:
        out.append((msg, fd))
        if depth > 4 or fd.type != F.TYPE_MESSAGE or _is_map(fd):
            continue
        if fd.message_type.full_name in ("google.protobuf.Timestamp", "google.protobuf.FieldMask"):
            continue
        if fd.is_repeated:
            for item in getattr(msg, fd.name):
                out += _slots(item, depth + 1)
        elif msg.HasField(fd.name):
            out += _slots(getattr(msg, fd.name), depth + 1)
    return out


def field_paths(desc: Descriptor) -> set[str]:
    """Every field path of a message type as a BadRequest names it, without indexes:
    "parties.id_document.number". Used to check that a violation names a real field."""
    out: set[str] = set()

    def walk(d: Descriptor, prefix: str, depth: int) -> None:
        for fd in d.fields:
            path = f"{prefix}{fd.name}"
            out.add(path)
            if fd.type == F.TYPE_MESSAGE and not _is_map(fd) and depth < 6:
                walk(fd.message_type, path + ".", depth + 1)

    walk(desc, "", 0)
    return out
