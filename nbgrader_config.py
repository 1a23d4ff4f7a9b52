"""nbgrader configuration of the course; every nbgrader command run from this folder reads it."""
c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

c.CourseDirectory.course_id = "backprop-from-scratch"
# Per-cell limit; the lab's slowest cell runs in ~1.5 s, so 60 s only ever stops a runaway loop.
c.Execute.timeout = 60
c.Execute.kernel_name = "python3"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".*"]
# `nbgrader export` writes an LMS-ready CSV: not graded is blank with a status, never 0.0 (graders/grading/export.py).
c.ExportApp.plugin_class = "graders.grading.export.LmsCsvExport"
