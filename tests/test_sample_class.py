"""The bundled sample classes, autograded by plain nbgrader: every test cell of every sample scores as expected.
The reference runs whole; the other samples stop after their last test cell (their plots change no score)."""

import nbformat
import pytest

from graders import course, labs
from graders.grading import report
from graders.samples import classroom
from graders.samples.classroom import sample_class

pytestmark = pytest.mark.slow

CASES = [(lab, sample) for lab in course.LABS for sample in sample_class(lab)]


@pytest.fixture(scope="module")
def scores(graded_course):
    roots, _ = graded_course
    return {
        lab: {student: cells for root in roots for student, cells in report.score_table(root, lab).items()}
        for lab in course.LABS
    }


def test_nbgrader_fails_only_the_broken_files_and_grades_everyone_else(graded_course):
    _, not_graded = graded_course
    assert not_graded == {lab: sorted(s.student for s in sample_class(lab) if not s.graded) for lab in course.LABS}


@pytest.mark.parametrize("lab", course.LABS)
def test_every_sample_was_submitted_and_recorded(scores, lab):
    assert set(scores[lab]) == {s.student for s in sample_class(lab)}


@pytest.mark.parametrize("lab, sample", CASES, ids=[f"{lab}-{s.student}" for lab, s in CASES])
def test_sample_scores_per_cell(lab, sample, scores):
    assert scores[lab][sample.student] == sample.expected_scores(report.max_scores(course.ROOT, lab))


@pytest.mark.parametrize("lab", course.LABS)
def test_the_class_covers_right_wrong_and_unanswered(lab):
    assert set(classroom.by_kind(sample_class(lab))) >= {"reference", "correct", "bug", "unanswered"}


def test_the_backprop_class_has_three_right_answers_written_differently_a_cheat_and_broken_files():
    samples = sample_class("backprop")
    assert sum(s.student.startswith("correct-") for s in samples) >= 3
    assert any(s.student.startswith("cheat-") for s in samples)
    assert any(s.student.startswith("broken-") for s in samples)


def test_the_grade_table_shows_every_student_and_marks_ungraded_cells(scores):
    table = report.format_table(scores["backprop"], report.max_scores(course.ROOT, "backprop"))
    assert all(s.student in table for s in sample_class("backprop"))
    reference_row = next(line for line in table.splitlines() if line.startswith("reference-solution"))
    assert reference_row.split()[-1] == "15" and "—" in reference_row


@pytest.mark.parametrize("lab", course.LABS)
def test_the_reference_ran_whole_and_every_other_sample_up_to_its_last_test_cell(graded_course, lab):
    roots, _ = graded_course
    copies = {p.parts[-3]: p for root in roots for p in course.layout(root).autograded.glob(f"*/{lab}/{lab}.ipynb")}
    reference = classroom.reference_sample(lab).student
    whole = nbformat.read(copies[reference], as_version=4)
    (plot,) = [c for c in whole.cells if c.metadata.get("nbgrader", {}).get("grade_id") == labs.part(lab).PLOT_CELL]
    assert any("image/png" in o.get("data", {}) for o in plot.outputs)
    short = [(c.cell_type, c.id) for c in classroom.without_tail(whole).cells]
    assert plot.id not in {cell_id for _, cell_id in short}
    for student, path in copies.items():
        if student != reference:
            assert [(c.cell_type, c.id) for c in nbformat.read(path, as_version=4).cells] == short, student
