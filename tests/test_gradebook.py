"""The gradebook where nbgrader's configuration puts it (SQLite in the course, SQLite elsewhere, PostgreSQL): the
grade command reports what nbgrader stored there, or stops with the reason; the export and the feedback are the same
from each; a hand grade saved while grading runs stays."""

import csv
import secrets
import threading
import time

import nbformat
import pytest
from nbgrader.api import Gradebook

from graders import course
from graders.grading import grade as grading, nbgrader_steps, report
from graders.samples.classroom import reference_sample, sample_class
from graders.grading.secret import SECRET_FILE
from graders.samples.postgres import running_postgresql

pytestmark = pytest.mark.sandbox
LAB = "autograd"  # no written answer: its export is whole after the grade command
LIMITS = {"notebook_timeout": 30.0, "cell_timeout": 20.0, "scores_only": True}
GRADEBOOKS = ("sqlite-in-the-course", "sqlite-elsewhere", "postgresql")


def _configure(root, url):
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"c.CourseDirectory.db_url = {url!r}\n")


def _hand_in(root, lab, samples):
    release = nbformat.read(course.layout(root).release / lab / f"{lab}.ipynb", as_version=4)
    for sample in samples:
        course.submit(root, sample.student, lab, sample.notebook_text(release))


def _samples(lab):
    kinds = ("reference-solution", "correct-", "bug-", "unanswered")
    return [next(s for s in sample_class(lab) if s.student.startswith(kind)) for kind in kinds]


def _export(root):
    """The export's rows of the lab (a course copied from the built one also has the other labs recorded)."""
    course.nbgrader("export", "--to", str(root / "export.csv"), root=root)
    with open(root / "export.csv", newline="") as handle:
        return sorted(
            (row["student_id"], row["score"], row["max_score"], row["status"])
            for row in csv.DictReader(handle)
            if row["assignment"] == LAB
        )


def _gradebook_url(kind, root, stack, tmp_path):
    if kind == "sqlite-elsewhere":
        (tmp_path / "shared").mkdir()
        return f"sqlite:///{tmp_path / 'shared' / 'gradebook.db'}"
    if kind == "postgresql":
        return stack.enter_context(running_postgresql())
    return None


@pytest.fixture(scope="module")
def three_gradebooks(fresh_course, tmp_path_factory):
    """{kind: (course root, outcomes, export rows, the course folder's own gradebook.db changed)}: the same class
    graded into each gradebook (the copied course holds a gradebook.db from its build), exported, its feedback
    written. The three courses keep one grading secret, so their hidden inputs, and the messages about them, agree."""
    import contextlib

    graded, shared_secret = {}, secrets.token_hex(32)
    with contextlib.ExitStack() as stack:
        for kind in GRADEBOOKS:
            root, folder = fresh_course(f"gradebook-{kind}"), tmp_path_factory.mktemp(f"elsewhere-{kind}")
            url = _gradebook_url(kind, root, stack, folder)
            if url:
                _configure(root, url)
            _hand_in(root, LAB, _samples(LAB))
            (root / SECRET_FILE).write_text(shared_secret)
            before = (root / "gradebook.db").read_bytes()
            outcomes = grading.grade(LAB, root, workers=2, **LIMITS)
            rows = _export(root)
            assert nbgrader_steps.generate_feedback(root, LAB) == []
            graded[kind] = (root, outcomes, rows, (root / "gradebook.db").read_bytes() != before)
    return graded


@pytest.mark.postgres
def test_the_same_class_gets_the_same_export_from_every_gradebook(three_gradebooks):
    exports = {kind: rows for kind, (_, _, rows, _) in three_gradebooks.items()}
    assert exports["sqlite-elsewhere"] == exports["sqlite-in-the-course"] == exports["postgresql"]
    maximum = sum(report.max_scores(course.ROOT, LAB).values())
    scores = {student: score for student, score, _, _ in exports["postgresql"]}
    assert float(scores["reference-solution"]) == maximum and float(scores["unanswered"]) == 0


def _feedback(root):
    return {
        page.relative_to(root / "feedback").as_posix(): page.read_text() for page in (root / "feedback").rglob("*.html")
    }


@pytest.mark.postgres
def test_every_gradebook_gives_every_student_the_same_feedback(three_gradebooks):
    pages = {kind: _feedback(root) for kind, (root, *_) in three_gradebooks.items()}
    assert sorted(pages["postgresql"]) == sorted(f"{s.student}/{LAB}/{LAB}.html" for s in _samples(LAB))
    assert pages["sqlite-elsewhere"] == pages["sqlite-in-the-course"] == pages["postgresql"]
    maximum = sum(report.max_scores(course.ROOT, LAB).values())
    assert f"Score: {maximum:.1f} / {maximum:.1f}" in pages["postgresql"][f"reference-solution/{LAB}/{LAB}.html"]


@pytest.mark.postgres
def test_the_report_is_what_the_configured_gradebook_holds_and_the_courses_own_is_untouched(three_gradebooks):
    for kind, (root, outcomes, _, course_gradebook_changed) in three_gradebooks.items():
        expected = {s.student: s.expected_scores(report.max_scores(root, LAB)) for s in _samples(LAB)}
        assert {student: outcome.scores for student, outcome in outcomes.items()} == expected, kind
        assert course_gradebook_changed == (kind == "sqlite-in-the-course")


