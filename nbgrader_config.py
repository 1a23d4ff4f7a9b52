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

# Late work. Each lab's due date (a time zone name, or UTC); a lab not listed has none, or the one set in the
# formgrader. nbgrader measures lateness from each submission's time (nbgrader collect, ./run collect).
c.Deadlines.due = {}  # e.g. {"backprop": "2026-12-04 17:00:00 Europe/Berlin"}
# nbgrader's late-submission plugin: "none" (late work is flagged in the CSVs, no points off) or "zero".
c.LateSubmissionPlugin.penalty_method = "none"

# ./run collect LAB DOWNLOAD (nbgrader zip_collect): how the LMS names the files of its bulk download (canvas,
# moodle, blackboard or folders; unset: the one that fits), or a regex of your own with the named groups lms_id
# and file_id (and optionally name, late, timestamp) as c.LmsCollector.named_regexp; a roster CSV (student_id,
# and lms_id and/or name) to turn LMS identities into course ids; the time zone of the download's times.
# c.LmsCollector.scheme = "canvas"
# c.LmsCollector.roster = "roster.csv"
c.LmsCollector.timezone = "UTC"
