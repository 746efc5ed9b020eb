"""The written half: find a write-up, split it into parts, read its math, decide each part.

Stages, one module each: ``sources`` (files -> text), ``parts`` (text -> the
rubric's parts), ``mathtext`` (a part's text -> statements), ``latex``
(a statement -> an expression tree), ``evaluate`` (trees -> numbers and sympy),
``decide`` (the written check kinds), ``service`` (all of it in a separate
process under the submission's limits). No student code runs in any of them.
"""
