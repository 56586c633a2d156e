"""The courts' signing keys: one SM2 key per court, by key id, outside the database.

Production names a key file (LIANDIAO_CONFIRMATION_KEYS_FILE, the format of
liandiao.signing.load_keys; organization_id is the court id) whose private halves are
mounted secrets. A development stack may leave it unset: each court then gets a key
generated on first use under a development folder (LIANDIAO_CONFIRMATION_DEV_KEYS_DIR,
default .state/confirmation-dev-keys), key ids starting "dev-". Production refuses any
"dev-" key id and refuses to start without a key file: a ruling signed with a key that sat
in a developer's folder proves nothing.

    python -m services.confirmation.keys public <keys.json> <court_id>   the court's public key (PEM)
    python -m services.confirmation.keys publish <keys.json> <out.json>  every court's public keys, as a key
                                                                         file `verify --keys` reads
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from liandiao.signing import KeyConfigError, KeyRing, PrivateKey, Signer, load_keys

DEV_PREFIX = "dev-"
KEYS_FILE = "CONFIRMATION_KEYS_FILE"
DEV_DIR = "CONFIRMATION_DEV_KEYS_DIR"
DEFAULT_DEV_DIR = Path(".state") / "confirmation-dev-keys"


class CourtKeys:
    """The key ring every ruling is verified against, and the courts' active signers."""

    def __init__(self, ring: KeyRing, signers: dict[str, Signer], dev_dir: Path | None = None) -> None:
        self.ring, self.signers, self.dev_dir = ring, signers, dev_dir

    def signer(self, court_id: str) -> Signer:
        if court_id not in self.signers and self.dev_dir is not None:
            self._reload_or_generate(court_id)
        try:
            return self.signers[court_id]
        except KeyError:
            raise KeyConfigError(f"court {court_id} has no active signing key: add it to the key file") from None

    def _reload_or_generate(self, court_id: str) -> None:
        assert self.dev_dir is not None
        ensure_dev_key(self.dev_dir, court_id)
        self.ring, self.signers = load_keys(self.dev_dir / "keys.json")

    def refresh(self) -> None:
        """Another replica may have added a development key: read the file again."""
        if self.dev_dir is not None and (self.dev_dir / "keys.json").exists():
            self.ring, self.signers = load_keys(self.dev_dir / "keys.json")


def load_court_keys(extra: dict[str, str] | None, environment: str) -> CourtKeys:
    extra = extra or {}
    path = extra.get(KEYS_FILE, "").strip()
    if path:
        ring, signers = load_keys(path)
        if environment == "production":
            dev = [s.key_id for s in signers.values() if s.key_id.startswith(DEV_PREFIX)]
            if dev:
                raise KeyConfigError(f"development court keys are refused in production: {', '.join(dev)}")
        return CourtKeys(ring, signers)
    if environment == "production":
        raise KeyConfigError(f"LIANDIAO_{KEYS_FILE} is required in production (the courts' signing keys)")
    dev_dir = Path(extra.get(DEV_DIR, "") or DEFAULT_DEV_DIR)
    keys = CourtKeys(KeyRing(), {}, dev_dir)
    keys.refresh()
    return keys


def ensure_dev_key(folder: Path, court_id: str) -> None:
    """A development key for `court_id` in `folder` (keys.json + one PEM per court). Creating
    the PEM exclusively makes two processes agree on one key; keys.json is rewritten whole
    (atomically) from the PEMs present."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in court_id)
    pem = folder / f"{safe}.pem"
    try:
        fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(PrivateKey.generate().to_pem())
    index = folder / "keys.json"
    known = {}
    if index.exists():
        known = {k["organization_id"]: k for k in json.loads(index.read_text("utf-8"))["keys"]}
    if court_id not in known:
        private = PrivateKey.from_pem(pem.read_text("ascii"))
        known[court_id] = {"key_id": f"{DEV_PREFIX}{safe}"[:64], "organization_id": court_id,
                           "public_key": private.public_key().to_hex(), "private_key_file": pem.name, "active": True}
        tmp = folder / f".keys.{os.getpid()}.json"
        tmp.write_text(json.dumps({"format": 1, "keys": list(known.values())}, indent=1), "utf-8")
        tmp.replace(index)


def published(ring: KeyRing) -> dict:
    """The ring without its private halves: every key that signed rulings, rotated ones inactive,
    revoked ones marked (what the courts publish; liandiao.signing's key-file format)."""
    return {"format": 1, "keys": [{"key_id": e.key_id, "organization_id": e.organization_id,
                                   "public_key": e.public_key.to_pem(), "revoked": e.revoked}
                                  for e in ring.entries()]}


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "publish":
        ring, _ = load_keys(argv[1])
        Path(argv[2]).write_text(json.dumps(published(ring), ensure_ascii=False, indent=1), "utf-8")
        return 0
    if len(argv) != 3 or argv[0] != "public":
        print(__doc__, file=sys.stderr)
        return 2
    ring, signers = load_keys(argv[1])
    signer = signers.get(argv[2])
    if signer is None:
        print(f"no active key for court {argv[2]}", file=sys.stderr)
        return 1
    print(ring.entry(signer.key_id).public_key.to_pem(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
