"""Personal data masked wherever the platform writes text (issue 7): log lines (message,
fields, exception), exported spans (attributes, recorded exceptions, status), the texts of
INVALID_ARGUMENT, and names and addresses a task received in a request or an event."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import date

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from liandiao import redact
from liandiao.ids import InvalidIdentifier, mask_name, normalize_mobile, parse_resident_id
from liandiao.intake.v1 import intake_pb2
from liandiao.telemetry import JsonFormatter, RedactingProcessor

ID = "11010519491231002X"
PHONE = "13800138000"
NAME = "欧阳建国"


def in_own_task(job):
    """Runs ``job`` in a task of its own, as each gRPC call and consumed event is."""
    return asyncio.run(_task(job))


async def _task(job):
    return await asyncio.create_task(_call(job))


async def _call(job):
    return job()


def line(msg: str, *args, exc: BaseException | None = None, **extra) -> str:
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args,
                               (type(exc), exc, exc.__traceback__) if exc else None)
    record.__dict__.update(extra)
    return JsonFormatter("test").format(record)


def test_a_log_line_masks_ids_phones_and_their_partial_forms_everywhere():
    try:
        raise ValueError(f"party {ID} phone {PHONE}")
    except ValueError as exc:
        out = line("registered %s / %s / %s / +86 138 0013 8000", ID, ID[:17], PHONE,
                   exc=exc, detail=f"id={ID}")
    for value in (ID, ID[:17], PHONE, "0013 8000", ID[6:14]):
        assert value not in out
    assert "110105********002X" in json.loads(out)["msg"]


def test_names_and_addresses_are_masked_in_fields_and_once_received_in_free_text():
    request = intake_pb2.RegisterDisputeRequest(parties=[intake_pb2.PartyInput(name=NAME, address="呼和浩特市新城区光明路8号")])

    def job():
        redact.remember_message(request)    # as the gRPC edge does for every call
        return line("party %s at %s could not be placed", NAME, "呼和浩特市新城区光明路8号", party_name=NAME)

    out = in_own_task(job)
    assert NAME not in out and "光明路8号" not in out
    assert json.loads(out)["party_name"] == mask_name(NAME) == "欧***"
    # Another task never saw the name: nothing of its is remembered there.
    assert in_own_task(lambda: redact.mask_free_text(NAME)) == NAME


def test_an_exported_span_is_masked_attributes_events_and_status():
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RedactingProcessor(SimpleSpanProcessor(exported)))

    def job():
        redact.remember(NAME)
        with pytest.raises(RuntimeError), provider.get_tracer("t").start_as_current_span(
                "register", attributes={"q": f"{ID} {NAME}", "many": (PHONE,)}) as span:
            span.add_event("looked up", {"who": NAME})
            raise RuntimeError(f"{NAME} {ID[:17]} {PHONE}")

    in_own_task(job)
    [span] = exported.get_finished_spans()
    text = json.dumps([dict(span.attributes), [dict(e.attributes) for e in span.events], span.status.description],
                      ensure_ascii=False)
    for value in (ID, ID[:17], PHONE, NAME):
        assert value not in text
    assert "exception.message" in text       # the exception is still recorded, masked


BAD_IDS = ["11010519491231003X", "110105194913320019", "11010519491231002", "1101051949123100",
           "1101A5194912310021"]
BAD_PHONES = ["1380013800", "138001380001", "12800138000", "1380013800a"]


@pytest.mark.parametrize("value", BAD_IDS + BAD_PHONES)
def test_the_reason_of_a_refused_id_number_or_phone_never_quotes_it(value):
    check = parse_resident_id if value in BAD_IDS else normalize_mobile
    with pytest.raises(InvalidIdentifier) as err:
        check(value, today=date(2026, 12, 1)) if check is parse_resident_id else check(value)
    digits = re.sub(r"\D", "", value)
    assert digits[:10] not in str(err.value) and digits[-8:] not in str(err.value)


def test_a_sealed_dead_letter_goes_back_to_its_topic_as_it_was_and_only_from_its_own_record():
    from liandiao.events.admin import _unsealed
    from liandiao.events.consumer import DLQ_SEALED, dlq_context
    from liandiao.pii import PiiCipher, UnreadableValue

    cipher = PiiCipher(b"p" * 32)
    original = intake_pb2.PartyInput(name=NAME).SerializeToString()
    sealed = cipher.encrypt_bytes(original, context=dlq_context("t.v1.1505", 2, 41))
    assert NAME.encode() not in sealed
    headers = {DLQ_SEALED: "k0", "dlq-original-topic": "t.v1.1505", "dlq-original-partition": "2",
               "dlq-original-offset": "41"}
    assert _unsealed(sealed, headers, cipher) == original
    with pytest.raises(UnreadableValue):
        _unsealed(sealed, {**headers, "dlq-original-offset": "42"}, cipher)
    assert _unsealed(original, {"dlq-original-topic": "t"}, None) == original    # written before sealing


def test_a_request_that_did_not_decode_is_not_read_for_names():
    redact.remember_message(object())    # the server's stand-in for undecodable bytes: ignored, never an error
