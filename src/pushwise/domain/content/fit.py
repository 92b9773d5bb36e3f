"""Will a template's push fit the providers' payload limits at its longest? An estimate, at save time.

The real check happens per delivery (fallback content, then shortening: `payload_fit`);
this one warns the author early, with the numbers. Each output expression is assumed
to print at most what its source plausibly holds (a user attribute 100 bytes, an item
title 200, a formatted price 24, anything else 100; four bytes a character, UTF-8's
worst); literal text counts as written; a loop counts its body ten times; both
branches of a condition count. A template can still be longer than this estimate
(a long `variables` value), and usually is far shorter.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import nodes

from pushwise.domain.apns_message import MAX_PAYLOAD_BYTES as APNS_LIMIT
from pushwise.domain.content.templates import CompiledPart, CompiledTemplate
from pushwise.domain.fcm_message import MAX_PAYLOAD_BYTES as FCM_LIMIT
from pushwise.domain.webpush_message import MAX_PAYLOAD_BYTES as WEBPUSH_LIMIT

LIMITS = {"apns": APNS_LIMIT, "fcm": FCM_LIMIT, "webpush": WEBPUSH_LIMIT}
# The payload's own JSON around the text (keys, quotes, aps), measured on the renderers' output.
ENVELOPE_BYTES = {"apns": 64, "fcm": 96, "webpush": 48}
LOOP_TIMES = 10
_BY_ROOT = {"user": 100, "item": 200, "event": 100, "data": 100, "variables": 100}
_BY_ATTRIBUTE = {"price": 24, "currency": 3, "id": 64, "title": 200, "url": 512, "image": 512}
_PUSH_PARTS = ("title", "subtitle", "body", "url", "image")


def _expression_bytes(node: nodes.Node) -> int:
    if isinstance(node, nodes.Const):
        return len(str(node.value).encode())
    if isinstance(node, nodes.Getattr) and node.attr in _BY_ATTRIBUTE:
        return _BY_ATTRIBUTE[node.attr] * 4
    root = node
    while isinstance(root, nodes.Getattr | nodes.Getitem | nodes.Filter):
        root = root.node  # type: ignore[assignment]
    if isinstance(root, nodes.Name):
        return _BY_ROOT.get(root.name, 100) * 4
    return 100 * 4


def _node_bytes(node: nodes.Node) -> int:
    if isinstance(node, nodes.TemplateData):
        return len(node.data.encode())
    if isinstance(node, nodes.Output):
        return sum(
            _node_bytes(child) if isinstance(child, nodes.TemplateData) else _expression_bytes(child)
            for child in node.nodes
        )
    if isinstance(node, nodes.For):
        return LOOP_TIMES * sum(_node_bytes(child) for child in node.body) + sum(
            _node_bytes(child) for child in node.else_
        )
    return sum(_node_bytes(child) for child in node.iter_child_nodes())


def worst_case_bytes(part: CompiledPart) -> int:
    return _node_bytes(part.tree)


@dataclass(frozen=True, slots=True)
class SizeWarning:
    path: str  # locales.<tag> or variants[i].locales.<tag>
    provider: str
    worst_case_bytes: int
    limit: int

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "provider": self.provider,
            "worst_case_bytes": self.worst_case_bytes,
            "limit": self.limit,
            "message": f"at its longest this push could be {self.worst_case_bytes} bytes; "
            f"{self.provider} allows {self.limit} (pushwise then sends shortened or fallback content)",
        }


def size_warnings(template: CompiledTemplate) -> list[SizeWarning]:
    found = []
    sections: list[tuple[str, str | None, str]] = [(f"locales.{tag}", None, tag) for tag in template.locales]
    for index, (variant_key, locales) in enumerate(template.variants.items()):
        sections += [(f"variants[{index}].locales.{tag}", variant_key, tag) for tag in locales]
    for path, variant, tag in sections:
        parts = template.parts(variant, tag)
        text = sum(worst_case_bytes(parts[name]) for name in _PUSH_PARTS if name in parts)
        for provider, limit in LIMITS.items():
            estimate = text + ENVELOPE_BYTES[provider]
            if estimate > limit:
                found.append(SizeWarning(path, provider, estimate, limit))
    return found
