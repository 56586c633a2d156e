"""Message templates per locale, rendered in Jinja2's sandbox (pure).

The texts live in ``templates/<locale>.toml`` (one key per template); operators edit
them like the routing file. zh-CN is the reference: every template must have it, a
template missing in a recipient's language falls back to it. Undefined values are an
error, never an empty gap in a message. Bodies never carry ID numbers or full phones:
the values given to a template are the masked ones."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

DEFAULT_LOCALE = "zh-CN"
SHIPPED = Path(__file__).resolve().parent.parent / "templates"
# A party's or person's language as the other services record it (BCP-47, often bare).
_ALIASES = {"zh": "zh-CN", "zh-hans": "zh-CN", "zh-cn": "zh-CN", "mn": "mn-Mong", "mn-mong": "mn-Mong",
            "mn-cn": "mn-Mong", "en": "en"}


class TemplateProblem(ValueError):
    """A template file or a rendering is wrong; the message names the template."""


@dataclass(frozen=True)
class Rendered:
    body: str
    locale: str      # the locale actually used (zh-CN when the wanted one has no text)


def locale_of(language: str, default: str = DEFAULT_LOCALE) -> str:
    return _ALIASES.get(language.strip().lower(), default) if language else default


class Catalog:
    """All locales' texts, compiled once at start-up (a syntax error stops the service)."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]], default: str = DEFAULT_LOCALE):
        if default not in texts:
            raise TemplateProblem(f"no {default} templates: the default locale needs every template")
        self.default = default
        self.env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.compiled = {}
        for locale, entries in texts.items():
            for name, text in entries.items():
                try:
                    self.compiled[(locale, name)] = self.env.from_string(text)
                except TemplateError as exc:
                    raise TemplateProblem(f"{locale}/{name}: {exc}") from None
        self.names = frozenset(texts[default])

    @classmethod
    def load(cls, folder: Path = SHIPPED) -> Catalog:
        texts: dict[str, dict[str, str]] = {}
        for path in sorted(folder.glob("*.toml")):
            try:
                texts[path.stem] = _flatten(tomllib.loads(path.read_text("utf-8")))
            except tomllib.TOMLDecodeError as exc:
                raise TemplateProblem(f"{path.name}: {exc}") from None
        return cls(texts)

    def render(self, name: str, locale: str, values: Mapping[str, object]) -> Rendered:
        """Raises KeyError for an unknown template, TemplateProblem for a missing value."""
        if name not in self.names:
            raise KeyError(name)
        used = locale if (locale, name) in self.compiled else self.default
        try:
            return Rendered(self.compiled[(used, name)].render(**values).strip(), used)
        except TemplateError as exc:
            raise TemplateProblem(f"{used}/{name}: {exc}") from None


def _flatten(data: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """``[dispute-assigned] party = "..."`` -> ``{"dispute-assigned/party": "..."}``."""
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}/{key}" if prefix else key
        if isinstance(value, Mapping):
            out.update(_flatten(value, name))
        elif isinstance(value, str):
            out[name] = value
        else:
            raise TemplateProblem(f"{name}: a template is a string")
    return out
