"""a1grader: grade a course's homework, code in a sandbox and written derivations; Assignment 1 is bundled."""

__version__ = "0.1.0"
