"""The one way a Liandiao client opens a gRPC channel: the platform's message
size limits and a retry policy in the service config, so that a server that is
busy (RESOURCE_EXHAUSTED: over its concurrency limit) or briefly away
(UNAVAILABLE) is asked again with backoff, with the very same request (a
registration keeps its request_id), instead of the caller seeing an error.

Retrying must never do a thing twice, so the policy depends on the method:

* RESOURCE_EXHAUSTED is retried for every method. A Liandiao server answers it
  before the handler runs: over its concurrency limit, or a request above
  MAX_REQUEST_BYTES. (A response above the send limit would also give it after
  the work was done; MAX_RESPONSE_BYTES is four times the request limit so that
  it does not happen; see limits.py.)
* UNAVAILABLE can come after the work was done (the connection dropped after
  commit, a database error at commit), so it is retried only for the methods in
  REPEATABLE: queries, and commands whose repeat changes nothing (an idempotency
  key, an upsert, or a state check that refuses the second attempt). The rest,
  ONCE_ONLY, are left to the caller, who knows whether the first attempt counted.
A test checks that every RPC in the contracts is in exactly one of the two sets,
so a new RPC is classified on purpose."""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc

from liandiao.rpc.limits import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES
from liandiao.transport import GrpcTls

_IN = "liandiao.intake.v1.IntakeService"
_PE = "liandiao.personnel.v1.PersonnelService"
_RO = "liandiao.routing.v1.RoutingService"
_ME = "liandiao.mediation.v1.MediationService"
_CO = "liandiao.confirmation.v1.ConfirmationService"
_NO = "liandiao.notification.v1.NotificationService"

REPEATABLE: frozenset[tuple[str, str]] = frozenset({
    # intake: RegisterDispute answers a repeated request_id with the first call's dispute;
    # an office's acknowledgement is recorded once (a second is not "fresh").
    (_IN, "RegisterDispute"), (_IN, "GetDispute"), (_IN, "ListDisputes"), (_IN, "AcknowledgeWarning"),
    (_IN, "GetDisputeContacts"), (_PE, "GetPersonContact"),
    # the receipt reads the dispute's case code (issuing one only to a dispute that has none).
    (_IN, "GetReceipt"),
    # personnel: reads; updates that set a value (UpdatePerson, SetDuty, DeclareRelation upserts);
    # AddToRoster refuses an entry already listed; removals and evaluations happen once.
    (_PE, "GetOrganization"), (_PE, "ListOrganizations"), (_PE, "GetPerson"), (_PE, "ListPeople"),
    (_PE, "FindEligibleMediators"), (_PE, "ListRoster"), (_PE, "GetPerformanceFile"), (_PE, "DutyCoverageReport"),
    (_PE, "UpdatePerson"), (_PE, "SetDuty"), (_PE, "DeclareRelation"), (_PE, "AddToRoster"),
    (_PE, "RemoveFromRoster"), (_PE, "RemoveRosterEntry"), (_PE, "RecordEvaluation"),
    # routing: an answer to an offer needs the offer still open, a joint choice an unplaced
    # dispute; a consultation is called once per dispute; a plan is overwritten.
    (_RO, "GetAssignment"), (_RO, "GetConsultation"), (_RO, "AcceptAssignment"), (_RO, "DeclineAssignment"),
    (_RO, "RecordPartiesChoice"), (_RO, "CallConsultation"), (_RO, "RecordConsultationPlan"),
    (_ME, "GetCase"), (_ME, "ListCases"),
    # mediation: reads; commands whose repeat the case's state refuses (a second signature by
    # the same signer, a seal already applied, a consent already recorded, a session already
    # recorded, a hold already on or off, a case already ended) or that set a value.
    (_ME, "GetTimeline"), (_ME, "GetAgreement"), (_ME, "ListDocuments"), (_ME, "ListMessages"),
    (_ME, "ExportCaseFile"), (_ME, "SignAgreement"), (_ME, "ApplySeal"), (_ME, "RecordExtensionConsent"),
    (_ME, "RecordSession"), (_ME, "RecordNoShow"), (_ME, "CancelSession"), (_ME, "SuspendForAppraisal"),
    (_ME, "ResumeFromAppraisal"), (_ME, "FlagFalseMediation"), (_ME, "ClearFalseMediation"), (_ME, "Terminate"),
    (_ME, "RecordPublicityChoice"), (_ME, "SetPresiding"), (_ME, "AddMediator"), (_ME, "RemoveMediator"),
    (_ME, "EditAgreement"), (_ME, "DiscardDraft"), (_ME, "RecordPerformance"),
    (_CO, "GetApplication"), (_CO, "ListApplications"), (_CO, "VerifyRuling"),
    # confirmation: the application's state refuses a repeat (a second application to the same
    # court while one is pending, a second acceptance, refusal, request, extension or ruling);
    # materials brought again are a union (tests/failure/test_repeated_commands.py).
    (_CO, "Apply"), (_CO, "AcceptApplication"), (_CO, "RefuseApplication"), (_CO, "RequestSupplement"),
    (_CO, "SupplementMaterials"), (_CO, "ExtendReview"), (_CO, "Rule"), (_CO, "WithdrawApplication"),
    (_CO, "ListCourtKeys"),
    # notification: a resent delivery is pending, and a second resend of it is refused.
    (_NO, "Preview"), (_NO, "ListDeliveries"), (_NO, "ResendDelivery"),
})

