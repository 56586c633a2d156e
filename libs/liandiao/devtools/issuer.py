"""The local identity issuer: signs caller tokens for the demo, the tests and a
developer's stack with the development key in devtools/keys (not secret, refused in
production). It stands in for the provincial identity provider, whose tokens carry
the same claims (liandiao.auth.to_payload).

    python -m liandiao.devtools.issuer token --role clerk --org office-1 --regions 1505
    python -m liandiao.devtools.issuer service-token --service routing   # a service's own identity
    python -m liandiao.devtools.issuer jwks > jwks.json      # the public keys services verify with
"""

from __future__ import annotations

import argparse
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from liandiao import auth

KEY_FILE = Path(__file__).parent / "keys" / "dev-issuer.pem"


class LocalIssuer:
    def __init__(self, private_key: ec.EllipticCurvePrivateKey, *, key_id: str = auth.DEV_KEY_ID,
                 issuer: str = auth.DEV_ISSUER, audience: str = auth.AUDIENCE):
        self.private_key, self.key_id, self.issuer, self.audience = private_key, key_id, issuer, audience

    @classmethod
    def generate(cls, **kwargs: Any) -> LocalIssuer:
        """A fresh key, e.g. a second provider or a rotated key in a test."""
        return cls(ec.generate_private_key(ec.SECP256R1()), **kwargs)

    def issue(self, claims: auth.Claims, *, ttl_seconds: int = 3600, audience: str | None = None,
              issuer: str | None = None, issued_at: int | None = None) -> str:
        payload = auth.to_payload(claims, issuer=issuer or self.issuer, audience=audience or self.audience,
                                  issued_at=int(time.time()) if issued_at is None else issued_at,
                                  ttl_seconds=ttl_seconds)
        return jwt.encode(payload, self.private_key, algorithm="ES256", headers={"kid": self.key_id})

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.key_id, "alg": "ES256", "use": "sig"}]}


@cache
def dev_issuer() -> LocalIssuer:
    key = serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return LocalIssuer(key)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m liandiao.devtools.issuer")
    sub = parser.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("token", help="a caller token signed by the development key")
    tok.add_argument("--role", required=True, choices=[r.value for r in auth.Role])
    tok.add_argument("--subject", default="dev-person")
    tok.add_argument("--org", default="dev-org")
    tok.add_argument("--regions", default="15", help="comma-separated region prefixes")
    tok.add_argument("--ttl", type=int, default=3600)
    svc = sub.add_parser("service-token", help="a service's own short-lived token (its method list in liandiao.auth)")
    svc.add_argument("--service", required=True, choices=sorted(auth.SERVICE_METHODS))
    svc.add_argument("--regions", default="15", help="comma-separated region prefixes its release serves")
    svc.add_argument("--ttl", type=int, default=auth.SERVICE_TOKEN_TTL_SECONDS)
    sub.add_parser("jwks", help="the development public keys, as services read them")
    args = parser.parse_args()
    if args.command == "jwks":
        print(json.dumps(dev_issuer().jwks(), indent=2))
        return
    if args.command == "service-token":
        scope = tuple(r for r in args.regions.split(",") if r)
        print(dev_issuer().issue(auth.service_claims(args.service, scope), ttl_seconds=args.ttl))
        return
    claims = auth.Claims(subject=args.subject, organization_id=args.org, role=auth.Role(args.role),
                         region_scope=tuple(r for r in args.regions.split(",") if r))
    print(dev_issuer().issue(claims, ttl_seconds=args.ttl))


if __name__ == "__main__":
    main()
