"""SymPy parsing without ``eval``: JustTinker's third comparison step, made safe.

JustTinker parses answers with ``sympy.parse_expr``, which turns the text into Python source and
``eval``s it with every SymPy name and Python builtin in scope: an answer such as
``__import__('os').system(...)`` runs. Here the same source is produced by SymPy's own
tokenizer and transformations (``stringify_expr``, which only rewrites tokens), read with
``ast``, and built by a small interpreter that knows numbers, symbols, arithmetic and the
elementary functions. Anything else -- other SymPy objects, builtins, attributes, lambdas,
containers -- is not evaluated and the answers count as not equivalent. On what it accepts
the result is the object ``parse_expr`` would return, so the comparison is JustTinker's.

This module imports SymPy; it runs inside the math-verify helper process, under its deadline
and memory cap (``reward_fns.mathverify_pool``).
"""

from __future__ import annotations

import ast
import builtins
import operator
import types

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    standard_transformations,
    stringify_expr,
)

from reward_fns.justtinker import NUMERIC_TOLERANCE

# The transformations of JustTinker's parse, then of its ``sympify`` fallback.
_ATTEMPTS = (
    (standard_transformations + (implicit_multiplication_application,), False),
    (standard_transformations + (convert_xor,), True),
)
_CONSTRUCTORS = {"Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational, "Number": sympy.Number}
_CONSTANTS = {"pi": sympy.pi, "oo": sympy.oo, "E": sympy.E, "I": sympy.I}
_FUNCTION_NAMES = (
    "sqrt", "cbrt", "exp", "log", "ln", "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos",
    "atan", "acot", "sinh", "cosh", "tanh", "Abs", "factorial", "binomial", "floor", "ceiling",
)  # fmt: skip
_FUNCTIONS = {name: getattr(sympy, name) for name in _FUNCTION_NAMES}
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
    ast.FloorDiv: operator.floordiv,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _namespace() -> dict[str, object]:
    """The names ``parse_expr`` puts in scope: they decide which words become symbols."""
    names = {name: getattr(sympy, name) for name in sympy.__all__}
    names.update((n, o) for n, o in vars(builtins).items() if isinstance(o, types.BuiltinFunctionType))
    names.update(max=sympy.Max, min=sympy.Min)
    return names


_NAMESPACE = _namespace()


class NotEvaluated(Exception):
    """The parsed source uses something other than numbers, symbols, arithmetic and functions."""


def _literal(node: ast.expr, kind: type) -> object:
    if isinstance(node, ast.Constant) and type(node.value) is kind:
        return node.value
    raise NotEvaluated(ast.dump(node)[:80])


def _call(node: ast.Call) -> sympy.Basic:
    if node.keywords:
        raise NotEvaluated("keyword arguments")
    func = node.func
    if isinstance(func, ast.Name) and func.id in _CONSTRUCTORS:
        return _CONSTRUCTORS[func.id](*(_argument(arg) for arg in node.args))
    if isinstance(func, ast.Name) and func.id == "Symbol" and len(node.args) == 1:
        return sympy.Symbol(_literal(node.args[0], str))
    if isinstance(func, ast.Name) and func.id in _FUNCTIONS:
        return _FUNCTIONS[func.id](*(_build(arg) for arg in node.args))
    if (
        isinstance(func, ast.Call)
        and isinstance(func.func, ast.Name)
        and func.func.id == "Function"
        and len(func.args) == 1
        and not func.keywords
    ):
        return sympy.Function(_literal(func.args[0], str))(*(_build(arg) for arg in node.args))
    raise NotEvaluated(f"call of {ast.dump(func)[:80]}")


def _argument(node: ast.expr) -> object:
    """A constructor's argument: a literal number or string, or a built expression."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, str):
        return node.value
    return _build(node)


def _build(node: ast.expr) -> sympy.Basic:
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_build(node.left), _build(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_build(node.operand))
    if isinstance(node, ast.Call):
        return _call(node)
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    raise NotEvaluated(ast.dump(node)[:80])


def parse(text: str) -> sympy.Basic | None:
    """What JustTinker's parse of ``text`` returns, or None where it fails.

    Raises NotEvaluated where its ``eval`` would run something outside the arithmetic subset.
    A failure of the first attempt (bad syntax, an error while building) moves on to the
    fallback, as JustTinker's ``try``/``except`` does.
    """
    for transformations, strip_newlines in _ATTEMPTS:
        source = text.replace("\n", "") if strip_newlines else text
        try:
            tree = ast.parse(stringify_expr(source, {}, _NAMESPACE, transformations), mode="eval")
        except Exception:  # noqa: BLE001  (any tokenizer or syntax failure: try the next)
            continue
        try:
            return _build(tree.body)
        except NotEvaluated:
            raise
        except Exception:  # noqa: BLE001  (an arithmetic error while building, as in eval)
            continue
    return None


def equivalent(a: str, b: str) -> tuple[bool, str]:
    """JustTinker's SymPy step on two rewritten normal forms: ``simplify(a - b) == 0``, or a
    numeric difference below 1e-6; with the reason for the verdict."""
    try:
        left, right = parse(a), parse(b)
    except NotEvaluated as error:
        return False, f"not evaluated (beyond arithmetic: {error})"
    if left is None or right is None:
        return False, "not parseable by SymPy"
    try:
        difference = sympy.simplify(left - right)
        if difference == 0:
            return True, "SymPy-equivalent"
        if abs(complex(sympy.N(difference))) < NUMERIC_TOLERANCE:
            return True, "numerically equal in SymPy"
    except Exception:  # noqa: BLE001  (SymPy's own failures are a "not equivalent", as in JustTinker)
        pass
    return False, "not SymPy-equivalent"
