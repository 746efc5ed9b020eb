"""Renderers of the result tree: one module per output format."""