def test_the_gradebooks_of_one_grading_step_share_an_engine_and_nbgrader_makes_its_own_again_after(tmp_path):
    """nbgrader opens a Gradebook, and an engine, about nine times per notebook: within a step those of one database
    share one engine (and its compiled statements); closing one leaves the next working."""
    import nbgrader.api

    own, url = nbgrader.api.create_engine, f"sqlite:///{tmp_path / 'gradebook.db'}"
    with pytest.raises(RuntimeError), nbgrader_steps.one_engine_per_database():
        with Gradebook(url) as first:
            first.add_student("alice")
        with Gradebook(url) as second:
            assert second.engine is first.engine and second.find_student("alice").id == "alice"
        with Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as other:
            assert other.engine is not first.engine
        raise RuntimeError("a step that fails still gives nbgrader its create_engine back")
    assert nbgrader.api.create_engine is own
    with Gradebook(url) as after:
        assert after.engine is not first.engine and after.find_student("alice").id == "alice"


def test_grading_steps_in_two_threads_take_turns_and_leave_nbgrader_its_own_create_engine(tmp_path):
    """The engine patch is nbgrader's module-wide: a second step waits for the first, so neither can end while the
    other's patch is in place."""
    import nbgrader.api

    own, inside, release, order = nbgrader.api.create_engine, threading.Event(), threading.Event(), []

    def first():
        with nbgrader_steps.one_engine_per_database():
            order.append("first in")
            inside.set()
            release.wait(5)
            order.append("first out")

    def second():
        inside.wait(5)
        with nbgrader_steps.one_engine_per_database():
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # the second thread is at the door by now
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first out", "second in"] and nbgrader.api.create_engine is own


def test_a_gradebook_that_does_not_hold_what_grading_decided_stops_the_report(fresh_course, monkeypatch):
    """The grade command once read scores from a gradebook nbgrader had not written: every student 0. Reading back
    another gradebook than the one nbgrader wrote is now an error that says so."""
    root, elsewhere = fresh_course("mismatch"), fresh_course("mismatch-other")
    _hand_in(root, LAB, _samples(LAB)[:2])
    monkeypatch.setattr(grading, "auto_scores", lambda _root, lab: report.auto_scores(elsewhere, lab))
    with pytest.raises(grading.GradebookMismatch, match=r"does not hold what grading decided .*no submission"):
        grading.grade(LAB, root, workers=1, **LIMITS)
    assert not (root / "build" / "grading" / LAB / "grades.csv").exists()  # no report from it


def _hand_grades_while(grading_thread, url, lab, students, grade_id, saved, errors):
    """Save a hand grade for every student, over and over, as the formgrader does (find the grade, set it, commit),
    until grading ends; `saved` keeps the last score written per student."""
    score = 0.0
    while grading_thread.is_alive():
        score = (score + 0.5) % 4
        for student in students:
            try:
                with Gradebook(url) as gradebook:
                    grade = gradebook.find_grade(grade_id, lab, lab, student)
                    grade.manual_score = score
                    gradebook.db.commit()
                saved[student] = score
            except Exception as exc:  # every failure is the finding
                errors.append(f"formgrader: {type(exc).__name__}: {exc}")
        time.sleep(0.02)


@pytest.mark.parametrize("kind", ["sqlite-in-the-course", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_hand_grade_saved_while_grading_runs_is_kept_and_neither_side_fails(fresh_course, tmp_path, kind):
    import contextlib

    lab, grade_id = "mlp", "derivation"  # a written answer, graded by hand
    samples = [reference_sample(lab), *(s for s in sample_class(lab) if s.student.startswith("bug-"))][:4]
    with contextlib.ExitStack() as stack:
        root = fresh_course(f"concurrent-{kind}")
        url = _gradebook_url(kind, root, stack, tmp_path)
        if url:
            _configure(root, url)
        _hand_in(root, lab, samples)
        grading.grade(lab, root, workers=2, **LIMITS)  # the first run: the formgrader now has answers to grade
        errors, saved, outcomes = [], {}, {}

        def regrade():
            try:
                outcomes.update(grading.grade(lab, root, workers=2, **LIMITS))
            except Exception as exc:
                errors.append(f"grade: {type(exc).__name__}: {exc}")

        grading_thread = threading.Thread(target=regrade)
        grading_thread.start()
        students = [s.student for s in samples]
        _hand_grades_while(grading_thread, course.layout(root).db_url, lab, students, grade_id, saved, errors)
        grading_thread.join()
        assert errors == []
        assert set(saved) == set(students)  # every student's hand grade was saved at least once
        final = report.score_table(root, lab)
        assert {s: final[s][grade_id] for s in students} == saved  # the last hand grade, never lost
        max_scores = report.max_scores(root, lab)
        for sample in samples:  # and the automatic scores are what they are
            expected = {c: p for c, p in sample.expected_scores(max_scores).items() if c != grade_id}
            assert {c: p for c, p in outcomes[sample.student].scores.items() if c != grade_id} == expected
