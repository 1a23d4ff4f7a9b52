"""`nbgrader export` through the course's config: an LMS-ready CSV where not graded is blank, never 0.0."""

import csv
import os
import shutil
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from graders import course
from graders.grading.export import COLUMNS

pytestmark = pytest.mark.slow  # runs nbgrader export

HYPERLINK = '=HYPERLINK("https://example.com/x","click")'


def grade(gradebook, student, cell, auto=None, manual=None):
    found = gradebook.find_grade(cell, "lab", "lab", student)
    found.auto_score, found.manual_score = auto, manual
    gradebook.db.commit()


@pytest.fixture
def course_folder(tmp_path, monkeypatch):
    """A course folder with the course's config and a gradebook: one lab (two auto-graded cells, 2 and 3 points, one
    hand-graded written answer, 5 points) and four students."""
    # a new gradebook asks alembic (a script next to this interpreter) for its schema version
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    shutil.copy(course.ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    with Gradebook(course.layout(tmp_path).db_url) as gradebook:
        gradebook.add_assignment("lab", duedate="2024-05-01 12:00:00")
        gradebook.add_notebook("lab", "lab")
        gradebook.add_grade_cell("test_forward", "lab", "lab", max_score=2, cell_type="code")
        gradebook.add_grade_cell("test_backward", "lab", "lab", max_score=3, cell_type="code")
        gradebook.add_grade_cell("written", "lab", "lab", max_score=5, cell_type="markdown")
        gradebook.add_student("ada", first_name="Ada", last_name="Lovelace", email="ada@example.com")
        gradebook.add_student("bob", first_name="Bob", last_name="Barker", email="bob@example.com")
        gradebook.add_student("cy", first_name="Cy", last_name="Young", email="cy@example.com")
        gradebook.add_student(HYPERLINK, first_name="+1+1", last_name="-Mallory\x07", email="@evil.example")
        for student in ("ada", "bob", HYPERLINK):
            gradebook.add_submission("lab", student, timestamp="2024-05-01 11:00:00")
            grade(gradebook, student, "test_forward", auto=2.0)
            grade(gradebook, student, "test_backward", auto=1.5)
        grade(gradebook, "ada", "written", manual=4.0)
        grade(gradebook, HYPERLINK, "written", auto=0.0, manual=2.0)  # the hand grade overrides the auto one
        # bob's written answer awaits hand grading; cy submitted nothing
        notebook = gradebook.find_submission_notebook("lab", "lab", "ada")
        notebook.late_submission_penalty = 1.0
        gradebook.db.commit()
    return tmp_path


def export(root, *args, dest="grades.csv"):
    course.nbgrader("export", *args, root=root)
    with open(root / dest, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_not_graded_is_blank_and_text_is_spreadsheet_safe(course_folder):
    rows = {row["student_id"]: row for row in export(course_folder)}
    assert list(rows["ada"]) == COLUMNS  # nbgrader's own columns, then the status
    assert set(rows) == {"ada", "bob", "cy", "'" + HYPERLINK}
    assert all(row["assignment"] == "lab" and float(row["max_score"]) == 10 for row in rows.values())

    ada = rows["ada"]  # fully graded, a manual score included, late
    assert (float(ada["raw_score"]), float(ada["late_submission_penalty"]), float(ada["score"])) == (7.5, 1.0, 6.5)
    assert ada["status"] == "graded" and ada["timestamp"].startswith("2024-05-01 11:00:00")

    bob = rows["bob"]  # the written answer is not hand-graded yet: no score, not 3.5
    assert (bob["raw_score"], bob["score"]) == ("", "")
    assert bob["status"] == "not graded yet: 5 points to hand-grade"

    cy = rows["cy"]  # no submission: blank, not 0.0
    assert (cy["timestamp"], cy["raw_score"], cy["late_submission_penalty"], cy["score"]) == ("", "", "", "")
    assert cy["status"] == "no graded submission"

    mallory = rows["'" + HYPERLINK]  # every student-supplied text opens as text, never as a formula
    assert (mallory["first_name"], mallory["last_name"], mallory["email"]) == (
        "'+1+1",
        "'-Mallory\\x07",
        "'@evil.example",
    )
    assert (float(mallory["raw_score"]), float(mallory["score"]), mallory["status"]) == (5.5, 5.5, "graded")


def test_assignment_student_and_to_are_honoured(course_folder):
    with Gradebook(course.layout(course_folder).db_url) as gradebook:
        gradebook.add_assignment("quiz", duedate="2024-06-01 12:00:00")
    rows = export(course_folder, "--assignment=lab", "--student=bob", "--student=cy", "--to=lms.csv", dest="lms.csv")
    assert not (course_folder / "grades.csv").exists()
    assert [(row["assignment"], row["student_id"], row["status"]) for row in rows] == [
        ("lab", "bob", "not graded yet: 5 points to hand-grade"),
        ("lab", "cy", "no graded submission"),
    ]
    rows = export(course_folder, "--assignment=quiz", "--to=quiz.csv", dest="quiz.csv")
    assert {row["student_id"] for row in rows} == {"ada", "bob", "cy", "'" + HYPERLINK}
    assert {(row["assignment"], row["score"], row["status"]) for row in rows} == {("quiz", "", "no graded submission")}


def test_a_submission_flagged_for_review_is_blank_until_a_person_clears_the_flag(course_folder):
    with Gradebook(course.layout(course_folder).db_url) as gradebook:
        gradebook.find_submission_notebook("lab", "lab", "ada").flagged = True
        gradebook.db.commit()
    ada = next(row for row in export(course_folder) if row["student_id"] == "ada")
    assert ada["score"] == "" and ada["raw_score"] == "" and ada["status"].startswith("needs review")
