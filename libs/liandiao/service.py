"""The one way a Liandiao service starts and stops.

A service declares its gRPC servicers, its consumers and its background loops on
a ``ServiceApp``; ``main`` does the rest: settings, logs, traces, migrations,
the database pool, Kafka (FastStream), the outbox relay, the gRPC server with
truthful health, Prometheus metrics, and a graceful stop on SIGTERM.

    python -m services.<name>            serve (applies missing migrations first)
    python -m services.<name> migrate    apply migrations and exit (a Job / init container)
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from prometheus_client import start_http_server

from liandiao import audit, db, telemetry
from liandiao.config import Settings, SettingsError, load_settings
from liandiao.events import kafka, retention
from liandiao.events.catalog import EventType
from liandiao.events.consumer import Consumer, Handler
from liandiao.events.outbox import OutboxRelay, outbox_gauges
from liandiao.events.topics import PROVINCE_SHARD, subscription_pattern, topic_name
from liandiao.pii import PiiCipher
from liandiao.rpc.server import Policy, build_health_server, build_server, set_health, set_liveness
from liandiao.supervise import Supervisor

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a service's wiring hands to its servicers, handlers and loops."""
    settings: Settings
    pool: asyncpg.Pool
    pii: PiiCipher
    config: Any = None   # the service's own settings (ServiceApp's ``config`` loader)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class _ConsumerSpec:
    name: str
    events: tuple[EventType, ...]
    handler: Callable[[Runtime], Handler]


async def periodically(job: Callable[[], Coroutine[Any, Any, Any]], every_seconds: float, stopping: asyncio.Event,
                       what: str, *, again_at_once: Callable[[Any], bool] = lambda _: False) -> None:
    """Runs ``job`` until ``stopping`` is set, waiting ``every_seconds`` between runs
    (none when ``again_at_once(result)``, e.g. a full batch). A failed run is logged
    and retried on the next tick: a background loop never dies of one error."""
    while not stopping.is_set():
        try:
            result = await job()
        except Exception:
            log.exception("%s failed", what)
            result = None
        if result is not None and again_at_once(result):
            continue
        try:
            await asyncio.wait_for(stopping.wait(), timeout=every_seconds)
        except TimeoutError:
            pass


