"""What a grading run reports: scores read back from the gradebook, the text table, the report."""

import math

import nbformat

from graders import course
from graders.grading.text import shown

GRADED, NEEDS_REVIEW, REJECTED = "graded", "needs review", "rejected"  # what a submission comes to


def score_table(root, lab):
    """{student: {grade_id: score or None}} for every graded cell, read through nbgrader's Gradebook API."""
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(course.layout(root).db_url) as gradebook:
        for submission in gradebook.assignment_submissions(lab):
            for notebook in submission.notebooks:
                table[submission.student_id] = {
                    grade.name: (
                        grade.score if (grade.auto_score is not None or grade.manual_score is not None) else None
                    )
                    for grade in notebook.grades
                    if grade.max_score  # a mark-scheme task carries no points
                }
    return table


def auto_scores(root, lab):
    """{student: {grade_id: the score nbgrader's autograde gave, or None}}, read back from the configured gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(course.layout(root).db_url) as gradebook:
        return {
            submission.student_id: {grade.name: grade.auto_score for grade in notebook.grades if grade.max_score}
            for submission in gradebook.assignment_submissions(lab)
            for notebook in submission.notebooks
        }


def lateness(root, lab):
    """{student: (seconds after the due date, late penalty)} as nbgrader's gradebook has them: the submission time
    (timestamp.txt) against the lab's due date, and the penalty its late-submission plugin gave."""
    from nbgrader.api import Gradebook

    with Gradebook(course.layout(root).db_url) as gradebook:
        return {
            submission.student_id: (submission.total_seconds_late, submission.late_submission_penalty or 0.0)
            for submission in gradebook.assignment_submissions(lab)
        }


def late_text(seconds_late, marked_by_lms=False):
    """How late a submission is, as the CSVs and the report say it; '' when on time or not known."""
    if seconds_late > 0:
        days, minutes = divmod(math.ceil(seconds_late / 60), 24 * 60)
        hours, minutes = divmod(minutes, 60)
        parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n]
        return " ".join(parts) + " after the due date"
    return "marked late by the LMS (its download gives no time)" if marked_by_lms else ""


def format_table(table, max_scores, rejected=()):
    """A fixed-width text table: one row per student, one column per graded cell (named in full), '—' for not
    graded yet; a rejected student's row says so instead of scores."""
    cells = list(max_scores)
    names = [c.removeprefix("test_") for c in cells]
    widths = [max(len(n), 4) for n in names]
    width = max([len(s) for s in (*table, *rejected)] + [len("student")])

    def row(label, values, total):
        return f"{label:<{width}}  " + " ".join(f"{v:>{w}}" for v, w in zip(values, widths)) + f"  {total:>8}"

    lines = [
        row("student", names, "auto"),
        row(
            "(max)",
            [f"{max_scores[c]:g}" for c in cells],
            f"{sum(p for c, p in max_scores.items() if c.startswith('test_')):g}",
        ),
    ]
    for student in sorted({*table, *rejected}):
        if student in rejected:
            lines.append(f"{student:<{width}}  (rejected: nothing graded, see below)")
            continue
        scores = table[student]
        lines.append(
            row(
                student,
                ["—" if scores.get(c) is None else f"{scores[c]:g}" for c in cells],
                f"{sum(scores.get(c) or 0 for c in cells if c.startswith('test_')):g}",
            )
        )
    return "\n".join(lines)


def max_scores(root, lab):
    """{grade_id: points} of the lab's graded cells, in notebook order, from the source notebook."""
    notebook = nbformat.read(course.layout(root).source / lab / f"{lab}.ipynb", as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def summary(outcomes, max_scores):
    """The text report: the score table, then each student's status and reasons (control characters escaped)."""
    table = format_table(
        {shown(s): o.scores for s, o in outcomes.items() if o.status != REJECTED},
        max_scores,
        rejected={shown(s) for s, o in outcomes.items() if o.status == REJECTED},
    )
    lines = [table, ""]
    for student in sorted(outcomes):
        outcome = outcomes[student]
        lines.append(f"{shown(student)}: {outcome.status}")
        lines += [f"    - {shown(reason)}" for reason in outcome.reasons]
        lines += [f"    note: {shown(note)}" for note in outcome.notes]
    return "\n".join(lines)
