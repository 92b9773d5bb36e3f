"""Message templates: Jinja2 in a sandbox, per locale, variant and channel part.

Apps write templates, so a template must never run code or reach Python internals:
they compile in Jinja2's `ImmutableSandboxedEnvironment` (no attribute escape, no
mutation of what they are given) with every growing operation bounded (`sandbox.py`:
no `n ** n`, no `'x' * 10**9`), `range` is capped, loops nest at most two deep,
and each part's output is cut off at a size limit while it is generated, so a
template cannot hold a worker hostage or fill its memory. Undefined values render
empty (a missing attribute is a missing word, not a failed delivery); unknown
top-level names are refused when the template is saved.

A template is `{"locales": {tag: parts}, "variants": [{"key", "locales": {tag: parts}}]}`
where parts are `title`, `subtitle`, `body`, `url`, `image` (push), `email:
{subject, html, text}` and `inbox: {title, body}`. A variant's locale that lacks a
part takes the template's own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError

from pushwise.domain.content.filters import FILTERS, LOCALE_KEY, TIMEZONE_KEY
from pushwise.domain.content.locales import best_locale
from pushwise.domain.content.sandbox import BoundedSandbox, TooLarge, check_constants

CONTEXT_NAMES = frozenset({"user", "item", "event", "data", "variables"})
PUSH_PARTS = ("title", "subtitle", "body", "url", "image")
EMAIL_PARTS = ("email.subject", "email.html", "email.text")
INBOX_PARTS = ("inbox.title", "inbox.body")
ALL_PARTS = (*PUSH_PARTS, *EMAIL_PARTS, *INBOX_PARTS)
MAX_SOURCE_CHARS = 65_536
MAX_LOOP_DEPTH = 2
MAX_TREE_DEPTH = 100  # nodes inside nodes; real templates stay under 30, Python's parser stops at 200
MAX_RANGE = 1_000
OUTPUT_LIMITS = {"email.html": 262_144, "email.text": 65_536}
DEFAULT_OUTPUT_LIMIT = 8_192


class TemplateInvalid(ValueError):
    """A template that cannot be saved; `path` names the part (`locales.en.title`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class RenderingFailed(ValueError):
    """A template that could not render for this user (too large, a sandbox violation)."""


def _capped_range(*args: int) -> range:
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise OverflowError(f"range over {MAX_RANGE} items is not allowed in templates")
    return found


def _environment(autoescape: bool) -> BoundedSandbox:
    environment = BoundedSandbox(
        autoescape=autoescape, undefined=ChainableUndefined, keep_trailing_newline=True
    )
    environment.filters.update(FILTERS)
    environment.globals["range"] = _capped_range
    return environment


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def _flatten(parts: Mapping[str, Any], path: str) -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in parts.items():
        if name in ("email", "inbox"):
            if not isinstance(value, Mapping):
                raise TemplateInvalid(f"{path}.{name}", "an object of parts")
            for sub, text in value.items():
                flat.update(_flatten({f"{name}.{sub}": text}, path))
            continue
        if name not in ALL_PARTS:
            raise TemplateInvalid(f"{path}.{name}", f"not a template part; use {', '.join(ALL_PARTS)}")
        if value is None:
            continue
        if not isinstance(value, str):
            raise TemplateInvalid(f"{path}.{name}", "a template part is a string")
        if len(value) > MAX_SOURCE_CHARS:
            raise TemplateInvalid(f"{path}.{name}", f"longer than {MAX_SOURCE_CHARS} characters")
        flat[name] = value
    return flat


def _tree_depth(tree: nodes.Node) -> int:
    """How deep nodes nest (`1+1+...+1` is a node per `+`), walked with a stack, not recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_TREE_DEPTH:
            break
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


def _loop_depth(node: nodes.Node, depth: int = 0) -> int:
    deepest = depth
    for child in node.iter_child_nodes():
        inner = depth + 1 if isinstance(child, nodes.For) else depth
        deepest = max(deepest, _loop_depth(child, inner))
    return deepest


def _user_paths(tree: nodes.Template) -> frozenset[tuple[str, ...]] | None:
    """Static `user.a.b` paths the template reads; None when it uses `user` some other way."""
    paths: set[tuple[str, ...]] = set()
    chained: set[int] = set()
    lookups: list[nodes.Getattr | nodes.Getitem] = list(tree.find_all((nodes.Getattr, nodes.Getitem)))
    inner = {id(node.node) for node in lookups}
    for node in lookups:
        if id(node) in inner:
            continue  # part of a longer chain, read from its outermost lookup
        path: list[str] = []
        current: nodes.Node = node
        while isinstance(current, nodes.Getattr | nodes.Getitem):
            if isinstance(current, nodes.Getattr):
                path.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str):
                path.append(current.arg.value)
            else:
                path.clear()  # a dynamic key: everything below the root may matter
            chained.add(id(current))
            current = current.node
        if isinstance(current, nodes.Name) and current.name == "user":
            chained.add(id(current))
            paths.add(tuple(reversed(path)))
    for name in tree.find_all(nodes.Name):
        if name.name == "user" and id(name) not in chained:
            return None
    # Keep the shortest prefixes: `user.attributes` covers `user.attributes.plan`.
    return frozenset(p for p in paths if not any(p[: len(q)] == q and q != p for q in paths))


@dataclass(frozen=True, slots=True)
class CompiledPart:
    source: str
    template: Any  # jinja2.Template
    user_paths: frozenset[tuple[str, ...]] | None
    names: frozenset[str]
    tree: nodes.Template = field(repr=False)


def compile_part(source: str, path: str, html: bool = False) -> CompiledPart:
    environment = _HTML if html else _TEXT
    try:
        tree = environment.parse(source)
    except TemplateSyntaxError as error:
        raise TemplateInvalid(path, f"syntax error on line {error.lineno}: {error.message}") from error
    except RecursionError as error:
        raise TemplateInvalid(path, "expressions nest too deeply") from error
    if _tree_depth(tree) > MAX_TREE_DEPTH:
        # Checked without recursion, before anything below walks the tree recursively.
        raise TemplateInvalid(path, f"expressions nest too deeply (at most {MAX_TREE_DEPTH} levels)")
    names = frozenset(node.name for node in tree.find_all(nodes.Name) if node.ctx == "load") - _assigned(tree)
    unknown = sorted(names - CONTEXT_NAMES - set(environment.globals))
    if unknown:
        raise TemplateInvalid(
            path, f"unknown variable {unknown[0]!r}; templates see {', '.join(sorted(CONTEXT_NAMES))}"
        )
    if _loop_depth(tree) > MAX_LOOP_DEPTH:
        raise TemplateInvalid(path, f"loops nest at most {MAX_LOOP_DEPTH} deep")
    for filter_node in tree.find_all(nodes.Filter):
        if filter_node.name not in environment.filters:
            raise TemplateInvalid(path, f"unknown filter {filter_node.name!r}")
    try:
        check_constants(tree)
    except TooLarge as error:
        raise TemplateInvalid(path, str(error)) from error
    try:
        compiled = environment.from_string(tree)
    except (ValueError, ArithmeticError, TypeError, RecursionError, SyntaxError) as error:
        # Jinja2 folds constant expressions while compiling; one that cannot be computed or shown
        # (a number too long to print, a division by zero) is the template's fault, not the server's.
        raise TemplateInvalid(path, f"cannot be compiled: {error}") from error
    return CompiledPart(source, compiled, _user_paths(tree), names, tree)


def _assigned(tree: nodes.Template) -> frozenset[str]:
    """Names the template binds itself (`{% set %}`, loop targets, macro arguments)."""
    bound: set[str] = set()
    for node in tree.find_all((nodes.Assign, nodes.For, nodes.Macro, nodes.AssignBlock)):
        targets = [getattr(node, "target", None), *list(getattr(node, "args", []) or [])]
        for target in targets:
            if target is not None:
                bound.update(n.name for n in target.find_all(nodes.Name))
                if isinstance(target, nodes.Name):
                    bound.add(target.name)
    bound.add("loop")
    return frozenset(bound)


LocaleParts = Mapping[str, CompiledPart]


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    key: str
    version: int
    locales: Mapping[str, LocaleParts]
    variants: Mapping[str, Mapping[str, LocaleParts]]  # variant key -> locale -> parts (own only)

    @property
    def variant_keys(self) -> tuple[str, ...]:
        return tuple(self.variants)

    def parts(self, variant: str | None, locale: str) -> dict[str, CompiledPart]:
        chosen = dict(self.locales.get(locale, {}))
        if variant is not None:
            own = self.variants.get(variant, {})
            chosen.update(own.get(locale, {}) or own.get(best_locale(list(own), locale), {}) if own else {})
        return chosen

    def locale_for(self, variant: str | None, wanted: str | None) -> str:
        available = list(self.locales) or list(self.variants.get(variant or "", {}))
        return best_locale(available, wanted)

    def user_paths(self) -> frozenset[tuple[str, ...]] | None:
        """Everything any part reads of `user` (None: the whole user)."""
        found: set[tuple[str, ...]] = set()
        for part in self._all_parts():
            if part.user_paths is None:
                return None
            found |= part.user_paths
        return frozenset(found)

    def uses(self, name: str) -> bool:
        return any(name in part.names for part in self._all_parts())

    def _all_parts(self) -> Iterator[CompiledPart]:
        for parts in self.locales.values():
            yield from parts.values()
        for locales in self.variants.values():
            for parts in locales.values():
                yield from parts.values()


def compile_template(key: str, version: int, definition: Mapping[str, Any]) -> CompiledTemplate:
    """Parse and check a stored or submitted template; raises `TemplateInvalid` naming the part."""
    locales_raw = definition.get("locales") or {}
    if not isinstance(locales_raw, Mapping) or not locales_raw:
        raise TemplateInvalid("locales", 'a template needs at least one locale, e.g. {"en": {...}}')
    locales = {tag: _compile_locale(parts, f"locales.{tag}") for tag, parts in locales_raw.items()}
    variants: dict[str, dict[str, dict[str, CompiledPart]]] = {}
    for index, variant in enumerate(definition.get("variants") or []):
        path = f"variants[{index}]"
        variant_key = variant.get("key") if isinstance(variant, Mapping) else None
        if not isinstance(variant_key, str) or not variant_key or variant_key == "holdout":
            raise TemplateInvalid(f"{path}.key", "each variant has a key (not 'holdout')")
        if variant_key in variants:
            raise TemplateInvalid(f"{path}.key", f"variant {variant_key!r} appears twice")
        own = variant.get("locales") or {}
        variants[variant_key] = {
            tag: _compile_locale(parts, f"{path}.locales.{tag}") for tag, parts in own.items()
        }
    for tag, parts in locales.items():
        if not any(name in parts for name in ("title", "body", "email.subject", "inbox.title", "inbox.body")):
            raise TemplateInvalid(f"locales.{tag}", "give at least a title or a body")
    return CompiledTemplate(key, version, locales, variants)


def _compile_locale(parts: Any, path: str) -> dict[str, CompiledPart]:
    if not isinstance(parts, Mapping):
        raise TemplateInvalid(path, "an object of parts: title, body, email, inbox, ...")
    return {
        name: compile_part(source, f"{path}.{name}", html=name == "email.html")
        for name, source in _flatten(parts, path).items()
    }


def render_part(part: CompiledPart, name: str, context: Mapping[str, Any]) -> str:
    """Render one part, stopping as soon as its output passes the part's size limit."""
    limit = OUTPUT_LIMITS.get(name, DEFAULT_OUTPUT_LIMIT)
    pieces: list[str] = []
    size = 0
    try:
        for piece in part.template.generate(context):
            size += len(piece)
            if size > limit:
                raise RenderingFailed(f"{name} renders longer than {limit} characters")
            pieces.append(piece)
    except (SecurityError, OverflowError, TypeError, ValueError, ArithmeticError, RecursionError) as error:
        if isinstance(error, RenderingFailed):
            raise
        raise RenderingFailed(f"{name}: {error}") from error
    text = "".join(pieces)
    return text if name in ("email.html", "email.text") else " ".join(text.split()) if "\n" in text else text


def render(
    template: CompiledTemplate,
    variant: str | None,
    locale: str,
    context: Mapping[str, Any],
    names: Sequence[str] = ALL_PARTS,
) -> dict[str, str]:
    """The parts `names` of `template` in `locale` (and `variant`), empty parts left out."""
    parts = template.parts(variant, locale)
    rendered = {}
    for name in names:
        part = parts.get(name)
        if part is not None:
            text = render_part(part, name, context)
            if text.strip():
                rendered[name] = text
    return rendered


def template_context(
    *,
    user: Mapping[str, Any],
    locale: str,
    timezone: str | None,
    item: Mapping[str, Any] | None = None,
    event: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What templates see (API.md "Template context"), plus the locale and zone the filters use."""
    return {
        "user": dict(user),
        "item": dict(item or {}),
        "event": dict(event or {}),
        "data": dict(data or {}),
        "variables": dict(variables or {}),
        LOCALE_KEY: locale,
        TIMEZONE_KEY: timezone,
    }
