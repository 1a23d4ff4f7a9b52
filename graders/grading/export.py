"""`nbgrader export` for an LMS upload: nbgrader's grades CSV, except that what is not graded is blank, never 0.

nbgrader's own CsvExportPlugin writes 0.0 for a student with no submission and counts a written answer nobody has
hand-graded yet as 0; uploaded to an LMS, both read as a grade of 0. Here their scores are blank and a column,
`status`, says why; `late` says how late a submission was (its time against the due date), or that the LMS marked
it late. Ids, names and emails come from students and the LMS: each is made safe to open in a spreadsheet.
nbgrader_config.py selects this plugin (c.ExportApp.plugin_class); --to, --assignment and --student work as before.
"""

import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin

from graders.grading.intake import marked_late
from graders.grading.report import late_text
from graders.grading.text import spreadsheet_safe

COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "lms_user_id",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
    "status",
    "late",
]
GRADED, NO_SUBMISSION = "graded", "no graded submission"


def points_to_hand_grade(submission):
    """Points of the submission's graded cells that have neither an auto nor a manual score yet."""
    return sum(
        grade.max_score
        for notebook in submission.notebooks
        for grade in notebook.grades
        if grade.auto_score is None and grade.manual_score is None
    )


def safe_text(value):
    return "" if value is None else spreadsheet_safe(value)


class LmsCsvExport(ExportPlugin):
    """One row per student and assignment: the stock plugin's columns, then `status`."""

    def export(self, gradebook):
        dest = self.to or "grades.csv"
        assignments = [str(name) for name in self.assignment]
        students = [str(student_id) for student_id in self.student]
        self.log.info("Exporting grades for an LMS to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, COLUMNS)  # a missing key and None are both written blank
            writer.writeheader()
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if not students or student.id in students:
                        writer.writerow(self.row(gradebook, assignment, student))

    def marked_late(self, lab):
        """The students the LMS marked late in the lab's last ./run collect (graders/grading/intake.py)."""
        known = self.__dict__.setdefault("_marked_late", {})
        if lab not in known:
            known[lab] = marked_late(self.parent.coursedir.root, lab)
        return known[lab]

    def row(self, gradebook, assignment, student):
        row = {
            "assignment": assignment.name,
            "duedate": assignment.duedate,
            "student_id": safe_text(student.id),
            "last_name": safe_text(student.last_name),
            "first_name": safe_text(student.first_name),
            "email": safe_text(student.email),
            "lms_user_id": safe_text(student.lms_user_id),
            "max_score": assignment.max_score,
        }
        try:
            submission = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:
            return {**row, "status": NO_SUBMISSION}
        penalty = submission.late_submission_penalty
        late = late_text(submission.total_seconds_late, student.id in self.marked_late(assignment.name))
        row.update(timestamp=submission.timestamp, late_submission_penalty=penalty, late=late)
        if any(notebook.flagged for notebook in submission.notebooks):
            return {**row, "status": "needs review (see the grade report; clear the flag in the formgrader)"}
        pending = points_to_hand_grade(submission)
        if pending:
            return {**row, "status": f"not graded yet: {pending:g} points to hand-grade"}
        return {**row, "raw_score": submission.score, "score": max(0.0, submission.score - penalty), "status": GRADED}
