"""Offline check of a signed ruling: needs the ruling file and the court's public key, no
service, no database.

    python -m services.confirmation.verify RULING.json --public-key COURT.pem
    python -m services.confirmation.verify RULING.json --keys keys.json      (a key ring; any court in it)

RULING.json (format liandiao-signed-ruling/1) holds the canonical document (base64), the
key id and the SM2 signature (base64), as ConfirmationService returns them (Ruling.document,
.key_id, .signature); `signed_ruling_file` writes one. Exit 0 and the ruling's particulars when
the signature holds and the document is a canonical ruling; exit 1 and why not otherwise."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

from liandiao.signing import SIGNED_RULING_FORMAT as FORMAT
from liandiao.signing import KeyEntry, KeyRing, PublicKey, Signature, SigningError, load_keys, signed_ruling_file
from services.confirmation.domain.ruling import InvalidRulingDocument, RulingDocument, parse_ruling

__all__ = ["FORMAT", "check", "main", "signed_ruling_file"]


def check(doc: dict[str, Any], ring: KeyRing) -> tuple[RulingDocument | None, str]:
    if doc.get("format") != FORMAT:
        return None, f"not a {FORMAT} file"
    try:
        content = base64.b64decode(doc["document"], validate=True)
        signature = Signature(str(doc["key_id"]), base64.b64decode(doc["signature"], validate=True))
    except (KeyError, ValueError, TypeError) as exc:
        return None, f"malformed file: {exc}"
    if signature.key_id not in ring:
        return None, f"the ruling was signed with key {signature.key_id!r}, which is not the key given"
    if ring.entry(signature.key_id).revoked:
        return None, (f"the ruling was signed with key {signature.key_id!r}, which the court has revoked: "
                      "ask the court for a ruling signed again")
    if not ring.verify(signature, content):
        return None, "the signature does not verify: the document was changed or not signed by this court"
    try:
        ruling = parse_ruling(content)
    except InvalidRulingDocument as exc:
        return None, f"signed, but not a canonical ruling: {exc}"
    if ring.entry(signature.key_id).organization_id not in (ruling.court_id, "*"):
        return None, f"signed by {ring.entry(signature.key_id).organization_id}, not by {ruling.court_id}"
    return ruling, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.confirmation.verify", description=__doc__.split("\n")[0])
    parser.add_argument("ruling", type=Path)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--public-key", type=Path, help="the court's public key: PEM, or 04||x||y hex")
    source.add_argument("--keys", type=Path, help="a key file in liandiao.signing's format")
    args = parser.parse_args(argv)
    try:
        doc = json.loads(args.ruling.read_text("utf-8"))
        if args.keys:
            ring, _ = load_keys(args.keys)
        else:
            text = args.public_key.read_text("ascii")
            public = PublicKey.from_pem(text) if "BEGIN" in text else PublicKey.from_hex(text)
            # One key given by hand: it stands for whichever court the document names.
            ring = KeyRing([KeyEntry(str(doc.get("key_id", "")), "*", public)])
    except (OSError, ValueError, SigningError) as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    ruling, why = check(doc, ring)
    if ruling is None:
        print(f"NOT GENUINE: {why}")
        return 1
    print(f"GENUINE: {ruling.case_number} {ruling.court_name}, {ruling.outcome.value}, issued {ruling.issued_on}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
