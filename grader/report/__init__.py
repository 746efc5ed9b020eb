"""Renderers of the result tree: one module per output format, chosen by name here."""
from __future__ import annotations

import importlib
import io

FORMATS = ("text", "json", "junit", "github", "markdown", "gradescope")
_MODULES = {"text": "text", "json": "json_report", "junit": "junit", "github": "github",
            "markdown": "markdown", "gradescope": "gradescope"}


def module_name(fmt: str) -> str:
    """The module that renders format ``fmt``."""
    return "%s.%s" % (__name__, _MODULES[fmt])


def render(result, fmt: str, folder: str = "", width: int = 120) -> str:
    """The result in format ``fmt`` as text (``folder``: where annotations point, for github)."""
    module = importlib.import_module(module_name(fmt))
    if fmt == "text":
        from rich.console import Console
        buffer = io.StringIO()
        module.render(result, Console(file=buffer, width=width, color_system=None))
        return buffer.getvalue()
    if fmt == "github":
        return module.render(result, folder)
    return module.render(result)
