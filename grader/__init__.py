"""a1grader: grade the code of Assignment 1 (softmax and neural-network basics)."""

__version__ = "0.1.0"
