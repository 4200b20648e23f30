"""A small safe expression language for consistency checks, such as ``end >= start``.

The text is parsed with `ast` and only comparisons, boolean operators (and, or, not), field
names, constants, tuples/lists of constants and unary minus are accepted. Nothing is ever
passed to `eval`: the tree is walked here, so an expression cannot call, import or reach an
attribute. A missing field is None; a comparison that Python refuses (None < 3) is False.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

from consumer.errors import ConfigError

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def _check(node: ast.AST, text: str) -> None:
    allowed = (
        ast.Expression,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.Compare,
        ast.Name,
        ast.Load,
        ast.Constant,
        ast.Tuple,
        ast.List,
        *_COMPARE,
    )
    for child in ast.walk(node):
        if not isinstance(child, allowed):
            raise ConfigError(f"expression {text!r}: {type(child).__name__} is not allowed")


class SafeExpression:
    """A parsed, checked expression evaluated against one row."""

    def __init__(self, text: str, field: str = "expr") -> None:
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            raise ConfigError(f"{field}: {text!r} is not an expression: {exc.msg}") from None
        try:
            _check(tree, text)
        except ConfigError as exc:
            raise ConfigError(f"{field}: {exc}") from None
        self.text = text
        self._body = tree.body

    def __call__(self, row: Mapping[str, Any]) -> bool:
        try:
            return bool(_eval(self._body, row))
        except TypeError:
            return False


def _eval(node: ast.expr, row: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return row.get(node.id)
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_eval(element, row) for element in node.elts)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, row)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.BoolOp):
        values = (_eval(value, row) for value in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        return _compare(node, row)
    raise ConfigError(f"unexpected {type(node).__name__}")  # _check makes this unreachable


def _compare(node: ast.Compare, row: Mapping[str, Any]) -> bool:
    left = _eval(node.left, row)
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = _eval(comparator, row)
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True
