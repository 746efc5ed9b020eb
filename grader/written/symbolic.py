"""Scalar expression trees -> sympy, to prove an equality the random points already suggest.

Only for parts whose every variable is a number (2a, 2d). σ is the logistic
function, σ′ its derivative; a tree larger than ``MAX_NODES`` or with a power
sympy would expand for long is not tried (the numeric verdict stands alone).
"""
from __future__ import annotations

import sys
from typing import Any, Dict, Optional

from .evaluate import walk

MAX_NODES = 300


def to_sympy(node, functions: Dict[str, Any]):
    import sympy as sp

    def conv(n):
        kind = n[0]
        if kind == "num":
            value = n[1]
            return sp.Integer(int(value)) if float(value).is_integer() else sp.nsimplify(value)
        if kind == "sym":
            if n[2] is not None:
                raise ValueError("an index")
            return sp.E if n[1] == "e" else sp.Symbol(n[1], positive=True)
        if kind == "group":
            return conv(n[1])
        if kind == "neg":
            return -conv(n[1])
        if kind == "add":
            return conv(n[1]) + conv(n[2])
        if kind == "sub":
            return conv(n[1]) - conv(n[2])
        if kind == "div":
            return conv(n[1]) / conv(n[2])
        if kind == "pow":
            exponent = conv(n[2])
            if exponent.is_number and abs(exponent) > 12:
                raise ValueError("a large power")
            return conv(n[1]) ** exponent
        if kind == "T":
            return conv(n[1])
        if kind == "prod":
            out = conv(n[1][0])
            for f in n[1][1:]:
                out = out * conv(f)
            return out
        if kind == "call":
            if len(n[2]) != 1 or n[3] is not None:
                raise ValueError("a call")
            arg = conv(n[2][0])
            name = n[1]
            if name in functions and isinstance(functions[name], tuple):
                param, body = functions[name]
                return to_sympy(body, functions).subs(sp.Symbol(param, positive=True), arg)
            if name == "sigma":
                return 1 / (1 + sp.exp(-arg))
            if name == "sigmaprime":
                return sp.exp(-arg) / (1 + sp.exp(-arg)) ** 2
            if name == "exp":
                return sp.exp(arg)
            if name == "log":
                return sp.log(arg)
            raise ValueError("the function %s" % name)
        raise ValueError(kind)

    return conv(node)


def proved_equal(a, b, functions: Dict[str, Any]) -> Optional[bool]:
    """True when sympy proves ``a == b``, False when it proves them different, None when it cannot say."""
    if "sympy" not in sys.modules:
        return None     # loaded only by a service that grades a class (prove=True): its import costs a check 0.6 s
    if sum(1 for _ in walk(a)) + sum(1 for _ in walk(b)) > MAX_NODES:
        return None
    try:
        import sympy as sp
        difference = to_sympy(a, functions) - to_sympy(b, functions)
        simplified = sp.simplify(sp.expand(difference))
    except Exception:  # noqa: BLE001 - anything sympy cannot take leaves the numeric verdict alone
        return None
    if simplified == 0:
        return True
    if simplified.is_number and simplified != 0:
        return False
    return None
