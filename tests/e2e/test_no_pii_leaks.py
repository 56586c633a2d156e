"""No personal data in what operators see (issue 7): a full run (disputes of fresh,
valid ID numbers, phones and names registered at intake, one of them sent in by a police
system through the external-systems adapter, placed by routing, accepted, opened as cases
by mediation, announced by notification; one mediated to a written agreement with the
parties' ID numbers, phones and addresses in it, applied for, accepted and ruled on in
confirmation; a party reading their status on the console's party page with the case code;
a refused registration; one of the run's events dead-lettered as poison) leaves none of the
run's ID numbers, phones, party names or addresses, nor their common partial forms, in any
service's log (the seven services, the console and the adapter), any exported span, any
metrics page, any dead letter (topic: value and headers; table) or any list response's
identifiers."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import grpc
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.confirmation.v1 import confirmation_pb2 as cpb
from liandiao.confirmation.v1 import confirmation_pb2_grpc
from liandiao.devtools import confirm, province
from liandiao.devtools.clients import channel, token
from liandiao.devtools.fake_systems import LocalSystems, referral_body
from liandiao.devtools.localrun import PORT_OFFSET, REPO, SERVICES
from liandiao.devtools.mediate import written_agreement
from liandiao.events import catalog
from liandiao.events.topics import topic_name
from liandiao.intake.v1 import intake_pb2
from liandiao.mediation.v1 import mediation_pb2
from liandiao.notification.v1 import notification_pb2
from liandiao.routing.v1 import routing_pb2
from services.console import users
from services.console.devserver import PORT as CONSOLE_PORT
from services.console.devserver import ConsoleProcess
from tests.e2e.support import CLERK, OPERATOR, eventually
from tests.e2e.test_mediation_flow import complete_content, hold_a_session

pytestmark = pytest.mark.e2e

DISPUTES = 3
# Ports of this test's own console and adapter (the browser tests and test_external_systems run theirs).
OWN_CONSOLE_PORT = CONSOLE_PORT + 11
OWN_ADAPTER_PORT = PORT_OFFSET + 21089
# Rare characters: a name of the run is found nowhere else (the seeded mediators draw from common names).
_RARE = "彧翀瑀珩璟骞旻昶晔炜烨焜琮瑾璋玥珏瑜"


def fresh_name(rng: random.Random) -> str:
    return rng.choice(["欧阳", "司马", "诸葛", "上官"]) + rng.choice(_RARE) + rng.choice(_RARE)


def forms(req: intake_pb2.RegisterDisputeRequest) -> dict[str, str]:
    """Each personal value of the registration and its partial forms -> what it is."""
    found: dict[str, str] = {}
    for i, p in enumerate(req.parties):
        number, phone = p.id_document.number, p.phone
        found.update({number: f"parties[{i}] ID number", number[:17]: f"parties[{i}] ID number without check character",
                      number[6:]: f"parties[{i}] ID number without region",
                      phone: f"parties[{i}] phone", f"{phone[:3]} {phone[3:7]} {phone[7:]}": f"parties[{i}] phone, spaced",
                      p.name: f"parties[{i}] name", p.address: f"parties[{i}] address"})
    return found


def leaks(where: str, text: str, secrets: dict[str, str]) -> list[str]:
    # The finding names what leaked and where, never the value itself.
    return [f"{what} in {where}" for value, what in secrets.items() if value and value in text]


async def test_a_full_run_leaves_no_personal_data_in_logs_spans_metrics_or_dead_letters(world, services, otlp,
                                                                                      stack_env, tmp_path):
    stubs, prov = world
    log_files = {s: services.log_dir / f"{s}.log" for s in SERVICES}
    # The console and the external-systems adapter as their own processes, logging to files of this run.
    people = await users.users_for_province(stubs["personnel"], OPERATOR, prov)
    users.write(tmp_path / "console-users.json", people)
    certs = stack_env.get("LIANDIAO_STACK_CERTS")
    console = ConsoleProcess(addresses={s: services.address(s) for s in services.procs},
                             users_file=tmp_path / "console-users.json", log_file=tmp_path / "console.log",
                             tls=Path(certs) if certs else None, port=OWN_CONSOLE_PORT)
    (tmp_path / "external").mkdir()
    external = LocalSystems(tmp_path / "external", OWN_ADAPTER_PORT, "police-pii-1505", "court-pii-1505").prepare()
    log_files |= {"console": console.log_file, "external-systems": external.log}
    offsets = {s: f.stat().st_size if f.exists() else 0 for s, f in log_files.items()}
    spans = otlp.record()
    try:
        await asyncio.to_thread(console.start)
        external.start(services, [c.police_station for c in prov.counties],
                       [org for c in prov.counties for org in (c.tribunal, c.basic_court)], ["1505"])
        await asyncio.to_thread(external.wait_ready)
        await _run_and_scan(world, services, spans, log_files, offsets, stack_env, console, external)
    finally:
        otlp.stop_recording()
        external.stop()
        console.stop()


def _fresh(req: intake_pb2.RegisterDisputeRequest, rng: random.Random) -> intake_pb2.RegisterDisputeRequest:
    """Who, fresh: new valid ID numbers, phones, names and addresses each run."""
    req.request_id = str(uuid.uuid4())
    for p in req.parties:
        born = date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
        p.id_document.number = province.resident_id(rng, req.region_code, born, p.sex == intake_pb2.SEX_MALE)
        p.phone, p.name = province.mobile(rng), fresh_name(rng)
        p.address = f"内蒙古通辽市{fresh_name(rng)}路{rng.randint(100, 999)}号"
    return req


async def _run_and_scan(world, services, spans, log_files, offsets, stack_env, console, external) -> None:
    stubs, prov = world
    rng = random.Random(uuid.uuid4().int)

    # Where and what as in test_one_dispute (a county and type the seeded roster covers).
    police = common_pb2.CASE_SOURCE_POLICE_REFERRAL
    requests = [_fresh(province.dispute_request(random.Random(11), prov, source=police), rng) for _ in range(DISPUTES)]
    by_system = _fresh(province.dispute_request(random.Random(11), prov, source=police), rng)
    secrets = {k: v for req in (*requests, by_system) for k, v in forms(req).items()}

    # A refused registration quotes the run's values back in its errors, if anywhere.
    bad = intake_pb2.RegisterDisputeRequest()
    bad.CopyFrom(requests[0])
    bad.request_id = str(uuid.uuid4())
    number = bad.parties[0].id_document.number
    bad.parties[0].id_document.number = number[:-1] + ("0" if number[-1] != "0" else "1")
    bad.parties[1].phone = requests[0].parties[1].phone + "9"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs["intake"].RegisterDispute(bad, metadata=CLERK)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = leaks("the INVALID_ARGUMENT answer", refused.value.details() + str(refused.value.trailing_metadata()),
                  secrets)

    registered = [await stubs["intake"].RegisterDispute(req, metadata=CLERK) for req in requests]
    disputes = [r.dispute for r in registered]
    # A police system's referral through the adapter (HTTP JSON, signed), with fresh parties too.
    reference = f"JQ-{uuid.uuid4().hex[:10]}"
    sent = await asyncio.to_thread(external.police.refer, referral_body(by_system, reference=reference))
    assert sent.status_code == 200, sent.status_code
    disputes.append(await stubs["intake"].GetDispute(intake_pb2.GetDisputeRequest(
        dispute_id=sent.json()["dispute_id"]), metadata=OPERATOR))
    cases = [await _open_case(stubs, d.dispute_id) for d in disputes]
    await _mediate_and_confirm(stubs, prov, services, *cases[0], requests[0])
    # The party reads their status on the console with the code of their receipt and their phone's digits.
    page = await asyncio.to_thread(_party_page, console.url, registered[0].case_code,
                                   requests[0].parties[0].phone[-4:])
    assert "调解" in page
    listed = await stubs["intake"].ListDisputes(intake_pb2.ListDisputesRequest(region_prefix="1505"), metadata=CLERK)
    identifiers = {k: v for k, v in secrets.items() if "name" not in v and "address" not in v}
    found += leaks("intake's ListDisputes", str(listed), identifiers)

    tag = await _poison(stack_env, disputes[0].dispute_id)
    dead = await eventually(lambda: _dead_letters(stack_env, tag), timeout=60)
    found += leaks("a dead-letter topic's messages", dead, secrets)
    found += leaks("the dead_letters tables", await _dead_letter_rows(stack_env), secrets)

    await asyncio.sleep(1.5)   # the services export spans every 0.5 s and write logs as they go
    for service, text in list(spans):
        found += leaks(f"a span of {service}", text, secrets)
    assert spans, "no span was exported during the run"
    for s, f in log_files.items():
        with f.open("rb") as handle:
            handle.seek(offsets[s])
            found += leaks(f"the log of {s}", handle.read().decode(errors="replace"), secrets)
    for s in SERVICES:
        found += leaks(f"the metrics of {s}", await asyncio.to_thread(_metrics_page, services.metrics_port(s)), secrets)
    assert not found, "personal data leaked:\n" + "\n".join(sorted(set(found)))
    # The scan read what the run made: spans of every service it went through (the services log
    # little at INFO), the request logs of the console and the adapter.
    assert {f"liandiao-{s}" for s in ("intake", "routing", "mediation", "confirmation", "notification")} <= {
        service for service, _ in spans}
    assert all(log_files[s].stat().st_size > offsets[s] for s in ("console", "external-systems"))


async def _mediate_and_confirm(stubs, prov, services, case, mediator, req) -> None:
    """A session, a written agreement with every party's ID number, phone and address (PML
    Art.29), signed and sealed; the joint application, the court's acceptance and a ruling."""
    m = stubs["mediation"]
    await hold_a_session(m, case, mediator)
    await written_agreement(m, case, complete_content(case, req), mediator)
    case = await m.GetCase(mediation_pb2.GetCaseRequest(case_id=case.case_id), metadata=OPERATOR)
    # The operator sees the agreement with the parties' numbers masked and without its signed text;
    # the mediator who wrote it reads them in full.
    numbers = {p.id_document.number for p in req.parties}
    assert not {p.id_number for p in case.agreement.content.parties} & numbers
    assert all(p.masked_id_number for p in case.agreement.content.parties)
    ask = mediation_pb2.GetAgreementRequest(agreement_id=case.agreement.agreement_id)
    assert not (await m.GetAgreement(ask, metadata=OPERATOR)).document
    written = await m.GetAgreement(ask, metadata=mediator)
    assert {p.id_number for p in written.content.parties} == numbers and written.document
    await asyncio.to_thread(confirm.load_courts, prov, services.env, REPO / ".state")
    court_id = confirm.court_for(case, prov)
    committee = token(Role.CLERK, subject="clerk-of-the-committee", organization_id=case.organization_id,
                      region_scope=(case.region_code[:6],))
    court = (case.region_code[:4],)
    clerk = token(Role.COURT, subject=f"clerk-{court_id}", organization_id=court_id, region_scope=court)
    judge = token(Role.JUDGE, subject=f"judge-{court_id}", organization_id=court_id, region_scope=court)
    ch = channel(services.address("confirmation"))
    try:
        c = confirmation_pb2_grpc.ConfirmationServiceStub(ch)
        filed = await eventually(lambda: c.Apply(confirm.application(case, court_id), metadata=committee))
        accepted = await c.AcceptApplication(cpb.AcceptApplicationRequest(
            application_id=filed.application_id, judge_id=f"judge-{court_id}", reasons="材料齐全"), metadata=clerk)
        ruling = await c.Rule(cpb.RuleRequest(application_id=accepted.application_id,
                                              outcome=cpb.RULING_OUTCOME_VALID, reasons="协议系双方自愿达成。"),
                              metadata=judge)
        assert ruling.signature
    finally:
        await ch.close()


