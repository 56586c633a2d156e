"""The figures of the board and how each is made: configuration (DOMAIN §7: the working
definitions are "configurable, not statute"), read from a TOML file at start-up and
refused with a message naming the entry at fault. A figure is one base measure
(domain/measures.py) or a rate, numerator ÷ denominator of two counts; its formula text
is written from the measures' definitions, so what is shown is what is computed.

    [[figure]]
    key = "mediation_success_rate"
    label = "人民调解成功率"
    label_en = "People's mediation success rate"
    goal = "up"                 # "up" / "down": one of the three up, three down; omit otherwise
    numerator = "successful"    # a rate ...
    denominator = "mediated"
    # measure = "disputes"      # ... or one measure

Pure: parsing and arithmetic, no I/O (the caller reads the file)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum

from services.statistics.domain.measures import MEASURES, Measure, MeasureKind, Measures


class FormulaError(ValueError):
    """The formulas file is not usable; the message names the entry and the problem."""


class Goal(StrEnum):
    NONE = ""
    UP = "up"
    DOWN = "down"


class FigureKind(StrEnum):
    COUNT = "count"
    RATE = "rate"
    DAYS = "days"
    HOURS = "hours"
    AMOUNT = "amount"


BOARD_SIZE = 3   # three up, three down
_KIND_OF = {MeasureKind.COUNT: FigureKind.COUNT, MeasureKind.EXTERNAL: FigureKind.COUNT,
            MeasureKind.DAYS: FigureKind.DAYS, MeasureKind.HOURS: FigureKind.HOURS,
            MeasureKind.AMOUNT: FigureKind.AMOUNT}


@dataclass(frozen=True)
class FigureDef:
    key: str
    label: str
    label_en: str
    goal: Goal
    measure: Measure | None = None        # a single measure, or
    numerator: Measure | None = None      # a rate
    denominator: Measure | None = None

    @property
    def kind(self) -> FigureKind:
        if self.measure is None:
            return FigureKind.RATE
        return _KIND_OF[self.measure.kind]

    @property
    def source(self) -> str:
        if self.measure is not None and self.measure.kind is MeasureKind.EXTERNAL:
            return self.measure.key.removeprefix("external.")
        return "platform"

    def formula(self, locale: str = "zh") -> str:
        def text(m: Measure) -> str:
            return m.en if locale == "en" else m.zh
        if self.measure is not None:
            return text(self.measure)
        assert self.numerator and self.denominator
        return f"{text(self.numerator)} ÷ {text(self.denominator)}"

    def shown_label(self, locale: str = "zh") -> str:
        return self.label_en if locale == "en" and self.label_en else self.label


@dataclass(frozen=True)
class Formulas:
    figures: tuple[FigureDef, ...]

    def board(self, goal: Goal) -> tuple[FigureDef, ...]:
        return tuple(f for f in self.figures if f.goal is goal)


_ALLOWED = {"key", "label", "label_en", "goal", "measure", "numerator", "denominator"}


def _measure(entry: str, name: str, value: object, *, count_only: bool) -> Measure:
    if not isinstance(value, str) or value not in MEASURES:
        raise FormulaError(f"{entry}: {name} {value!r} is not a measure (known: {', '.join(sorted(MEASURES))})")
    m = MEASURES[value]
    if count_only and m.kind is not MeasureKind.COUNT:
        raise FormulaError(f"{entry}: {name} {value!r} is a {m.kind} measure; a rate is made of counts")
    return m


def _figure(i: int, raw: object) -> FigureDef:
    entry = f"figure[{i}]"
    if not isinstance(raw, dict):
        raise FormulaError(f"{entry}: not a table")
    unknown = set(raw) - _ALLOWED
    if unknown:
        raise FormulaError(f"{entry}: unknown setting(s) {', '.join(sorted(unknown))}")
    key, label = raw.get("key"), raw.get("label")
    if not isinstance(key, str) or not key.replace("_", "").isalnum() or not key.isascii():
        raise FormulaError(f"{entry}: key must be letters, digits and underscores, got {key!r}")
    entry = f"figure {key!r}"
    if not isinstance(label, str) or not label.strip():
        raise FormulaError(f"{entry}: label is required")
    label_en = raw.get("label_en", "")
    if not isinstance(label_en, str):
        raise FormulaError(f"{entry}: label_en must be text")
    try:
        goal = Goal(raw.get("goal", ""))
    except ValueError:
        raise FormulaError(f"{entry}: goal must be \"up\", \"down\" or absent, got {raw.get('goal')!r}") from None
    has_measure, has_rate = "measure" in raw, "numerator" in raw or "denominator" in raw
    if has_measure == has_rate:
        raise FormulaError(f"{entry}: give either measure, or numerator and denominator")
    if has_measure:
        return FigureDef(key, label, label_en, goal, measure=_measure(entry, "measure", raw["measure"], count_only=False))
    return FigureDef(key, label, label_en, goal,
                     numerator=_measure(entry, "numerator", raw.get("numerator"), count_only=True),
                     denominator=_measure(entry, "denominator", raw.get("denominator"), count_only=True))


def parse_formulas(text: str) -> Formulas:
    """The figures of a formulas file; FormulaError if it is malformed, names an unknown
    measure, repeats a key or does not give exactly three figures up and three down."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormulaError(f"not valid TOML: {exc}") from None
    raw = doc.get("figure")
    if not isinstance(raw, list) or not raw:
        raise FormulaError("no [[figure]] entries")
    figures = tuple(_figure(i, r) for i, r in enumerate(raw))
    seen: set[str] = set()
    for f in figures:
        if f.key in seen:
            raise FormulaError(f"figure {f.key!r} is defined twice")
        seen.add(f.key)
    formulas = Formulas(figures)
    for goal in (Goal.UP, Goal.DOWN):
        n = len(formulas.board(goal))
        if n != BOARD_SIZE:
            raise FormulaError(f"the board needs exactly {BOARD_SIZE} figures with goal = \"{goal}\", found {n}")
    return formulas


# ---- values ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Value:
    available: bool
    value: float = 0.0
    numerator: int = 0
    denominator: int = 0
    note: str = ""


def rate(numerator: int, denominator: int) -> Value:
    """numerator ÷ denominator; no value (not 0, not 100 %) when the denominator is zero."""
    if denominator == 0:
        return Value(False, 0.0, numerator, 0, "denominator is zero")
    return Value(True, numerator / denominator, numerator, denominator)


def evaluate(figure: FigureDef, m: Measures) -> Value:
    if figure.measure is None:
        assert figure.numerator and figure.denominator
        return rate(m.count(figure.numerator.key), m.count(figure.denominator.key))
    measure = figure.measure
    if measure.kind is MeasureKind.EXTERNAL:
        ext = m.external.get(figure.source)
        if ext is None or ext.months_reported == 0:
            return Value(False, note="not reported")
        if ext.months_reported < ext.months_expected:
            return Value(False, float(ext.total),
                         note=f"{ext.months_reported} of {ext.months_expected} months reported")
        return Value(True, float(ext.total))
    if measure.kind in (MeasureKind.DAYS, MeasureKind.HOURS):
        d = m.durations.get(measure.key)
        return Value(False, note="no case in the period") if d is None else Value(True, round(d, 2))
    return Value(True, float(m.count(measure.key)))


def change(current: Value, previous: Value) -> float | None:
    """Year-on-year change (同比) as a share of last year's value; None without both values
    or when last year's is zero."""
    if not (current.available and previous.available) or previous.value == 0:
        return None
    return (current.value - previous.value) / previous.value
