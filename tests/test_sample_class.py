"""The bundled sample class, autograded by plain nbgrader: every test cell of every sample scores as expected."""
import pytest

from graders import course
from graders.samples import sample_class

SAMPLES = sample_class("backprop")


@pytest.fixture(scope="module")
def scores(graded_course):
    root, _ = graded_course
    return course.score_table(root, "backprop")


def test_nbgrader_fails_only_the_broken_files_and_grades_everyone_else(graded_course):
    _, not_graded = graded_course
    assert not_graded == {"backprop": sorted(s.student for s in SAMPLES if not s.graded)}


@pytest.fixture(scope="module")
def max_scores():
    return course.max_scores(lab="backprop")


def test_every_sample_was_submitted_and_recorded(scores):
    assert set(scores) == {s.student for s in SAMPLES}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.student)
def test_sample_scores_per_cell(sample, scores, max_scores):
    assert scores[sample.student] == sample.expected_scores(max_scores)


def test_the_class_covers_right_wrong_cheating_unanswered_and_broken():
    kinds = {s.student.split("-")[0] for s in SAMPLES}
    assert kinds >= {"reference", "correct", "bug", "cheat", "unanswered", "broken"}
    assert sum(s.student.startswith("correct-") for s in SAMPLES) >= 3


def test_the_grade_table_shows_every_student_and_marks_ungraded_cells(scores, max_scores):
    table = course.format_table(scores, max_scores)
    assert all(s.student in table for s in SAMPLES)
    reference_row = next(line for line in table.splitlines() if line.startswith("reference-solution"))
    assert reference_row.split()[-1] == "15" and "—" in reference_row
