"""The hidden checks as plain `nbgrader autograde` runs them: this lab's checks.py in the notebook's own process.

This is the trusting path (student code shares the process with the checks and could interfere with them; inputs
are drawn from a fixed seed). The grade command runs the same checks outside the student's process, on inputs
drawn from the course's secret: docs/grading.md.
"""

from graders.labs import trusting_checks

__getattr__ = trusting_checks(__name__)
