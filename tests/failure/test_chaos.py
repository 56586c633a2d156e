"""The short form of `make chaos` (issue 6): what an operator's bad day does to the
platform, and that it keeps every dispute through it.

One run, shared by the tests below: a stack of its own (PostgreSQL and Kafka in
.state/chaos, on ports of their own, so restarting them touches nothing else), the six
services as processes and a seeded prefecture; 150 disputes registered over gRPC by
clients that retry with the same request id, and taken on by mediators who accept (a
few decline first). Meanwhile, one after another: every service SIGKILLed and
restarted (intake and routing twice), the Kafka broker restarted, PostgreSQL restarted
(pg_ctl restart -m fast), a service SIGSTOPped past its consumers' 10 s session
timeout, and malformed messages put on every consumed topic. While the faults happen the
disputes also go the whole way (issues 8-10): a session scheduled and recorded, then a written
agreement signed by every party and the mediator and sealed, an oral one, or a termination
(court-delegated failures go back to their court); the joint application, the court's
acceptance and ruling (valid or rejected) or its refusal; as drawn, an extension with every
party's consent, an objection to a valid ruling and follow-up visits until performance closes
the case; notification telling of each. Each test asserts one
invariant, checked from each service's own tables and from the topics; a failure
prints the whole table (also in .state/chaos/report.txt, the services' logs in
.state/chaos/logs). Two to three minutes on two shared cores."""

from __future__ import annotations

import pytest

from liandiao.devtools.chaos.plan import Kind, Options
from liandiao.devtools.chaos.report import Report
from liandiao.devtools.chaos.run import run
from liandiao.devtools.localrun import SERVICES

pytestmark = pytest.mark.e2e

OPTIONS = Options.short()


@pytest.fixture(scope="module")
async def chaos() -> Report:
    report = await run(OPTIONS, out=lambda _: None)
    if report.log_dir:
        (report.log_dir.parent / "report.txt").write_text(report.table())
    return report


def holds(report: Report, prefix: str) -> None:
    invariant = report.invariant(prefix)
    assert invariant.ok, f"{invariant.name}: {invariant.detail}\n{report.table()}"


def test_the_run_did_what_it_says(chaos: Report):
    """Otherwise the invariants below would hold of nothing: the disputes went all the
    way, and every fault of the plan was injected."""
    kinds = {o.fault.kind for o in chaos.outcomes if not o.failed}
    assert kinds == set(Kind), chaos.table()
    assert all(chaos.kills[s] >= 1 for s in SERVICES) and chaos.kills["intake"] >= 2, chaos.table()
    assert chaos.tally.accepted >= OPTIONS.count and chaos.tally.deliveries >= 3 * OPTIONS.count, chaos.table()
    ends = set(chaos.casework.ends)
    assert {"ruled valid", "ruled rejected", "refused", "terminated", "returned to court"} <= ends, chaos.table()
    # The steps besides the main way: an extension every party consented to, follow-up visits
    # that closed the case, an objection to a valid ruling.
    assert {"extensions granted", "closed after follow-up", "objections"} <= set(chaos.casework.extras), chaos.table()


def test_every_registration_is_answered_though_services_die_under_it(chaos: Report):
    holds(chaos, "every registration was answered")


def test_every_accepted_dispute_reaches_its_case_and_deliveries_exactly_once(chaos: Report):
    holds(chaos, "every accepted registration")


def test_every_case_goes_the_whole_way_once_through_mediation_and_confirmation(chaos: Report):
    holds(chaos, "every case went the whole way")


def test_agreements_applications_rulings_and_outcomes_agree_across_services(chaos: Report):
    holds(chaos, "effective agreements, applications")


def test_notification_tells_of_every_mediation_and_confirmation_event_once(chaos: Report):
    holds(chaos, "notification told of every")


def test_nothing_is_published_that_was_not_committed(chaos: Report):
    holds(chaos, "nothing published")


def test_no_consumer_applies_an_event_twice_or_skips_one(chaos: Report):
    holds(chaos, "no consumer applied")


def test_dead_letter_topics_hold_only_the_injected_poison(chaos: Report):
    holds(chaos, "dead-letter topics")


def test_the_replay_command_drains_the_dead_letter_topics(chaos: Report):
    holds(chaos, "the replay command")


def test_every_fault_is_recovered_from_within_its_timeout(chaos: Report):
    holds(chaos, "every fault was injected")


def test_at_rest_every_service_is_serving_with_nothing_left_behind(chaos: Report):
    holds(chaos, "every service SERVING")
