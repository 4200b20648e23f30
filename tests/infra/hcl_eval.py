"""Evaluating the small Terraform expressions the infra tests depend on (counts, locals,
validation conditions, preconditions) for chosen variable values, without terraform.

Covers what infra/terraform uses in those places: literals, `var.`, `local.`, named
module outputs, `? :`, `||`, `&&`, `!`, comparisons, `null`, `length`, `coalesce`,
`tonumber`, `split`, `can`, `cidrhost` (as validity only), `ceil`, `trimsuffix`, string
templates (`"${...}"`) and list `for` expressions (`[for x in xs : ...]`, no `if`).
Anything else raises, so a test never passes on an expression it did not understand.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

_NAMES = re.compile(r"(?<![\w.\"])(var|local)\.([A-Za-z_][\w-]*)")
_MODULE = re.compile(r"(?<![\w.\"])module\.(\w+)\[0\]\.(\w+)")


def _strip(expression: str) -> str:
    text = expression.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1].strip()
    return text


def _top_level(text: str, char: str, start: int = 0) -> int:
    """Index of `char` outside brackets and strings, or -1."""
    depth, quoted = 0, False
    for i in range(start, len(text)):
        c = text[i]
        if c == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif quoted:
            continue
        elif c == char and depth == 0:
            return i
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
    return -1


def _closing(text: str, start: int, pair: str) -> int:
    """Index of the bracket closing the one at `start` (`pair` like "[]"), skipping
    strings."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _string_end(text, i)
            continue
        if c == pair[0]:
            depth += 1
        elif c == pair[1]:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced {pair} in {text!r}")


def _string_end(text: str, start: int) -> int:
    """Index after the HCL string opening at `start`, its `${...}` parts included."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text.startswith("${", i):
            i = _closing(text, i + 1, "{}") + 1
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    raise ValueError(f"unterminated string in {text!r}")


def _templates(code: str) -> str:
    """HCL strings with `${...}` parts -> a Python concatenation of their pieces."""
    out, i = [], 0
    while i < len(code):
        if code[i] != '"':
            out.append(code[i])
            i += 1
            continue
        end = _string_end(code, i)
        body, pieces, j, literal = code[i + 1 : end - 1], [], 0, ""
        while j < len(body):
            if body.startswith("${", j):
                close = _closing(body, j + 1, "{}")
                pieces += [repr(literal), f"_str({_templates(body[j + 2 : close])})"]
                literal, j = "", close + 1
            else:
                literal += body[j]
                j += 1
        out.append(code[i:end] if not pieces else "(" + " + ".join([*pieces, repr(literal)]) + ")")
        i = end
    return "".join(out)


def _for_expressions(code: str) -> str:
    """`[for x in xs : f(x)]` -> `[f(x) for x in xs]`."""
    start = code.find("[for ")
    while start >= 0:
        end = _closing(code, start, "[]")
        name, _, rest = code[start + 5 : end].partition(" in ")
        colon = _top_level(rest, ":")
        if colon < 0 or not name.strip().isidentifier():
            raise ValueError(f"unsupported for expression: {code[start : end + 1]!r}")
        value, source = rest[colon + 1 :].strip(), rest[:colon].strip()
        code = f"{code[:start]}[{value} for {name.strip()} in {source}]{code[end + 1 :]}"
        start = code.find("[for ", start + 1)
    return code


def _str(value: Any) -> str:
    """A value as Terraform interpolates it (whole numbers without a decimal point)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool) or value is None or not isinstance(value, str | int | float):
        raise ValueError(f"cannot interpolate {value!r}")
    return str(value)


def _trimsuffix(text: str, suffix: str) -> str:
    return text[: -len(suffix)] if suffix and text.endswith(suffix) else text


def _can(thunk: Callable[[], Any]) -> bool:
    try:
        thunk()
    except Exception:
        return False
    return True


def _cidrhost(cidr: str, host: int) -> str:
    return str(ipaddress.ip_network(cidr, strict=False)[host])


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    raise ValueError("coalesce: no non-null argument")


class Evaluator:
    """Evaluates expressions of one Terraform folder for given variable values.

    `modules` maps "name.output" (module.<name>[0].<output>) to a value.
    """

    def __init__(
        self,
        variables: Mapping[str, Any],
        locals_: Mapping[str, Any] | None = None,
        modules: Mapping[str, Any] | None = None,
    ) -> None:
        self.variables = variables
        self.locals = locals_ or {}
        self.modules = modules or {}

    def local(self, name: str) -> Any:
        return self(str(self.locals[name]))

    def __call__(self, expression: str) -> Any:
        text = _strip(expression)
        question = _top_level(text, "?")
        if question >= 0:
            colon = _top_level(text, ":", question + 1)
            condition, then, other = text[:question], text[question + 1 : colon], text[colon + 1 :]
            return self(then) if self(condition) else self(other)
        if text.startswith("(") and _top_level(text[1:], ")") == len(text) - 2:
            return self(text[1:-1])
        return self._python(text)

    def _python(self, text: str) -> Any:
        code = _templates(_for_expressions(text))
        code = _MODULE.sub(lambda m: f'M["{m[1]}.{m[2]}"]', code)
        code = _NAMES.sub(lambda m: f'V["{m[2]}"]' if m[1] == "var" else f'L("{m[2]}")', code)
        code = code.replace("&&", " and ").replace("||", " or ")
        code = re.sub(r"!(?!=)", " not ", code)
        code = re.sub(r"\bnull\b", "None", code)
        code = re.sub(r"\btrue\b", "True", code)
        code = re.sub(r"\bfalse\b", "False", code)
        code = re.sub(r"\bcan\(", "can(lambda: ", code)
        namespace: dict[str, Any] = {
            "__builtins__": {},
            "V": self.variables,
            "L": self.local,
            "M": self.modules,
            "length": len,
            "coalesce": _coalesce,
            "tonumber": float,
            "split": lambda sep, text: text.split(sep),
            "can": _can,
            "cidrhost": _cidrhost,
            "min": min,
            "ceil": math.ceil,
            "trimsuffix": _trimsuffix,
            "_str": _str,
        }
        # The repository's own HCL, never outside input.
        return eval(code, namespace)
