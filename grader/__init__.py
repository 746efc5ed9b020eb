"""a1grader: grade a course's homework, its code in a sandbox and its written derivations (assignments: grader/assignments)."""

__version__ = "0.1.0"

# The distribution's name: the command's brand, its configuration folder, its temporary folders.
NAME = "a1grader"
