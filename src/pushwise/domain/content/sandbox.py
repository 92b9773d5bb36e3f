"""The Jinja2 sandbox templates render in, with every operation's result bounded.

Jinja2's sandbox stops templates from reaching Python internals, but not from asking for
work: `{{ n ** n }}` with n = 300,000 computes for seconds, `{{ 'x' * 10**9 }}` or a
chain of `{% set a = a ~ a %}` allocates gigabytes before the streamed output's size
limit can see a single character, and `{{ 7 ** 200000 }}` fails while the template is
compiled (Jinja2 folds constants). So each operator that can grow a value (`**`, `*`,
`+`, `%`, `~`), each filter whose arguments set a size (`center`, `indent`, `wordwrap`,
`batch`, `slice`, `join`, `replace`, `format`, `tojson`) and `str.format` checks, before
doing the work, that the result stays within `MAX_INT_BITS` for integers and
`MAX_VALUE_CHARS` for strings and sequences; otherwise it raises `TooLarge`, which the
template layer reports as a failed rendering. Intercepted operators are never
constant-folded by Jinja2; `check_constants` evaluates their constant operands through
the same bounded operations when a template is saved, so a literal `7 ** 200000` is
refused then, with the part named, instead of at each send.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sized
from string import Formatter
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_INT_BITS = 3_322  # about 1,000 decimal digits: no message needs a longer number
MAX_VALUE_CHARS = 262_144  # the largest part's output limit (e-mail HTML)
_SPEC_NUMBER = re.compile(r"\d+")
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


class TooLarge(ValueError):
    """An operation whose result would pass the sandbox's bounds; nothing was computed."""


def _size(value: Any) -> int:
    return len(value) if isinstance(value, Sized) else 0


def _check_chars(size: int, what: str) -> None:
    if size > MAX_VALUE_CHARS:
        raise TooLarge(f"{what} would be {size:,} long; templates allow {MAX_VALUE_CHARS:,}")


def _check_bits(bits: float, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise TooLarge(f"{what} would have about {int(bits * math.log10(2)):,} digits; templates allow 1,000")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _power(left: Any, right: Any) -> Any:
    if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        _check_bits(right * math.log2(abs(left)), f"{left} ** {right}")
    return left**right


def _multiply(left: Any, right: Any) -> Any:
    if _is_int(left) and _is_int(right):
        _check_bits(left.bit_length() + right.bit_length(), "a product")
    elif _is_int(right) and isinstance(left, Sized):
        _check_chars(len(left) * right, "a repeated value")
    elif _is_int(left) and isinstance(right, Sized):
        _check_chars(left * len(right), "a repeated value")
    return left * right


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, Sized) and isinstance(right, Sized):
        _check_chars(len(left) + len(right), "a sum")
    return left + right


def _printf_width(spec: str) -> None:
    """Refuse `%`-format widths or precisions that would pad a value past the bounds."""
    for found in _PRINTF_SPEC.finditer(spec):
        for number in found.groups():
            if number == "*":
                raise TooLarge("a '*' width in a format string is not allowed in templates")
            if number is not None:
                _check_chars(int(number), "a formatted field")


def _modulo(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        _printf_width(left)
    return left % right


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "**": _power,
    "*": _multiply,
    "+": _add,
    "%": _modulo,
}


def _bounded_join(pieces: Iterable[Any], separator: str = "") -> int:
    """The length `separator.join(pieces)` would have."""
    items = list(pieces)
    return sum(len(str(item)) for item in items) + len(separator) * max(len(items) - 1, 0)


def _guarded(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """`original` (a built-in filter) preceded by the check of the size it would produce."""

    def check(value: Any, *args: Any, **kwargs: Any) -> None:
        width: Any = args[0] if args else kwargs.get("width", kwargs.get("linecount", kwargs.get("slices")))
        if name in ("center", "batch", "slice") and _is_int(width):
            _check_chars(max(width, _size(value)), f"{name}({width})")
        elif name == "indent" and width is not None:
            lines = str(value).count("\n") + 1
            pad: int = width if _is_int(width) else len(str(width))
            _check_chars(_size(value) + pad * lines, f"indent({width!r})")
        elif name == "wordwrap":
            wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring")
            _check_chars(_size(value) * (1 + len(wrap or "\n")), "wordwrap")
        elif name == "replace":
            old = args[0] if args else kwargs.get("old")
            new = args[1] if len(args) > 1 else kwargs.get("new")
            text = str(value)
            times = text.count(str(old)) if old else len(text) + 1
            _check_chars(len(text) + times * len(str(new or "")), "replace")
        elif name == "join":
            separator = args[0] if args else kwargs.get("d", "")
            if isinstance(value, Iterable) and not isinstance(value, str):
                _check_chars(_bounded_join(value, str(separator)), "join")
        elif name == "format":
            _printf_width(str(value))
        elif name == "tojson" and _is_int(width):
            _check_chars(int(width), f"tojson(indent={width})")
        return None

    def materialised(value: Any) -> Any:
        """A one-pass iterable as a list, so checking it does not consume what the filter reads."""
        return value if isinstance(value, Sized) or not isinstance(value, Iterable) else list(value)

    if getattr(original, "jinja_pass_arg", None) is not None:
        # pass_eval_context / pass_environment filters get that argument first.
        def passing(first: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            value = materialised(value)
            check(value, *args, **kwargs)
            return original(first, value, *args, **kwargs)

        passing.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return passing

    def plain(value: Any, *args: Any, **kwargs: Any) -> Any:
        value = materialised(value)
        check(value, *args, **kwargs)
        return original(value, *args, **kwargs)

    return plain


GUARDED_FILTERS = ("center", "indent", "wordwrap", "batch", "slice", "join", "replace", "format", "tojson")


def _constant(node: nodes.Expr) -> Any:
    """The value of a constant expression, intercepted operators computed by the bounded ones."""
    if isinstance(node, nodes.BinExpr) and node.operator in _BINOPS:
        return _BINOPS[node.operator](_constant(node.left), _constant(node.right))
    return node.as_const()


def check_constants(tree: nodes.Template) -> None:
    """Raise `TooLarge` for a constant expression (`7 ** 200000`) past the bounds."""
    for node in tree.find_all(nodes.BinExpr):
        if node.operator in _BINOPS:
            try:
                _constant(node)
            except nodes.Impossible:
                continue  # depends on the context: checked when it renders
            except (ArithmeticError, TypeError, ValueError) as error:
                if isinstance(error, TooLarge):
                    raise
                continue  # an ordinary failure (1 % 0) is the rendering's to report


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` to a join whose result is checked before the template goes on."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """`ImmutableSandboxedEnvironment` whose growing operations are bounded (module docstring)."""

    intercepted_binops = frozenset(_BINOPS)
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name in GUARDED_FILTERS:
            self.filters[name] = _guarded(name, self.filters[name])

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return _BINOPS[operator](left, right)

    @staticmethod
    def bounded_concat(value: str) -> str:
        _check_chars(len(value), "a joined string")
        return value

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _format_spec_widths(value.__self__)
        return wrapped


def _format_spec_widths(text: str) -> None:
    """Refuse `str.format` fields padded past the bounds, or padded by a nested field."""
    for _, field, spec, _ in Formatter().parse(text):
        if field is None or not spec:
            continue
        if "{" in spec:
            raise TooLarge("a nested field in a format spec is not allowed in templates")
        for number in _SPEC_NUMBER.findall(spec):
            _check_chars(int(number), "a formatted field")
