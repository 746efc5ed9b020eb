"""Check kinds, registered by name; importing this package registers them all."""
from . import gradcheck, values  # noqa: F401  (registration side effects)
from .base import REGISTRY, CheckResult, register  # noqa: F401