ONCE_ONLY: frozenset[tuple[str, str]] = frozenset({
    # A repeat would create a second organization, person, feedback or training record.
    (_PE, "CreateOrganization"), (_PE, "CreatePerson"), (_PE, "RecordFeedback"), (_PE, "RecordTraining"),
    # A repeated failed case-code look-up counts a second failure towards the lock (issue 11).
    (_IN, "GetCaseStatus"),
    # A second Reassign withdraws the new offer too.
    (_RO, "Reassign"),
    # A repeat would schedule a second session, move it again, draft or record a second
    # agreement, add a second visit, document, message or extension request.
    (_ME, "ScheduleSession"), (_ME, "RescheduleSession"), (_ME, "DraftAgreement"), (_ME, "RecordOralAgreement"),
    (_ME, "RecordFollowUp"), (_ME, "UploadDocument"), (_ME, "PostMessage"), (_ME, "RequestExtension"),
    # A repeat would void the code just sent and text the party a second one.
    (_ME, "RequestSigningCode"),
    # A repeat would record a second objection (unless it names its objection_id).
    (_CO, "Object"),
})

# gRPC allows at most 5 attempts. Backoff is drawn at random in [0, current]
# (gRPC's jitter), so the four waits add up to 1.5 s on average, at most 3 s:
# long enough to ride over a burst, short enough that a caller's own deadline
# and its own retries (with the same request) handle a longer outage.
RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.2s",
    "maxBackoff": "5s",
    "backoffMultiplier": 2,
}


def service_config(repeatable: frozenset[tuple[str, str]] = REPEATABLE) -> str:
    """The ``grpc.service_config`` JSON: the most specific name wins, so the
    empty name (every method) carries the narrow policy and REPEATABLE the wide one."""
    def names(pairs) -> list[dict[str, str]]:
        return [{"service": s, "method": m} for s, m in sorted(pairs)]

    return json.dumps({"methodConfig": [
        {"name": [{}], "retryPolicy": {**RETRY_POLICY, "retryableStatusCodes": ["RESOURCE_EXHAUSTED"]}},
        {"name": names(repeatable),
         "retryPolicy": {**RETRY_POLICY, "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]}},
    ]})


def channel_options(*, retry: bool = True) -> Sequence[tuple[str, str | int]]:
    options: list[tuple[str, str | int]] = [
        ("grpc.max_send_message_length", MAX_REQUEST_BYTES),
        ("grpc.max_receive_message_length", MAX_RESPONSE_BYTES),
        # Without this a call is never retried once its request passed 256 KiB.
        ("grpc.per_rpc_retry_buffer_size", MAX_REQUEST_BYTES),
    ]
    if retry:
        options += [("grpc.enable_retries", 1), ("grpc.service_config", service_config())]
    else:
        options += [("grpc.enable_retries", 0)]
    return options


def insecure_channel(address: str, *, retry: bool = True) -> grpc.aio.Channel:
    """An aio channel to ``address`` with the platform's limits and retry policy
    (``retry=False``: the limits only, for a probe or a test of the bare server)."""
    return grpc.aio.insecure_channel(address, options=channel_options(retry=retry))


def open_channel(address: str, tls: GrpcTls | None, *, retry: bool = True) -> grpc.aio.Channel:
    """A channel over TLS when ``tls`` is given (the server checked against its CA, this
    process's certificate offered for mutual TLS), in plain text otherwise (development)."""
    if tls is None:
        return insecure_channel(address, retry=retry)
    return grpc.aio.secure_channel(address, tls.channel_credentials(), options=channel_options(retry=retry))