def _party_page(base: str, code: str, digits: str) -> str:
    import urllib.parse
    import urllib.request
    body = urllib.parse.urlencode({"code": code, "digits": digits, "lang": "zh"}).encode()
    with urllib.request.urlopen(urllib.request.Request(base + "/party/", data=body, method="POST"), timeout=30) as r:
        return r.read().decode()


async def _open_case(stubs, dispute_id: str):
    """The case opened from the accepted offer, and the mediator's token."""
    async def offered():
        a = await stubs["routing"].GetAssignment(routing_pb2.GetAssignmentRequest(dispute_id=dispute_id),
                                                 metadata=CLERK)
        return a if a.status == routing_pb2.ASSIGNMENT_STATUS_OFFERED else None

    offer = await eventually(offered)
    mediator = token(Role.MEDIATOR, subject=offer.mediator_id)
    await stubs["routing"].AcceptAssignment(
        routing_pb2.AcceptAssignmentRequest(dispute_id=dispute_id, mediator_id=offer.mediator_id), metadata=mediator)
    case = await eventually(lambda: stubs["mediation"].GetCase(
        mediation_pb2.GetCaseRequest(dispute_id=dispute_id), metadata=OPERATOR))
    assert case.status == mediation_pb2.CASE_STATUS_OPEN

    async def announced():
        listed = await stubs["notification"].ListDeliveries(
            notification_pb2.ListDeliveriesRequest(dispute_id=dispute_id), metadata=CLERK)
        return [d for d in listed.deliveries if d.status == notification_pb2.DELIVERY_STATUS_SENT]

    await eventually(announced)
    return case, mediator


