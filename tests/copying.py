"""What copiers do to a submission, as text transformations: the similarity tests' and benchmark's copies.

Each takes a file's source and returns the disguised source; :func:`disguise`
applies one to every ``.py`` file of a folder.
"""
from __future__ import annotations

import keyword
import re
import shutil
from pathlib import Path
from typing import Callable

KEEP = set(keyword.kwlist) | {"np", "numpy", "random", "print", "range", "len", "sum", "max", "min", "abs", "zip",
                              "enumerate", "float", "int", "self", "None", "True", "False", "softmax", "sigmoid",
                              "sigmoid_grad", "gradcheck_naive", "forward_backward_prop", "cross_entropy_grad",
                              "xrange", "exp", "log", "dot", "shape", "reshape", "axis", "keepdims", "T", "nditer",
                              "multi_index", "iternext", "finished", "getstate", "setstate", "zeros", "__name__",
                              "__main__", "copy", "op_flags", "flags", "readwrite", "isinstance", "ndim", "argmax",
                              "sqrt", "mean", "array", "ones", "zeros_like", "newaxis", "assert", "ravel", "flatten",
                              "allclose", "abs", "maximum", "multiply", "concatenate", "hstack", "matrix", "astype",
                              "float64", "size", "random_state", "randn", "randint", "seed", "rand", "linalg", "norm"}


def rename(source: str) -> str:
    """Every name the student chose (assigned, a parameter, a helper) gets another, consistently."""
    chosen = set(re.findall(r"^\s*([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*[-+*/]?=(?!=)", source, re.M))
    for params in re.findall(r"def\s+\w+\s*\(([^)]*)\)", source):
        chosen |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=|,|$)", params))
    chosen |= set(re.findall(r"^def\s+(_?[a-z]\w*_helper\w*|_\w+)\s*\(", source, re.M))
    chosen |= set(re.findall(r"for\s+([A-Za-z_]\w*)\s+in", source))
    chosen -= KEEP
    table = {name: "q%d_%s" % (i, name[::-1].lower()) for i, name in enumerate(sorted(chosen))}
    if not table:
        return source
    pattern = re.compile(r"(?<![\w.])(%s)\b" % "|".join(map(re.escape, sorted(table, key=len, reverse=True))))
    return pattern.sub(lambda m: table[m.group(1)], source)


def reorder(source: str) -> str:
    """The top-level functions in the opposite order (imports and the rest stay first and last)."""
    blocks = re.split(r"(?m)^(?=def |if __name__)", source)
    head, defs = blocks[0], [b for b in blocks[1:] if b.startswith("def ")]
    tail = [b for b in blocks[1:] if not b.startswith("def ")]
    return head + "".join(reversed(defs)) + "".join(tail)


def python2(source: str) -> str:
    """print statements and xrange, as Python 2 students wrote them."""
    source = re.sub(r"(?m)^(\s*)print\((.*)\)\s*$", r"\1print \2", source)
    return re.sub(r"\brange\(", "xrange(", source)


def dead_code(source: str) -> str:
    """Unused statements in every function, and an unused function: what pads a copy."""
    source = re.sub(r'(?m)^(def [^\n]*:\n)((?:\s*(?:"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\')\n)?)',
                    lambda m: m.group(1) + m.group(2) + "    unused_total = 0\n    for unused_i in range(3):\n"
                                                        "        unused_total += unused_i * 2\n", source)
    return source + "\n\ndef not_needed_helper(values):\n    out = []\n    for v in values:\n" \
                    "        out.append(v * v + 1)\n    return out\n"


def comments(source: str) -> str:
    """Comments removed, blank lines doubled: the layout changes, the code does not."""
    source = re.sub(r"(?m)[ \t]*#.*$", "", source)
    return source.replace("\n\n", "\n\n\n")


ALL = {"renamed": rename, "reordered": reorder, "python2": python2, "dead_code": dead_code, "comments": comments}


def every(source: str) -> str:
    for fn in (rename, reorder, dead_code, comments, python2):
        source = fn(source)
    return source


def disguise(folder: Path, target: Path, transform: Callable[[str], str]) -> Path:
    shutil.copytree(folder, target)
    for path in target.rglob("*.py"):
        path.write_text(transform(path.read_text()))
    return target
