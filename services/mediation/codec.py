"""The case aggregate as mediation's own JSON document (the `cases.aggregate` column), and
back: every frozen dataclass of the domain tagged with its class name, enums with theirs,
dates, instants, UUIDs and bytes spelled out, so a stored case loads into exactly the value
it was. It is our own format, versioned with our migrations, never another service's message.

Personal data inside it (a party's name, ID number, phone, address in the agreement's
details; a party's name on the case) is AES-GCM ciphertext from the platform's PII cipher,
bound to the case and the party (``CASE_AGGREGATE.context``, the platform's one context
format: "mediation.cases.aggregate.<class>.<field>:<case id>:<party id>"), so the document
can be logged or dumped without exposing a person. ``reencrypt_document`` moves a stored
document to the current key (``python -m liandiao.pii reencrypt --service mediation``).
"""

from __future__ import annotations

import base64
import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from liandiao.legaltime import Deadline
from liandiao.legaltime.periods import Period, Unit
from liandiao.pii import EncryptedColumn, PiiCipher
from liandiao.signing import Signature
from services.mediation.domain import content, model, states

_MODULES = (content, model, states)
_CLASSES: dict[str, type] = {Deadline.__name__: Deadline, Period.__name__: Period, Signature.__name__: Signature,
                             Unit.__name__: Unit}
for _m in _MODULES:
    for _name, _obj in vars(_m).items():
        if isinstance(_obj, type) and (dataclasses.is_dataclass(_obj) or issubclass(_obj, Enum)) \
                and _obj.__module__ == _m.__name__:
            _CLASSES[_name] = _obj
_CLASSES.pop("Case", None)  # the root is written by case_doc, not nested
_CLASSES["Case"] = model.Case

# Fields holding personal data, per class: encrypted in the document.
PII_FIELDS: dict[type, tuple[str, ...]] = {
    content.PartyDetails: ("name", "id_number", "phone", "address"),
    model.Party: ("name",),
}


# The document column; a value's row id is "<case id>:<party id>" and its field
# "<class>.<field>" (the spelling the codec has always used, so stored cases read as they are).
CASE_AGGREGATE = EncryptedColumn("mediation", "cases", "aggregate", "case_id")


def _blobs(value: Any):
    if isinstance(value, list):
        for v in value:
            yield from _blobs(v)
    elif isinstance(value, dict):
        if "_pii" in value:
            yield base64.b64decode(value["_pii"])
        else:
            for v in value.values():
                yield from _blobs(v)


def reencrypt_document(cipher: PiiCipher, doc: dict[str, Any]) -> dict[str, Any] | None:
    """The stored case under ``cipher``'s current key, or None when it is there already
    (loaded and written again: every value decrypted under its own context, so a value
    that does not belong to the case raises UnreadableValue)."""
    if all(cipher.key_id(b) == cipher.current for b in _blobs(doc)):
        return None
    codec = Codec(cipher)
    return codec.dump(codec.load(doc))


class Codec:
    def __init__(self, cipher: PiiCipher):
        self.cipher = cipher

    def _context(self, case_id: str, cls: type, field: str, owner: str) -> str:
        return CASE_AGGREGATE.context(f"{case_id}:{owner}", f"{cls.__name__}.{field}")

    def dump(self, case: model.Case) -> dict[str, Any]:
        return self._dump(case, str(case.case_id))

    def load(self, doc: dict[str, Any]) -> model.Case:
        case_id = doc["case_id"]["_u"]
        loaded = self._load(doc, case_id)
        assert isinstance(loaded, model.Case)
        return loaded

    def _dump(self, value: Any, case_id: str) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Enum):
            return {"_e": type(value).__name__, "v": value.value}
        if isinstance(value, datetime):
            return {"_dt": value.isoformat()}
        if isinstance(value, date):
            return {"_d": value.isoformat()}
        if isinstance(value, UUID):
            return {"_u": str(value)}
        if isinstance(value, bytes):
            return {"_b": base64.b64encode(value).decode()}
        if isinstance(value, (tuple, list)):
            return [self._dump(v, case_id) for v in value]
        if isinstance(value, frozenset):
            return {"_fs": sorted(self._dump(v, case_id) for v in value)}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            cls = type(value)
            out: dict[str, Any] = {"_t": cls.__name__}
            secret = PII_FIELDS.get(cls, ())
            owner = getattr(value, "party_id", "")
            for f in dataclasses.fields(value):
                v = getattr(value, f.name)
                if f.name in secret and v:
                    out[f.name] = {"_pii": base64.b64encode(self.cipher.encrypt(
                        v, context=self._context(case_id, cls, f.name, owner))).decode()}
                else:
                    out[f.name] = self._dump(v, case_id)
            return out
        raise TypeError(f"cannot store {type(value).__name__} in a case document")

    def _load(self, value: Any, case_id: str, cls: type | None = None, field: str = "", owner: str = "") -> Any:
        if isinstance(value, list):
            return tuple(self._load(v, case_id) for v in value)
        if not isinstance(value, dict):
            return value
        if "_e" in value:
            return _CLASSES[value["_e"]](value["v"])
        if "_dt" in value:
            return datetime.fromisoformat(value["_dt"])
        if "_d" in value:
            return date.fromisoformat(value["_d"])
        if "_u" in value:
            return UUID(value["_u"])
        if "_b" in value:
            return base64.b64decode(value["_b"])
        if "_fs" in value:
            return frozenset(self._load(v, case_id) for v in value["_fs"])
        if "_pii" in value:
            assert cls is not None
            return self.cipher.decrypt(base64.b64decode(value["_pii"]),
                                       context=self._context(case_id, cls, field, owner))
        target = _CLASSES[value["_t"]]
        owner = value.get("party_id", "") if isinstance(value.get("party_id", ""), str) else ""
        kwargs = {k: self._load(v, case_id, target, k, owner) for k, v in value.items() if k != "_t"}
        return target(**kwargs)
