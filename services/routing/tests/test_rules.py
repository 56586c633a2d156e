"""Routing's choice of mediator, table-driven, no I/O (DOMAIN.md §3)."""

from __future__ import annotations

from services.routing.app import region_chain
from services.routing.domain.rules import Mediator, Need, choose_mediator

VILLAGE_CHAIN = region_chain("150502001001")   # a village of 科尔沁街道, 科尔沁区, 通辽市


def mediator(pid: str, regions: set[str], types=("neighbours",), languages=("zh",), active=True, on_duty=True):
    return Mediator(pid, f"调解员{pid}", "org", frozenset(types), frozenset(languages), frozenset(regions),
                    active, on_duty)


def need(**kw) -> Need:
    return Need(**{"dispute_type": "neighbours", "region_chain": VILLAGE_CHAIN, "languages": frozenset(), **kw})


def test_the_chain_runs_from_the_village_up_to_the_province():
    assert [lvl.code for lvl in VILLAGE_CHAIN] == ["150502001001", "150502001", "150502", "1505", "15"]


def test_nearest_level_wins_over_a_less_busy_mediator_further_away():
    roster = [mediator("county", {"150502"}), mediator("township", {"150502001"})]
    choice = choose_mediator(need(), roster, {"township": 5, "county": 0})
    assert choice.mediator.person_id == "township"
    assert choice.reason.startswith("covers township")


def test_search_widens_only_when_nobody_nearer_qualifies():
    roster = [mediator("pref", {"1505"}), mediator("county-wrong-type", {"150502"}, types=("labour",))]
    choice = choose_mediator(need(), roster, {})
    assert choice.mediator.person_id == "pref"
    assert "widened" in choice.reason and "prefecture" in choice.reason


def test_fewest_open_cases_among_equals_and_the_reason_says_so():
    roster = [mediator("a", {"150502"}), mediator("b", {"150502"}), mediator("c", {"150502"})]
    choice = choose_mediator(need(), roster, {"a": 3, "b": 1, "c": 2})
    assert choice.mediator.person_id == "b"
    assert "1 open case(s), fewest of 3" in choice.reason


def test_removed_off_duty_and_already_offered_mediators_are_skipped():
    roster = [mediator("removed", {"150502"}, active=False), mediator("off", {"150502"}, on_duty=False),
              mediator("declined", {"150502"}), mediator("ok", {"1505"})]
    choice = choose_mediator(need(excluded=frozenset({"declined"})), roster, {})
    assert choice.mediator.person_id == "ok"


def test_parties_joint_choice_is_honoured_when_eligible_spc_invited_art12():
    roster = [mediator("near", {"150502001"}), mediator("chosen", {"1505"})]
    choice = choose_mediator(need(chosen_mediator_id="chosen"), roster, {})
    assert choice.mediator.person_id == "chosen"
    assert "joint choice" in choice.reason


def test_ineligible_joint_choice_falls_back_to_the_rule():
    roster = [mediator("near", {"150502001"}), mediator("chosen", {"1505"}, types=("labour",))]
    assert choose_mediator(need(chosen_mediator_id="chosen"), roster, {}).mediator.person_id == "near"


def test_language_is_required_and_its_absence_is_said_out_loud():
    roster = [mediator("zh-near", {"150502001"}), mediator("mn-county", {"150502"}, languages=("zh", "mn"))]
    assert choose_mediator(need(languages=frozenset({"mn"})), roster, {}).mediator.person_id == "mn-county"
    fallback = choose_mediator(need(languages=frozenset({"mn"})), roster[:1], {})
    assert fallback.mediator.person_id == "zh-near" and "interpreter needed" in fallback.reason


def test_nobody_at_any_level_means_no_choice():
    assert choose_mediator(need(), [mediator("elsewhere", {"1504"})], {}) is None


def test_consultation_thresholds_are_configuration_and_a_bad_value_is_named():
    import pytest

    from liandiao.config import SettingsError
    from services.routing.main import load_config

    config = load_config({"CONSULTATION_AMOUNT_YUAN": "100000", "CONSULTATION_PARTIES": "8"})
    assert (config.difficulty.amount_fen, config.difficulty.parties, config.sweep_seconds) == (10_000_000, 8, 30)
    with pytest.raises(SettingsError, match="LIANDIAO_CONSULTATION_RISK_SCORE=0 must be between 1 and 100"):
        load_config({"CONSULTATION_RISK_SCORE": "0"})


def test_difficulty_reasons_at_their_thresholds():
    from services.routing.domain.rules import Difficulty, difficulty_reasons

    policy = Difficulty(risk_score=50, parties=5, amount_fen=50_000_000)
    assert difficulty_reasons(49, 4, 49_999_999, policy) == ()
    assert [r.split(" (")[0] for r in difficulty_reasons(50, 5, 50_000_000, policy)] == [
        "high risk", "many parties", "large amount"]