class ServiceApp:
    def __init__(self, name: str, migrations: Path, policy: Policy, publishes: Sequence[EventType] = (),
                 config: Callable[[Mapping[str, str]], Any] | None = None):
        """``config`` reads the service's own LIANDIAO_* variables (given without the
        prefix) and raises SettingsError on a bad value; it runs at start-up next to
        the shared settings and its result is ``Runtime.config``."""
        self.name, self.migrations, self.policy = name, migrations, policy
        self.publishes = tuple(publishes)
        self.config = config
        self._register: Callable[[Runtime, grpc.aio.Server], Iterable[str]] | None = None
        self._consumers: list[_ConsumerSpec] = []
        self._tasks: list[tuple[Callable[[Runtime], Coroutine[Any, Any, None]], bool]] = []

    def grpc(self, register: Callable[[Runtime, grpc.aio.Server], Iterable[str]]) -> None:
        self._register = register

    def consume(self, name: str, events: Sequence[EventType], handler: Callable[[Runtime], Handler]) -> None:
        """``name`` identifies the consumer: its inbox rows, group id and dead-letter topics."""
        self._consumers.append(_ConsumerSpec(f"{self.name}.{name}", tuple(events), handler))

    @property
    def consumers(self) -> dict[str, tuple[str, ...]]:
        """Consumer name -> the events it takes ("<service>.<event>"): what the Helm
        chart's event catalogue must list (one dead-letter topic per pair)."""
        return {c.name: tuple(f"{e.service}.{e.name}" for e in c.events) for c in self._consumers}

    def task(self, loop: Callable[[Runtime], Coroutine[Any, Any, None]]) -> None:
        """A background loop (e.g. a deadline sweep); must return when rt.stopping is set.
        It is supervised: restarted after any error, and the service is not ready while it is down."""
        self._tasks.append((loop, False))

    def once(self, job: Callable[[Runtime], Coroutine[Any, Any, None]]) -> None:
        """A job run once after start (e.g. counting provisional deadlines again),
        tried again after a failure until it completes."""
        self._tasks.append((job, True))

    def main(self, argv: Sequence[str] | None = None) -> None:
        argv = list(sys.argv[1:] if argv is None else argv)
        command = argv[0] if argv else "serve"
        try:
            settings = load_settings(self.name)
            service_config = self.config(settings.extra) if self.config else None
        except SettingsError as exc:
            print(f"liandiao-{self.name}: configuration error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        telemetry.setup_logging(self.name, settings.log_level)
        if command == "migrate":
            applied = asyncio.run(db.migrate(settings.database_url, self.name, self.migrations))
            print(f"{self.name}: {len(applied)} migration(s) applied" + "".join(f"\n  {a}" for a in applied))
            return
        if command != "serve":
            print(f"usage: python -m services.{self.name} [serve|migrate]", file=sys.stderr)
            raise SystemExit(2)
        asyncio.run(self._serve(settings, service_config))

    async def _serve(self, settings: Settings, service_config: Any) -> None:
        provider = telemetry.setup_tracing(self.name, settings.otlp_endpoint)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if settings.metrics_port:
            cert, key = settings.metrics_tls or (None, None)
            start_http_server(settings.metrics_port, addr=settings.metrics_host, certfile=cert, keyfile=key)

        # The pool connects on demand (min_size=0), so the runtime and the
        # servicers exist before the database answers; the server starts at once
        # and health says NOT_SERVING until PostgreSQL and Kafka are reachable.
        pool = await db.create_pool(settings.database_url, self.name, min_size=0)
        rt = Runtime(settings=settings, pool=pool, pii=settings.pii_cipher(), config=service_config)

        def register(server: grpc.aio.Server) -> Iterable[str]:
            own = list(self._register(rt, server)) if self._register else []
            return [*own, *audit.register(server, pool)]   # every service serves its own audit trail

        server, health, port, names = build_server(
            self.name, settings.grpc_port, settings.token_verifier(), {**self.policy, **audit.POLICY}, register,
            max_concurrent_rpcs=settings.grpc_max_concurrent_rpcs, host=settings.grpc_host, tls=settings.grpc_tls)
        probes = None
        if settings.health_port:
            probes, _ = build_health_server(health, settings.grpc_host, settings.health_port)
        await set_health(health, names, serving=False)
        await set_liveness(health)
        await server.start()
        if probes:
            await probes.start()
        log.info("grpc listening", extra={"host": settings.grpc_host, "port": port,
                                          "tls": "mutual" if settings.grpc_tls and settings.grpc_tls.mutual
                                          else "on" if settings.grpc_tls else "off (development)",
                                          "kafka": settings.kafka_security.protocol})

        await self._wait_for_database(settings, stop)
        if stop.is_set():
            await server.stop(0)
            if probes:
                await probes.stop(0)
            await pool.close()
            return
        await db.migrate(settings.database_url, self.name, self.migrations)

        kafka_security = settings.kafka_security
        broker = kafka.make_broker(settings.kafka_bootstrap, f"liandiao-{self.name}", kafka_security)
        topics = kafka.Topics(settings.kafka_bootstrap, settings.topic_partitions, security=kafka_security)
        consumers = self._build_consumers(rt, broker, topics)
        await self._wait_for_kafka(broker, topics, settings, stop)
        if stop.is_set():  # stopped while Kafka was still out of reach
            await server.stop(0)
            if probes:
                await probes.stop(0)
            await pool.close()
            return
        relay = OutboxRelay(self.name, settings.database_url, self.name, None, topics.ensure,
                            poll_seconds=settings.outbox_poll_seconds,
                            open_publisher=kafka.relay_producer(settings.kafka_bootstrap, f"liandiao-{self.name}-relay",
                                                                    kafka_security))
        supervisor = Supervisor(self.name, rt.stopping)
        supervisor.start("outbox-relay", relay.run)
        for sub in consumers:
            supervisor.start(f"consumer:{sub.consumer.name}", partial(_keep_consuming, sub.subscriber, rt.stopping))
        for task, once in self._tasks:
            supervisor.start(getattr(task, "__name__", "task"), partial(task, rt), once=once)
        supervisor.start("retention", lambda: retention.run(rt.pool, self.name, settings, rt.stopping),
                         required=False)
        supervisor.start("lag-probe", partial(kafka.LagProbe(settings.kafka_bootstrap, kafka_security).run, self.name, consumers,
                                              rt.stopping), required=False)
        watcher = asyncio.create_task(self._watch_health(health, names, pool, broker, supervisor, stop))
        log.info("service started", extra={"release": settings.release,
                                           "prefectures": ",".join(settings.prefectures) or "all"})

        await stop.wait()
        log.info("shutting down")
        watcher.cancel()
        await set_health(health, names, serving=False)
        await asyncio.sleep(settings.shutdown_drain_seconds)
        await server.stop(grace=5)
        if probes:
            await probes.stop(0)
        rt.stopping.set()
        for sub in consumers:
            sub.consumer.stopping.set()
        await broker.stop()
        relay.stop()
        await supervisor.stop(timeout=5)
        await pool.close()
        provider.shutdown()
        log.info("stopped")

    def _build_consumers(self, rt: Runtime, broker, topics: kafka.Topics) -> list[kafka.Subscription]:
        built = []
        for spec in self._consumers:
            consumer = Consumer(
                service=self.name, name=spec.name, events=spec.events, handler=spec.handler(rt),
                pool=rt.pool, publish=kafka.dlq_publisher(broker), ensure_topic=topics.ensure,
                max_attempts=rt.settings.consumer_max_attempts, cipher=rt.pii,
            )
            pattern = subscription_pattern(spec.events, rt.settings.prefectures, rt.settings.exclude_prefectures)
            built.append(kafka.subscribe(broker, consumer, pattern, f"liandiao.{rt.settings.release}.{spec.name}"))
        return built

    async def _wait_for_database(self, settings: Settings, stop: asyncio.Event) -> None:
        delay = 0.2
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(settings.database_url, timeout=3)
                await conn.close()
                return
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("waiting for PostgreSQL", extra={"error": str(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)

    async def _wait_for_kafka(self, broker, topics: kafka.Topics, settings: Settings, stop: asyncio.Event) -> None:
        delay = 0.2
        while not stop.is_set():
            try:
                # The shards this release consumes must exist before the pattern
                # subscription looks for them; its own output topics are made by the relay.
                await topics.ensure(*self._consumed_topics(settings))
                await broker.start()
                return
            except Exception as exc:  # noqa: BLE001 - any broker error means: not yet
                log.warning("waiting for Kafka", extra={"error": str(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)

    def _consumed_topics(self, settings: Settings) -> list[str]:
        """A regional release knows its shards and makes sure they exist; the
        province-wide release finds shards by pattern (``make topics`` creates
        them up front; one made later is noticed within the metadata age)."""
        shards = (*settings.prefectures, PROVINCE_SHARD) if settings.prefectures else ()
        return [topic_name(e, s) for spec in self._consumers for e in spec.events for s in shards]

    async def _watch_health(self, health, names, pool: asyncpg.Pool, broker, supervisor: Supervisor,
                            stop: asyncio.Event) -> None:
        """Readiness: PostgreSQL and Kafka answer and every required task runs. Every
        five seconds also the outbox gauges, measured from the table itself, so they are
        true while the relay is down."""
        serving, tick = None, 0
        while not stop.is_set():
            down: list[str] = []
            try:
                async with pool.acquire(timeout=2) as conn:
                    await conn.fetchval("select 1")
                    if tick % 5 == 0:
                        await outbox_gauges(conn, self.name)
                ok = await broker.ping(timeout=2)
            except Exception:  # noqa: BLE001 - unreachable is the answer
                ok = False
            if ok:
                down = supervisor.down()
                ok = not down
            if ok != serving:
                await set_health(health, names, serving=ok)
                log.info("health changed", extra={"serving": ok, "tasks_down": ",".join(down)})
                serving = ok
            tick += 1
            await asyncio.sleep(1.0)


async def _keep_consuming(subscriber, stopping: asyncio.Event) -> None:
    """Watches one FastStream subscriber: if its consume loop has ended (FastStream
    ends it on an error it does not expect) the subscriber is started again. The
    Supervisor calls this again after any error, so a restart that fails is retried."""
    if not subscriber.running or any(t.done() for t in subscriber.tasks):
        await subscriber.stop()
        await subscriber.start()
    while not stopping.is_set():
        finished = [t for t in subscriber.tasks if t.done()]
        if finished or not subscriber.running:
            error = next((t.exception() for t in finished if not t.cancelled() and t.exception()), None)
            raise RuntimeError(f"consume loop ended: {error!r}")
        try:
            await asyncio.wait_for(stopping.wait(), timeout=1.0)
        except TimeoutError:
            pass
