"""Development certificates: a throwaway CA and the certificates the local stack and
the services use for TLS (gRPC, Kafka, PostgreSQL). Never for production: the CA key
lies next to the certificates, unprotected.

    python -m liandiao.devtools.certs [--dir .state/certs] [--namespace liandiao] [--force]

Made on demand (scripts/stack.sh up calls it), kept while valid, into a directory that
git ignores. Every key is ECDSA P-256; every certificate names 127.0.0.1 and localhost
and, for the services, their Kubernetes Service names, so the same files serve a local
run and a test cluster.

What it writes (``<dir>/``):
  ca.crt, ca.key                the development CA
  <service>.crt, <service>.key  one per service: server and client (mTLS) certificate;
                                its common name is the service's identity (liandiao.rpc.peer)
  gateway.crt, gateway.key      a client certificate for callers that are not services
                                (the demo driver, tests; an API gateway in a cluster)
  kafka.pem                     the broker's key and certificate in one PEM (Kafka's PEM keystore)
  postgres.crt, postgres.key    PostgreSQL's server certificate
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVICES = ("intake", "personnel", "routing", "mediation", "confirmation", "notification", "statistics")
REPO = Path(__file__).resolve().parents[3]
DEFAULT_DIR = REPO / ".state" / "certs"
# Renewed when less than this is left, so a long-lived checkout never meets an expired one.
_VALID_DAYS, _RENEW_DAYS = 365, 30


@dataclass(frozen=True)
class Authority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Liandiao development"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_authority(common_name: str = "Liandiao development CA") -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(minutes=5))
            .not_valid_after(_now() + dt.timedelta(days=_VALID_DAYS * 2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return Authority(cert, key)


def issue(ca: Authority, common_name: str, dns: tuple[str, ...] = (), ips: tuple[str, ...] = (), *,
          server: bool = True, client: bool = True,
          days: int = _VALID_DAYS) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A leaf certificate signed by ``ca``: ``common_name`` is the identity a peer sees."""
    key = ec.generate_private_key(ec.SECP256R1())
    usages = [u for u, on in ((ExtendedKeyUsageOID.SERVER_AUTH, server), (ExtendedKeyUsageOID.CLIENT_AUTH, client))
              if on]
    builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca.cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(_now() - dt.timedelta(minutes=5))
               .not_valid_after(_now() + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                              critical=False))
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca.key, hashes.SHA256()), key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    # PKCS#8: the one unencrypted form Kafka's PEM keystore reads (PostgreSQL and gRPC read it too).
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o600 if private else 0o644)
    tmp.replace(path)


def service_dns(service: str, namespace: str) -> tuple[str, ...]:
    """The names a client uses for a service: local, and the chart's Service (liandiao-<service>)."""
    svc = f"liandiao-{service}"
    return ("localhost", service, svc, f"{svc}.{namespace}", f"{svc}.{namespace}.svc",
            f"{svc}.{namespace}.svc.cluster.local")


def _fresh(path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc - _now() > dt.timedelta(days=_RENEW_DAYS)


def make_all(folder: Path = DEFAULT_DIR, namespace: str = "liandiao", force: bool = False) -> list[str]:
    """Writes what is missing or close to expiry; returns the file names written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    ca_crt, ca_key = folder / "ca.crt", folder / "ca.key"
    if force or not (_fresh(ca_crt) and ca_key.exists()):
        ca = new_authority()
        _write(ca_key, key_pem(ca.key), private=True)
        _write(ca_crt, cert_pem(ca.cert))
        written += ["ca.key", "ca.crt"]
        force = True  # everything signed by the old CA is replaced
    else:
        key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        ca = Authority(x509.load_pem_x509_certificate(ca_crt.read_bytes()), key)

    loopback = ("127.0.0.1",)
    leaves: list[tuple[str, tuple[str, ...], bool]] = [
        *((s, service_dns(s, namespace), True) for s in SERVICES),
        ("gateway", (), False),
        # The web console calls intake as its own service identity for the party page (issue 11).
        ("console", (), False),
        # The court and police systems' adapter calls intake as the service identity of its certificate.
        ("external-systems", (), False),
        # The police, court and petition systems send their monthly counts to statistics (issue 11).
        *((system, (), False) for system in ("police-system", "court-system", "petition-system")),
        ("postgres", ("localhost", "postgres", f"postgres.{namespace}.svc"), True),
        ("kafka", ("localhost", "kafka", f"kafka.{namespace}.svc"), True),
    ]
    for name, dns, server in leaves:
        crt = folder / (f"{name}.pem" if name == "kafka" else f"{name}.crt")
        if not force and _fresh(crt):
            continue
        cert, key = issue(ca, name, dns, loopback if server else (), server=server)
        if name == "kafka":
            _write(crt, key_pem(key) + cert_pem(cert), private=True)
        else:
            _write(folder / f"{name}.key", key_pem(key), private=True)
            _write(crt, cert_pem(cert))
            written.append(f"{name}.key")
        written.append(crt.name)
    return written


def grpc_env(folder: Path, name: str, *, mutual: bool = True) -> dict[str, str]:
    """The LIANDIAO_TLS_* variables for ``name`` (a service, or "gateway") from ``folder``."""
    env = {"LIANDIAO_TLS_CERT_FILE": str(folder / f"{name}.crt"), "LIANDIAO_TLS_KEY_FILE": str(folder / f"{name}.key"),
           "LIANDIAO_TLS_CA_FILE": str(folder / "ca.crt")}
    if mutual:
        env["LIANDIAO_TLS_CLIENT_CA_FILE"] = str(folder / "ca.crt")
    return env


def database_url_tls(url: str, folder: Path) -> str:
    """``url`` with PostgreSQL over TLS, the server checked against the development CA."""
    return f"{url}{'&' if '?' in url else '?'}sslmode=verify-full&sslrootcert={folder / 'ca.crt'}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--namespace", default="liandiao", help="Kubernetes namespace in the services' names")
    parser.add_argument("--force", action="store_true", help="a new CA and new certificates")
    args = parser.parse_args(argv)
    written = make_all(args.dir, args.namespace, args.force)
    print(f"dev-certs: {len(written)} file(s) written in {args.dir}" if written
          else f"dev-certs: {args.dir} is up to date")


if __name__ == "__main__":
    main()
