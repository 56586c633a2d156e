"""The shared defences against hostile requests (issue 6, "Bad input"): the limits
every request passes at the edge, bounded error statuses, page tokens, the
Timestamp range and identifiers quoted back in reasons. Each case here failed
before the fix (an INTERNAL, a huge message, or a value taken as it came)."""

from __future__ import annotations

import base64
import json
import math
import uuid
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2

from liandiao.errors import FieldViolation, InvalidInput, NotFound, RuleViolation, shown
from liandiao.ids import InvalidIdentifier, validate_region, validate_region_prefix
from liandiao.intake.v1 import intake_pb2
from liandiao.notification.v1 import notification_pb2
from liandiao.personnel.v1 import personnel_pb2
from liandiao.rpc import paging
from liandiao.rpc.checks import MAX_VIOLATIONS, Undecodable, check, method_handlers, violations
from liandiao.rpc.convert import aware
from liandiao.rpc.errors import MAX_DETAILS_BYTES, MAX_MESSAGE_BYTES, clip, to_status
from liandiao.sizes import Limits, Size

LIMITS = Limits({"PartyInput.name": Size(chars=10), "RegisterDisputeRequest.parties": Size(items=3),
                 "PreviewRequest.values": Size(chars=5, items=2)})


def paths(msg, limits: Limits = LIMITS) -> dict[str, str]:
    return {v.field: v.reason for v in violations(msg, limits)}


# ---- the edge limits ------------------------------------------------------------

def test_a_request_within_the_limits_passes():
    req = intake_pb2.RegisterDisputeRequest(facts="邻里纠纷\r\n\t双方", parties=[intake_pb2.PartyInput(name="王建国")])
    assert violations(req, LIMITS) == []


def test_strings_longer_than_their_field_allows_are_named_by_path():
    req = intake_pb2.RegisterDisputeRequest(facts="x" * 201, parties=[intake_pb2.PartyInput(), intake_pb2.PartyInput(
        name="王" * 11)])
    assert paths(req) == {"facts": "at most 200 characters, got 201", "parties[1].name": "at most 10 characters, got 11"}


def test_ids_and_page_tokens_have_their_own_default_sizes():
    req = intake_pb2.ListDisputesRequest(page={"page_token": "9" * 201})
    assert "page.page_token" in paths(req)
    assert paths(intake_pb2.GetDisputeRequest(dispute_id="a" * 65)) == {"dispute_id": "at most 64 characters, got 65"}


@pytest.mark.parametrize(("text", "reason"), [("a\x00b", "must not contain NUL characters"),
                                              ("\x1b[31m", "must not contain control characters (U+001B)"),
                                              ("\x85", "must not contain control characters (U+0085)")])
def test_nul_and_control_characters_are_refused(text, reason):
    assert paths(intake_pb2.RegisterDisputeRequest(facts=text)) == {"facts": reason}


def test_a_repeated_field_too_long_is_one_violation_and_its_elements_are_not_walked():
    req = intake_pb2.RegisterDisputeRequest(parties=[intake_pb2.PartyInput(name="\x00" * 50)] * 10_000)
    assert paths(req) == {"parties": "at most 3 items, got 10000"}


def test_the_walk_stops_after_a_bounded_number_of_violations():
    req = personnel_pb2.SetDutyRequest(dates=["\x00"] * 300)
    assert len(violations(req, Limits(items=1000))) == MAX_VIOLATIONS


def test_map_entries_are_counted_and_their_keys_and_values_sized():
    assert paths(notification_pb2.PreviewRequest(values={"a": "1", "b": "2", "c": "3"})) == {
        "values": "at most 2 entries, got 3"}
    assert paths(notification_pb2.PreviewRequest(values={"a": "123456"})) == {
        "values": "at most 5 characters, got 6"}


def test_enum_numbers_this_build_does_not_know_are_refused():
    req = intake_pb2.RegisterDisputeRequest(source=99, parties=[intake_pb2.PartyInput(kind=-1)])
    assert paths(req) == {"source": "99 is not a value of CaseSource", "parties[0].kind": "-1 is not a value of PartyKind"}
    assert paths(personnel_pb2.CreatePersonRequest(roles=[1, 42])) == {"roles[1]": "42 is not a value of Role"}


@pytest.mark.parametrize("hours", [math.nan, math.inf, -math.inf])
def test_floats_that_are_no_number_are_refused(hours):
    assert paths(personnel_pb2.RecordTrainingRequest(hours=hours)) == {"hours": "must be a finite number"}


@pytest.mark.parametrize(("seconds", "nanos"), [(2**62, 0), (-62_135_596_801, 0), (253_402_300_800, 0),
                                                (0, -1), (0, 1_000_000_000), (-2_208_988_801, 0)])
def test_timestamps_outside_the_supported_range_are_refused(seconds, nanos):
    req = intake_pb2.ListDisputesRequest(registered_from=Timestamp(seconds=seconds, nanos=nanos))
    assert list(paths(req)) == ["registered_from"]


