"""The hidden checks as plain `nbgrader autograde` runs them: graders/autograd/checks.py in the notebook's own process.

This is the trusting path (student code shares the process with the checks and could interfere with them; inputs
are drawn from a fixed seed). The grade command runs the same checks outside the student's process, on inputs
drawn from the course's secret: docs/grading.md.
"""
from graders.autograd import checks, probes
from graders.judging import run_in_process


def __getattr__(name):
    if name in checks.GRADED:
        return lambda function: run_in_process(getattr(checks, name), function, name, "autograd", probes)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
