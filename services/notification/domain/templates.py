"""Message templates (pure). Bodies never carry ID numbers or full phone numbers."""

from __future__ import annotations

from string import Template

TEMPLATES: dict[str, Template] = {
    "dispute-assigned/party": Template(
        "【联调】$name：您的纠纷（编号 $short_id，$type_zh）已由调解员 $mediator 受理，"
        "调解员将与您联系。人民调解不收费（人民调解法第四条）。"),
    "dispute-assigned/mediator": Template(
        "【联调】$mediator：您已接受纠纷 $short_id（$type_zh，$region）的调解，当事人 $party_count 人。"
        "请在期限内开展调解。"),
    "dispute-assigned/referrer": Template(
        "【联调】贵单位移交/委派的纠纷 $short_id 已分派调解员 $mediator。"),
}


def render(template: str, values: dict[str, str]) -> str:
    """Raises KeyError for an unknown template or a missing value, never half-fills."""
    return TEMPLATES[template].substitute(values)
