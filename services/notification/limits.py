"""Notification's sizes, in one place: what the gRPC edge enforces on every request
(liandiao.rpc.checks; docs/decisions.md "Bounded input")."""

from __future__ import annotations

from liandiao.sizes import CODE, SHORT, Limits, Size

TEMPLATE_VALUES = 20         # a template has a handful of placeholders

LIMITS = Limits({
    "PreviewRequest.template": Size(chars=CODE * 2),
    "PreviewRequest.locale": Size(chars=CODE),
    # A map's keys and values share the map field's size.
    "PreviewRequest.values": Size(chars=SHORT, items=TEMPLATE_VALUES),
})