async def _poison(stack_env, dispute_id: str) -> str:
    """The run's own dispute-registered event (names, masked numbers), sent again under an
    event type no consumer takes: every consumer of the topic dead-letters it."""
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        payload = await conn.fetchval("select payload from intake.outbox where headers->>'dispute-id' = $1 "
                                      "and event_type = $2", dispute_id, catalog.DISPUTE_REGISTERED.key)
    finally:
        await conn.close()
    tag = uuid.uuid4().hex
    headers = {"event-id": str(uuid.uuid4()), "event-type": "intake.dispute-registered.v0",
               "occurred-at": datetime.now(UTC).isoformat(), "dispute-id": dispute_id, "region-code": "150502",
               "traceparent": "", "correlation-id": "pii-test", "x-poison": tag}
    producer = AIOKafkaProducer(bootstrap_servers=stack_env["LIANDIAO_KAFKA_BOOTSTRAP"])
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(catalog.DISPUTE_REGISTERED, "150502"), bytes(payload), key=b"pii",
                                     headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()
    return tag


async def _dead_letters(stack_env, tag: str) -> str | None:
    """Every message of every dead-letter topic (value and headers) as text, once the poison is there."""
    bootstrap = stack_env["LIANDIAO_KAFKA_BOOTSTRAP"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if ".dlq." in t]
    finally:
        await admin.close()
    if not topics:
        return None
    reader = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=f"pii-{uuid.uuid4().hex[:8]}",
                              auto_offset_reset="earliest", max_partition_fetch_bytes=2_000_000)
    await reader.start()
    texts, tagged = [], False
    try:
        idle = 0
        while idle < 2:
            batch = await reader.getmany(timeout_ms=1000)
            idle = 0 if batch else idle + 1
            for records in batch.values():
                for r in records:
                    head = {k: (v or b"").decode(errors="replace") for k, v in r.headers}
                    tagged |= head.get("x-poison") == tag
                    texts.append(r.value.decode(errors="replace") + repr(head) + (r.key or b"").decode(errors="replace"))
    finally:
        await reader.stop()
    return "\n".join(texts) if tagged else None


async def _dead_letter_rows(stack_env) -> str:
    conn = await asyncpg.connect(stack_env["LIANDIAO_DATABASE_URL"])
    try:
        rows = [await conn.fetch(f"select d::text as t from {s}.dead_letters d") for s in SERVICES]
    finally:
        await conn.close()
    return "\n".join(r["t"] for per in rows for r in per)


def _metrics_page(port: int) -> str:
    from liandiao.devtools import metrics
    return metrics.page(port, timeout=5)   # over HTTPS when the services run over TLS
