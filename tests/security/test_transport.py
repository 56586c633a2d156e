"""Transport security of the gRPC edge: TLS, mutual TLS and the peer's identity, the
production settings that refuse plain text, and listeners that bind loopback unless told.
Servers here are the platform's own (liandiao.rpc.server.build_server) on loopback;
the certificates come from the development tool (liandiao.devtools.certs)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from liandiao import auth
from liandiao.config import SettingsError, load_settings
from liandiao.devtools import certs
from liandiao.rpc.channel import channel_options, insecure_channel, open_channel
from liandiao.rpc.peer import service_identity
from liandiao.rpc.server import build_health_server, build_server, set_health
from liandiao.transport import GrpcTls

REPO = Path(__file__).resolve().parents[2]
BASE = {"LIANDIAO_DATABASE_URL": "postgresql://x@127.0.0.1/db", "LIANDIAO_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "LIANDIAO_ENV": "development"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    certs.make_all(folder)
    return folder


def _tls(folder: Path, name: str, *, mutual: bool) -> GrpcTls:
    read = lambda n: (folder / n).read_bytes()  # noqa: E731
    return GrpcTls(read(f"{name}.crt"), read(f"{name}.key"), read("ca.crt"), read("ca.crt") if mutual else None)


@pytest.fixture(scope="module")
def stranger(tmp_path_factory) -> GrpcTls:
    """A caller whose certificate another CA signed, with a name of the platform."""
    ca = certs.new_authority("Not the platform's CA")
    cert, key = certs.issue(ca, "routing", ("localhost",), ("127.0.0.1",))
    return GrpcTls(certs.cert_pem(cert), certs.key_pem(key), certs.cert_pem(ca.cert))


async def _serve(tls: GrpcTls | None):
    verifier = auth.TokenVerifier.from_file(auth.DEV_JWKS_FILE, issuer=auth.DEV_ISSUER, audience=auth.AUDIENCE)
    server, health, port, names = build_server("intake", 0, verifier, {}, lambda s: [], tls=tls)
    await set_health(health, names, serving=True)
    await server.start()
    return server, health, f"127.0.0.1:{port}"


async def _health(chan: grpc.aio.Channel) -> str:
    reply = await health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest(), timeout=3)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


async def _refused(chan: grpc.aio.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _health(chan)
    await chan.close()
    return err.value.code()


async def test_a_plaintext_client_cannot_talk_to_a_tls_server(pki):
    server, _, address = await _serve(_tls(pki, "intake", mutual=False))
    try:
        assert await _refused(insecure_channel(address, retry=False)) == grpc.StatusCode.UNAVAILABLE
        async with open_channel(address, _tls(pki, "gateway", mutual=False), retry=False) as chan:
            assert await _health(chan) == "SERVING"
            # Reflection keeps working over TLS.
            stub = reflection_pb2_grpc.ServerReflectionStub(chan)
            replies = [r async for r in stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
                list_services="")]))]
            listed = {s.name for s in replies[0].list_services_response.service}
            assert "grpc.health.v1.Health" in listed
    finally:
        await server.stop(0)


async def test_mutual_tls_refuses_a_caller_without_a_certificate_or_with_another_cas(pki, stranger):
    server, _, address = await _serve(_tls(pki, "intake", mutual=True))
    try:
        no_cert = grpc.ssl_channel_credentials(root_certificates=(pki / "ca.crt").read_bytes())
        chan = grpc.aio.secure_channel(address, no_cert, options=channel_options(retry=False))
        assert await _refused(chan) == grpc.StatusCode.UNAVAILABLE
        # The stranger trusts our server's CA, but its own certificate is from another CA.
        trusting = GrpcTls(stranger.cert, stranger.key, (pki / "ca.crt").read_bytes())
        assert await _refused(open_channel(address, trusting, retry=False)) == grpc.StatusCode.UNAVAILABLE
        # A client that does not trust the server's CA does not talk to it either.
        assert await _refused(open_channel(address, stranger, retry=False)) == grpc.StatusCode.UNAVAILABLE
        async with open_channel(address, _tls(pki, "routing", mutual=True), retry=False) as chan:
            assert await _health(chan) == "SERVING"
    finally:
        await server.stop(0)


async def test_a_ca_rotation_through_a_bundle_of_both_cas_keeps_every_caller_connected(pki):
    """docs/operations.md, "gRPC certificates": to change the CA, every ca.crt first holds the old
    and the new CA; then certificates come from the new CA; then the old CA leaves the bundle,
    and only then is a certificate of the old CA refused."""
    new_ca = certs.new_authority("Liandiao development CA, next")
    old_bundle, new_only = (pki / "ca.crt").read_bytes(), certs.cert_pem(new_ca.cert)
    both = old_bundle + new_only

    def of_new_ca(name: str, trust: bytes) -> GrpcTls:
        cert, key = certs.issue(new_ca, name, ("localhost",), ("127.0.0.1",))
        return GrpcTls(certs.cert_pem(cert), certs.key_pem(key), trust, trust)

    def of_old_ca(name: str, trust: bytes) -> GrpcTls:
        read = lambda n: (pki / n).read_bytes()  # noqa: E731
        return GrpcTls(read(f"{name}.crt"), read(f"{name}.key"), trust, trust)

    async def callers_served(server_tls: GrpcTls, callers: dict[str, GrpcTls]) -> dict[str, str]:
        server, _, address = await _serve(server_tls)
        try:
            out = {}
            for who, tls in callers.items():
                chan = open_channel(address, tls, retry=False)
                try:
                    out[who] = await _health(chan)
                except grpc.aio.AioRpcError as exc:
                    out[who] = exc.code().name
                finally:
                    await chan.close()
            return out
        finally:
            await server.stop(0)

    # 1. Both CAs trusted everywhere; the certificates are still the old CA's, one renewed early.
    assert await callers_served(of_old_ca("intake", both), {"old": of_old_ca("routing", both),
                                                          "new": of_new_ca("routing", both)}) == {
        "old": "SERVING", "new": "SERVING"}
    # 2. The server's certificate from the new CA too: callers of either CA still talk to it.
    assert await callers_served(of_new_ca("intake", both), {"old": of_old_ca("routing", both),
                                                          "new": of_new_ca("routing", both)}) == {
        "old": "SERVING", "new": "SERVING"}
    # 3. The old CA dropped: a caller still holding a certificate of it fails the handshake.
    assert await callers_served(of_new_ca("intake", new_only), {"old": of_old_ca("routing", new_only),
                                                              "new": of_new_ca("routing", new_only)}) == {
        "old": "UNAVAILABLE", "new": "SERVING"}


async def _whoami_server(tls: GrpcTls) -> tuple[grpc.aio.Server, str]:
    async def whoami(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return (service_identity(context) or "-").encode()

    server = grpc.aio.server()
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("t.Who", {
        "Ami": grpc.unary_unary_rpc_method_handler(whoami)})])
    port = server.add_secure_port("127.0.0.1:0", tls.server_credentials())
    await server.start()
    return server, f"127.0.0.1:{port}"


@pytest.mark.parametrize("mutual, seen", [(True, "routing"), (False, "-")])
async def test_the_peer_service_identity_is_the_verified_certificates_name(pki, mutual, seen):
    server, address = await _whoami_server(_tls(pki, "intake", mutual=mutual))
    try:
        async with open_channel(address, _tls(pki, "routing", mutual=True), retry=False) as chan:
            answer = await chan.unary_unary("/t.Who/Ami")(b"", timeout=3)
        assert answer.decode() == seen
    finally:
        await server.stop(0)


async def test_the_probe_port_answers_health_only_in_plain_text(pki):
    server, health, address = await _serve(_tls(pki, "intake", mutual=True))
    probes, port = build_health_server(health, "127.0.0.1", 0)
    await probes.start()
    try:
        async with insecure_channel(f"127.0.0.1:{port}", retry=False) as chan:
            assert await _health(chan) == "SERVING"
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await chan.unary_unary("/liandiao.intake.v1.IntakeService/GetDispute")(b"", timeout=3)
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await probes.stop(0)
        await server.stop(0)


def test_development_certificates_are_made_once_and_renewed_before_they_expire(tmp_path):
    first = certs.make_all(tmp_path)
    assert {"ca.crt", "intake.crt", "gateway.crt", "kafka.pem", "postgres.crt"} <= set(first)
    assert certs.make_all(tmp_path) == []        # kept while valid: a second `stack.sh up` changes nothing
    ca = certs.Authority(x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes()),
                         serialization.load_pem_private_key((tmp_path / "ca.key").read_bytes(), None))  # type: ignore[arg-type]
    cert, key = certs.issue(ca, "routing", days=10)     # inside the renewal window
    (tmp_path / "routing.crt").write_bytes(certs.cert_pem(cert))
    assert certs.make_all(tmp_path) == ["routing.key", "routing.crt"]
    sans = x509.load_pem_x509_certificate((tmp_path / "routing.crt").read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert "liandiao-routing.liandiao.svc" in sans.get_values_for_type(x509.DNSName)
    assert (tmp_path / "routing.key").stat().st_mode & 0o077 == 0      # private keys readable by the owner only


# ---- settings ----------------------------------------------------------------
def _production(tmp_path: Path) -> dict[str, str]:
    """Everything production needs except transport (PII keys, identity provider)."""
    import base64
    import json

    from liandiao.devtools.issuer import LocalIssuer
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(LocalIssuer.generate(key_id="idp-1", issuer="https://idp.example").jwks()))
    key = lambda b: base64.b64encode(bytes([b]) * 32).decode()  # noqa: E731
    return {**BASE, "LIANDIAO_ENV": "production", "LIANDIAO_PII_KEY": key(1), "LIANDIAO_FINGERPRINT_KEY": key(2),
            "LIANDIAO_JWKS_FILE": str(jwks), "LIANDIAO_TOKEN_ISSUER": "https://idp.example"}


def _secure(pki: Path) -> dict[str, str]:
    return {**certs.grpc_env(pki, "intake"), "LIANDIAO_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "LIANDIAO_KAFKA_CA_FILE": str(pki / "ca.crt"), "LIANDIAO_KAFKA_SASL_USERNAME": "intake",
            "LIANDIAO_KAFKA_SASL_PASSWORD": "pw",
            "LIANDIAO_DATABASE_URL": certs.database_url_tls(BASE["LIANDIAO_DATABASE_URL"], pki)}


@pytest.mark.parametrize("drop, named", [
    ("LIANDIAO_TLS_CERT_FILE", "LIANDIAO_TLS_CERT_FILE"),
    ("LIANDIAO_TLS_CA_FILE", "LIANDIAO_TLS_CA_FILE"),
    ("LIANDIAO_KAFKA_SECURITY_PROTOCOL", "LIANDIAO_KAFKA_SECURITY_PROTOCOL must be SSL or SASL_SSL in production"),
    ("LIANDIAO_KAFKA_CA_FILE", "LIANDIAO_KAFKA_CA_FILE (the brokers' CA) is required in production"),
    ("LIANDIAO_KAFKA_SASL_PASSWORD", "LIANDIAO_KAFKA_SASL_USERNAME and LIANDIAO_KAFKA_SASL_PASSWORD are required"),
])
def test_production_without_a_transport_setting_names_it(tmp_path, pki, drop, named):
    env = {k: v for k, v in {**_production(tmp_path), **_secure(pki)}.items() if k != drop}
    with pytest.raises(SettingsError, match=re.escape(named)):
        load_settings("intake", env)


def test_production_refuses_a_database_url_that_does_not_verify_the_server(tmp_path, pki):
    env = {**_production(tmp_path), **_secure(pki), "LIANDIAO_DATABASE_URL": BASE["LIANDIAO_DATABASE_URL"]
           + "?sslmode=require"}
    with pytest.raises(SettingsError, match="LIANDIAO_DATABASE_URL must say sslmode=verify-full"):
        load_settings("intake", env)
    s = load_settings("intake", {**_production(tmp_path), **_secure(pki)})
    assert s.grpc_tls is not None and s.grpc_tls.mutual and s.kafka_security.protocol == "SASL_SSL"
    # The chart's way: the URL whole from a Secret, libpq's variables beside it (asyncpg reads them).
    pg_env = {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": str(pki / "ca.crt")}
    load_settings("intake", {**_production(tmp_path), **_secure(pki), **pg_env,
                             "LIANDIAO_DATABASE_URL": BASE["LIANDIAO_DATABASE_URL"]})


def test_a_production_service_without_grpc_tls_stops_at_start_naming_the_variable(tmp_path, pki):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANDIAO_")}
    secure = {k: v for k, v in _secure(pki).items() if not k.startswith("LIANDIAO_TLS_")}
    env.update(_production(tmp_path), **secure, PYTHONPATH=f"{REPO / 'libs'}{os.pathsep}{REPO}")
    done = subprocess.run([sys.executable, "-m", "services.intake"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "LIANDIAO_TLS_CERT_FILE" in done.stderr and "required in production" in done.stderr


# ---- binding -----------------------------------------------------------------
def test_listeners_bind_loopback_by_default_and_never_every_interface_by_accident():
    s = load_settings("intake", BASE)
    assert (s.grpc_host, s.metrics_host) == ("127.0.0.1", "127.0.0.1")
    for value in ("0.0.0.0", "::"):
        with pytest.raises(SettingsError, match="LIANDIAO_GRPC_HOST"):
            load_settings("intake", {**BASE, "LIANDIAO_GRPC_HOST": value})
    assert load_settings("intake", {**BASE, "LIANDIAO_METRICS_HOST": "10.1.2.3"}).metrics_host == "10.1.2.3"


def _outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


async def test_the_default_server_is_not_reachable_on_the_machines_other_addresses():
    outward = _outward_address()
    if outward is None:
        pytest.skip("this machine has no address besides loopback")
    server, _, address = await _serve(None)
    port = int(address.rsplit(":", 1)[1])
    try:
        with pytest.raises(OSError):
            socket.create_connection((outward, port), timeout=2).close()
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        await server.stop(0)