def test_bytes_fields_take_any_bytes_within_their_size():
    from liandiao.confirmation.v1 import confirmation_pb2
    limits = Limits({"VerifyRulingRequest.content_digest": Size(chars=4)})
    assert violations(confirmation_pb2.VerifyRulingRequest(content_digest=b"\xff\xfe\xc3("), limits) == []
    assert paths(confirmation_pb2.VerifyRulingRequest(content_digest=b"\xff" * 5), limits) == {
        "content_digest": "at most 4 bytes, got 5"}


class _Context:
    def set_code(self, code): ...
    def set_details(self, details): ...


def _handlers():
    from liandiao.intake.v1 import intake_pb2_grpc
    calls = []

    class Api(intake_pb2_grpc.IntakeServiceServicer):
        async def GetDispute(self, request, context):
            calls.append(request.dispute_id)
            return intake_pb2.Dispute(dispute_id=request.dispute_id)

    return method_handlers(intake_pb2.DESCRIPTOR.services_by_name["IntakeService"], Api(), LIMITS), calls


async def test_every_method_checks_its_request_before_the_servicer_and_unbuilt_ones_stay_unimplemented():
    handlers, calls = _handlers()
    get = handlers["GetDispute"]
    answer = await get.unary_unary(get.request_deserializer(intake_pb2.GetDisputeRequest(dispute_id="d")
                                                            .SerializeToString()), _Context())
    assert get.response_serializer(answer) == intake_pb2.Dispute(dispute_id="d").SerializeToString()
    with pytest.raises(InvalidInput):
        await get.unary_unary(intake_pb2.GetDisputeRequest(dispute_id="\x00"), _Context())
    assert calls == ["d"]
    with pytest.raises(NotImplementedError):
        await handlers["ListDisputes"].unary_unary(intake_pb2.ListDisputesRequest(), _Context())


@pytest.mark.parametrize(("request_", "field"), [
    (intake_pb2.GetDisputeRequest(dispute_id="ab"), "dispute_id"),
    (intake_pb2.RegisterDisputeRequest(facts="ok", parties=[intake_pb2.PartyInput(name="x"),
                                                            intake_pb2.PartyInput(name="ab")]), "parties[1].name"),
    (intake_pb2.RegisterDisputeRequest(parties=[intake_pb2.PartyInput(consent=intake_pb2.Consent(
        routes_told=["x", "ab"]))]), "parties[0].consent.routes_told[1]"),
    (notification_pb2.PreviewRequest(values={"ab": "x"}), "values"),
])
async def test_a_string_that_is_not_utf8_is_refused_naming_its_field(request_, field):
    raw = request_.SerializeToString().replace(b"ab", b"\xed\xa0\x80")   # an encoded lone surrogate
    handler = _handler_for(request_.DESCRIPTOR)
    decoded = handler.request_deserializer(raw)
    assert isinstance(decoded, Undecodable)
    with pytest.raises(InvalidInput) as raised:
        await handler.unary_unary(decoded, _Context())
    assert raised.value.violations == [FieldViolation(field, "is not valid UTF-8")]


class _AnyServicer:
    def __getattr__(self, name):
        return lambda request, context: None


def _handler_for(desc):
    for service in (intake_pb2.DESCRIPTOR.services_by_name["IntakeService"],
                    notification_pb2.DESCRIPTOR.services_by_name["NotificationService"]):
        for m in service.methods:
            if m.input_type is desc:
                return method_handlers(service, _AnyServicer(), LIMITS)[m.name]
    raise LookupError(desc.full_name)


def test_bytes_that_are_no_message_at_all_are_refused_as_the_request():
    handlers, _ = _handlers()
    decoded = handlers["GetDispute"].request_deserializer(b"\x0a\xff")   # a length running past the end
    assert isinstance(decoded, Undecodable) and "GetDisputeRequest" in decoded.violation.reason


def test_check_raises_invalid_input_with_every_violation():
    with pytest.raises(InvalidInput) as raised:
        check(intake_pb2.RegisterDisputeRequest(facts="\x00", source=99), LIMITS)
    assert {v.field for v in raised.value.violations} == {"facts", "source"}


# ---- bounded statuses -----------------------------------------------------------

def _status(err) -> tuple[grpc.StatusCode, status_pb2.Status]:
    st = to_status(err)
    (_, raw), = [m for m in st.trailing_metadata if m[0] == "grpc-status-details-bin"]
    return st.code, status_pb2.Status.FromString(raw)


def test_a_status_stays_small_whatever_the_violations_carry():
    err = InvalidInput([FieldViolation(f"parties[{i}].name" + "x" * 1000, "汉" * 100_000) for i in range(5000)])
    code, st = _status(err)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert len(st.message.encode()) <= MAX_MESSAGE_BYTES and st.ByteSize() <= MAX_DETAILS_BYTES + MAX_MESSAGE_BYTES + 256
    br = error_details_pb2.BadRequest()
    st.details[0].Unpack(br)
    assert br.field_violations[0].field.startswith("parties[0].name")
    assert "more violation(s) not shown" in br.field_violations[-1].description


