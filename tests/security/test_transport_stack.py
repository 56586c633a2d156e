"""Transport security against the real stack: Kafka over TLS with SASL/SCRAM-SHA-512 and
PostgreSQL over TLS with the server checked, through the platform's own clients
(liandiao.events.kafka, asyncpg with the URL's sslmode). scripts/stack.sh configures the
broker's SSL and SASL_SSL listeners, the SCRAM user and PostgreSQL's certificate."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError, KafkaError

from liandiao.devtools import certs
from liandiao.events import kafka
from liandiao.transport import KafkaSecurity

pytestmark = pytest.mark.stack


@pytest.fixture(autouse=True)
def _stack_tls(stack_env) -> None:
    if "LIANDIAO_STACK_CERTS" not in stack_env:
        pytest.fail("the stack has no development certificates: run `make stack-up` (scripts/stack.sh makes them)")
    if "LIANDIAO_STACK_KAFKA_SASL_SSL" not in stack_env:
        pytest.skip("LIANDIAO_KAFKA_BOOTSTRAP names an external broker: its TLS listeners are not the stack's")


def _sasl(stack_env, password: str | None = None) -> KafkaSecurity:
    return KafkaSecurity("SASL_SSL", str(Path(stack_env["LIANDIAO_STACK_CERTS"]) / "ca.crt"), "SCRAM-SHA-512",
                         stack_env["LIANDIAO_STACK_KAFKA_SCRAM_USER"],
                         stack_env["LIANDIAO_STACK_KAFKA_SCRAM_PASSWORD"] if password is None else password)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("other") / "ca.crt"
    path.write_bytes(certs.cert_pem(certs.new_authority("Not the stack's CA").cert))
    return path


async def _round_trip(bootstrap: str, security: KafkaSecurity) -> bytes:
    """What a service does: make its topic, publish through the relay's producer, read it back."""
    topic = f"liandiao.test.transport-{uuid.uuid4().hex[:8]}.v1.1505"
    await kafka.Topics(bootstrap, 1, security=security).ensure(topic)
    value = uuid.uuid4().bytes
    async with kafka.relay_producer(bootstrap, "t-transport", security)() as publish:
        await publish(topic, b"k", value, {"event-type": "test"})
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None,
                                **security.client_options())
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=15)
    finally:
        await consumer.stop()
    assert record.value == value
    return record.value


async def test_a_service_round_trips_an_event_over_sasl_ssl(stack_env):
    security = _sasl(stack_env)
    await _round_trip(stack_env["LIANDIAO_STACK_KAFKA_SASL_SSL"], security)
    # The FastStream broker the services consume with connects the same way.
    broker = kafka.make_broker(stack_env["LIANDIAO_STACK_KAFKA_SASL_SSL"], "t-transport-broker", security)
    await broker.start()
    try:
        assert await broker.ping(timeout=5)
    finally:
        await broker.stop()


async def test_a_wrong_scram_password_is_refused(stack_env, caplog):
    producer = kafka.relay_producer(stack_env["LIANDIAO_STACK_KAFKA_SASL_SSL"], "t-bad-password",
                                    _sasl(stack_env, password="not-the-password"))
    # aiokafka reports a refused login as a failed bootstrap; the broker's reason is in its log.
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        async with producer():
            pass
    assert "SaslAuthenticationFailed" in caplog.text and "invalid credentials" in caplog.text


async def test_tls_to_kafka_checks_the_brokers_certificate(stack_env, other_ca):
    ca = str(Path(stack_env["LIANDIAO_STACK_CERTS"]) / "ca.crt")
    await _round_trip(stack_env["LIANDIAO_STACK_KAFKA_SSL"], KafkaSecurity("SSL", ca))
    with pytest.raises((KafkaError, OSError)):
        await kafka.Topics(stack_env["LIANDIAO_STACK_KAFKA_SSL"], 1,
                           security=KafkaSecurity("SSL", str(other_ca))).ensure("liandiao.test.never.v1.1505")


async def test_postgres_over_tls_verifies_the_server_and_refuses_another_ca(stack_env, other_ca):
    folder = Path(stack_env["LIANDIAO_STACK_CERTS"])
    conn = await asyncpg.connect(certs.database_url_tls(stack_env["LIANDIAO_DATABASE_URL"], folder), timeout=5)
    try:
        assert await conn.fetchval("select ssl from pg_stat_ssl where pid = pg_backend_pid()") is True
    finally:
        await conn.close()
    wrong = f"{stack_env['LIANDIAO_DATABASE_URL']}?sslmode=verify-full&sslrootcert={other_ca}"
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        await asyncpg.connect(wrong, timeout=5)