def test_the_first_violations_are_all_there_when_they_fit():
    _, st = _status(InvalidInput([FieldViolation("a", "bad"), FieldViolation("b", "worse")]))
    br = error_details_pb2.BadRequest()
    st.details[0].Unpack(br)
    assert [(v.field, v.description) for v in br.field_violations] == [("a", "bad"), ("b", "worse")]
    assert st.message == "a: bad; b: worse"


@pytest.mark.parametrize("err", [RuleViolation("rule", "x" * 100_000), NotFound("y" * 100_000)])
def test_other_errors_are_bounded_too(err):
    _, st = _status(err)
    assert len(st.message.encode()) <= MAX_MESSAGE_BYTES and st.ByteSize() < 2 * MAX_MESSAGE_BYTES + 400


def test_clip_cuts_on_a_character_boundary():
    assert clip("汉" * 10, 10) == "汉" * 2 + "..."
    assert clip("short", 10) == "short"


def test_an_invalid_input_message_spells_out_only_the_first_violations():
    err = InvalidInput([FieldViolation(f"f{i}", "bad") for i in range(9)])
    assert str(err).endswith("f4: bad (and 4 more)")


def test_a_value_quoted_in_an_error_is_cut_short():
    assert shown("abc") == "'abc'"
    assert shown("x" * 100_000) == f"{'x' * 40!r}... (100000 characters)"


# ---- page sizes and tokens ------------------------------------------------------

def test_page_size_zero_is_the_default_and_the_range_is_enforced():
    assert paging.page_size(0) == paging.DEFAULT_SIZE and paging.page_size(200) == 200
    for bad in (-1, 201, 2**31 - 1):
        with pytest.raises(InvalidInput):
            paging.page_size(bad)


@pytest.mark.parametrize("token", ["-1", " 1", "1_0", "+1", "١٢", "²", "１２", "9" * 10, "9223372036854775808"])
def test_offset_tokens_are_ascii_digits_within_range(token):
    with pytest.raises(InvalidInput) as raised:
        paging.offset(token)
    assert raised.value.violations == [FieldViolation("page.page_token", "is not a token from a previous page")]


def test_offsets_round_trip_and_stop_at_the_last_page():
    assert paging.offset("") == 0 and paging.offset(paging.next_offset(0, 50, 50)) == 50
    assert paging.next_offset(50, 50, 49) == "" and paging.next_offset(paging.MAX_OFFSET, 50, 50) == ""


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode() if not isinstance(value, bytes) else value).decode()


def test_a_cursor_round_trips():
    at, key = datetime(2026, 1, 5, 10, tzinfo=UTC), uuid.uuid4()
    assert paging.decode_cursor(paging.encode_cursor(at, key)) == (at, key)
    assert paging.decode_cursor("") is None


@pytest.mark.parametrize("token", [
    "!!!", "YQ", _b64(b"\xff\xfe"), _b64(b"[" * 50 + b"]" * 50), _b64([1, 2]), _b64({"a": 1}), _b64("x"),
    _b64(["2026-01-05T10:00:00", str(uuid.UUID(int=1))]),            # naive: which instant?
    _b64(["0001-01-01T00:00:00+00:00", str(uuid.UUID(int=1))]),      # outside the supported range
    _b64(["2026-01-05T10:00:00+00:00", "not-a-uuid"]), "x" * 201, "汉字",
])
def test_a_cursor_that_is_not_ours_is_invalid_input(token):
    with pytest.raises(InvalidInput):
        paging.decode_cursor(token)


def test_a_deeply_nested_cursor_does_not_recurse_into_an_internal_error():
    deep = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
    with pytest.raises(InvalidInput):
        paging.decode_cursor(deep[:paging.PAGE_TOKEN])
    with pytest.raises(InvalidInput):   # too long to be ours at all
        paging.decode_cursor(deep)


@pytest.mark.parametrize("prefix", ["%", "15_5", "15\x00", "a", "1" * 13])
def test_a_region_filter_is_digits_not_a_like_pattern(prefix):
    with pytest.raises(InvalidInput):
        paging.region_filter(prefix)
    assert paging.region_filter("") == "" and paging.region_filter("1505") == "1505"


# ---- timestamps and identifiers -------------------------------------------------

def test_aware_names_the_field_of_an_instant_out_of_range():
    with pytest.raises(InvalidInput) as raised:
        aware(Timestamp(seconds=2**62), "parties[0].consent.disclosed_at")
    assert raised.value.violations[0].field == "parties[0].consent.disclosed_at"
    assert aware(Timestamp(seconds=0), "x") == datetime(1970, 1, 1, tzinfo=UTC)


def test_a_region_code_error_does_not_echo_a_huge_value():
    with pytest.raises(InvalidIdentifier) as raised:
        validate_region("9" * 300_000 + "x")
    assert len(raised.value.reason) < 100


def test_a_region_prefix_is_up_to_twelve_ascii_digits():
    assert validate_region_prefix("150502") == "150502"
    for bad in ("１５", "1505 ", "1" * 13, ""):
        with pytest.raises(InvalidIdentifier):
            validate_region_prefix(bad)
