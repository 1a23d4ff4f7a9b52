"""The instructor's term as README.md tells it ("For instructors: one term"), command by command, on a temporary
course: build and validate, hand out through nbgrader's exchange, students fetch and submit (others hand in a
Colab download), collect, grade, hand-grade in JupyterLab's formgrader in a real browser, regrade, feedback from the
gradebook, export. The gradebook is the course's own (SQLite), as the README sets it up; the other gradebooks
nbgrader's configuration can name, PostgreSQL among them, are tests/test_gradebook.py's. Timings and the formgrader
screenshots are kept in build/artifacts/term/."""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import nbformat
import pytest
from nbgrader.api import Gradebook

from chromium import chromium
from formgrader import grading_page_markup, hand_grade, start_course_jupyterlab
from graders import course
from graders.grading import report
from graders.samples.classroom import reference_sample, sample_class
from graders.samples.colab import download_2024

pytestmark = [pytest.mark.browser, pytest.mark.sandbox, pytest.mark.slow]

ARTIFACTS = course.ROOT / "build" / "artifacts" / "term"
COURSE_ID = "backprop-from-scratch"
# The README's commands, in its order; `backprop` stands for each lab where a command names one.
TERM = [
    "./run build",
    "nbgrader validate source/backprop/backprop.ipynb",
    "nbgrader validate --invert release/backprop/backprop.ipynb",
    "nbgrader release_assignment backprop",
    "nbgrader collect backprop",
    "./run collect backprop submissions.zip --roster roster.csv",
    "./run grade backprop",
    "jupyter lab",
    "./run feedback backprop",
    "nbgrader export",
]
BUGGY = {lab: next(s.student for s in sample_class(lab) if s.student.startswith("bug-")) for lab in course.LABS}
HAND_GRADE = ("backprop", "alice", "conclusion", 2, "Right reading of the plot; *well argued*.")
# alice's written answer carries markup that would run in the instructor's formgrader if it were rendered live
ATTACK = (
    "\n\n<img src=x onerror=\"document.title='pwned'\"> [more](javascript:document.title='pwned')\n\n"
    "<iframe>[again](javascript:document.title='pwned')</iframe>"
)


def _readme_term():
    """The command lines of the README's instructor section, in order, comments dropped."""
    text = (course.ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## For instructors: one term") :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line.split(" #")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_term_is_the_one_this_test_runs():
    assert _readme_term() == TERM


def _sample(lab, student):
    return next(s for s in sample_class(lab) if s.student == student)


class Term:
    """A temporary course and the people of one term: the instructor's commands run in the course folder, each
    student's in a home of their own; every command is timed."""

    def __init__(self, folder):
        self.root, self.exchange, self.homes = folder / "course", folder / "exchange", folder / "homes"
        for path in (self.root, self.exchange, self.homes):
            path.mkdir()
        course.copy_course(self.root)
        with open(self.root / "nbgrader_config.py", "a") as config:  # README step 2: the exchange root
            config.write(f"c.Exchange.root = {str(self.exchange)!r}\n")
        self.env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]))
        self.timings = {}

    def run(self, line, cwd=None, extra=(), home=None):
        """A README command line: ./run X → python -m graders X on this course, nbgrader X → nbgrader in it (a
        student's in their own home: nbgrader submit keeps a cache there)."""
        program, *args = line.split()
        command = (
            [sys.executable, "-m", "graders", "--course", str(self.root), *args]
            if program == "./run"
            else [sys.executable, "-m", program, *args]
        )
        started = time.perf_counter()
        env = {**self.env, "HOME": str(home)} if home else self.env
        result = subprocess.run([*command, *extra], cwd=cwd or self.root, env=env, capture_output=True, text=True)
        self.timings[line] = self.timings.get(line, 0.0) + time.perf_counter() - started
        assert result.returncode == 0, f"{line}:\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr

    def student_submits(self, lab, student, sample, answer_suffix=""):
        """What a student on the course's JupyterHub does: fetch the lab, work in it, submit it."""
        home = self.homes / student
        home.mkdir(exist_ok=True)
        hub = [f"--course={COURSE_ID}", f"--Exchange.root={self.exchange}"]  # the hub's own nbgrader config
        self.run(f"nbgrader fetch_assignment {lab}", cwd=home, extra=hub, home=home)
        fetched = home / lab / f"{lab}.ipynb"
        notebook = nbformat.reads(sample.notebook_text(nbformat.read(fetched, as_version=4)), as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source += answer_suffix
        nbformat.write(notebook, fetched)
        self.run(f"nbgrader submit {lab}", cwd=home, extra=[*hub, f"--student={student}"], home=home)

    def lms_download(self, lab, samples):
        """What students on Colab do: download the file and upload it to the LMS (Canvas); the instructor downloads
        every submission as one zip (Canvas's names) and keeps a roster of Canvas user ids."""
        release = nbformat.read(self.root / "release" / lab / f"{lab}.ipynb", as_version=4)
        roster, buffer = ["student_id,lms_id"], io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for number, (student, sample) in enumerate(samples.items(), start=3001):
                name = f"{student}student_{number}_{number + 5000}_Copy of {lab}.ipynb"
                archive.writestr(name, download_2024(sample.notebook_text(release)))
                roster.append(f"{student},{number}")
        (self.root / "submissions.zip").write_bytes(buffer.getvalue())
        (self.root / "roster.csv").write_text("\n".join(roster) + "\n")


def _scores(root, lab, student):
    with Gradebook(course.layout(root).db_url) as gradebook:
        submission = gradebook.find_submission(lab, student)
        return {g.name: (g.auto_score, g.manual_score) for n in submission.notebooks for g in n.grades}


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    """The whole term, in a course of its own."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return _run_the_term(Term(tmp_path_factory.mktemp("term")), tmp_path_factory, ARTIFACTS)


def _run_the_term(term, tmp_path_factory, artifacts):
    before = {lab: (term.root / "release" / lab / f"{lab}.ipynb").read_bytes() for lab in course.LABS}
    outputs = {}
    for line in TERM[:3]:  # build, validate, validate --invert (as written: the backprop lab)
        outputs[line] = term.run(line)
    term.releases_unchanged = all(
        (term.root / "release" / lab / f"{lab}.ipynb").read_bytes() == release for lab, release in before.items()
    )
    for lab in course.LABS:
        term.run(f"nbgrader release_assignment {lab}")
        term.student_submits(lab, "alice", reference_sample(lab), ATTACK)
        if lab == "backprop":  # two through the exchange, where feedback waits for hand grading
            term.student_submits(lab, "bob", _sample(lab, BUGGY[lab]))
        term.run(f"nbgrader collect {lab}")
        downloads = {
            "carol": _sample(lab, next(s.student for s in sample_class(lab) if s.student.startswith("correct-")))
        }
        if lab != "backprop":
            downloads["bob"] = _sample(lab, BUGGY[lab])
        term.lms_download(lab, downloads)
        outputs[f"collect {lab}"] = term.run(f"./run collect {lab} submissions.zip --roster roster.csv")
        outputs[f"grade {lab}"] = term.run(f"./run grade {lab}")
    lab, student, grade_id, points, comment = HAND_GRADE
    started = time.perf_counter()
    with (
        chromium(tmp_path_factory.mktemp("chromium")) as driver,
        start_course_jupyterlab(term.root, tmp_path_factory.mktemp("jupyterlab")) as (base, token),
    ):
        term.screenshots = hand_grade(driver, base, token, lab, student, grade_id, points, comment, artifacts)
        term.grading_page = grading_page_markup(driver)
    term.timings["jupyter lab (formgrader, hand grade)"] = time.perf_counter() - started
    term.after_hand_grade = _scores(term.root, lab, student)
    outputs["regrade"] = term.run(f"./run grade {lab}")
    for lab in course.LABS:
        outputs[f"feedback {lab}"] = term.run(f"./run feedback {lab}")
    term.run("nbgrader release_feedback backprop --student alice")  # README step 6, on the exchange
    term.run(
        "nbgrader fetch_feedback backprop",
        cwd=term.homes / "alice",
        home=term.homes / "alice",
        extra=[f"--course={COURSE_ID}", f"--Exchange.root={term.exchange}", "--student=alice"],
    )
    outputs["export"] = term.run("nbgrader export")
    term.outputs = outputs
    (artifacts / "timings.json").write_text(json.dumps(term.timings, indent=1))
    return term


def test_build_leaves_the_committed_releases_as_they_are_and_both_validations_pass(term):
    assert term.releases_unchanged
    assert "Success! Your notebook passes all the tests." in term.outputs[TERM[1]]
    assert "Success! The notebook does not pass any tests." in term.outputs[TERM[2]]


def test_the_commands_print_no_warning_walls(term):
    for step in ("collect backprop", "grade backprop", "grade mlp", "regrade", "feedback backprop", "export"):
        for noise in ("Warning", "WARNING", "has changed", "Traceback"):
            assert noise not in term.outputs[step], (step, noise)


def test_exchange_and_download_submissions_are_all_graded_with_their_submission_times(term):
    for lab in course.LABS:
        report = term.outputs[f"grade {lab}"]
        assert "3 submissions" in report and "3 graded" in report, report
        assert "graded 'Copy of" in report  # carol's Colab download, graded with a note
        collected = term.outputs[f"collect {lab}"]  # from the LMS's zip, by the roster
        assert f"  ->  submitted/carol/{lab}/Copy of {lab}.ipynb" in collected, collected
        assert "skipped" not in collected and "note:" not in collected
        with Gradebook(course.layout(term.root).db_url) as gradebook:
            times = {s.student_id: s.timestamp for s in gradebook.assignment_submissions(lab)}
        assert times["alice"] is not None and times["carol"] is None
        assert (times["bob"] is not None) == (lab == "backprop")


def test_the_autograded_copy_shows_the_students_plot_and_folds_the_data_cell(term):
    graded = nbformat.read(term.root / "autograded" / "alice" / "backprop" / "backprop.ipynb", as_version=4)
    cells = {c.get("id"): c for c in graded.cells}
    assert any(o.output_type == "display_data" and "image/png" in o.data for o in cells["optimizer_comparison"].outputs)
    assert cells["embedded_data"].source.count("\n") == 0 and "folded" in cells["embedded_data"].source
    release = nbformat.read(term.root / "release" / "backprop" / "backprop.ipynb", as_version=4)
    assert len(next(c for c in release.cells if c.get("id") == "embedded_data").source) > 10_000


def test_the_hand_grade_is_saved_through_the_formgrader_and_survives_a_regrade(term):
    lab, student, grade_id, points, _ = HAND_GRADE
    assert term.after_hand_grade[grade_id] == (None, points)
    assert term.after_hand_grade["mark_scheme_conclusion"] == (None, 0.0)  # the 0-point task waits for no one
    assert _scores(term.root, lab, student)[grade_id] == (None, points)
    with Gradebook(course.layout(term.root).db_url) as gradebook:  # listed for a look again, as nbgrader does
        assert gradebook.find_grade(grade_id, lab, lab, student).needs_manual_grade
    assert [p.name for p in term.screenshots] == [
        "1-nbgrader-menu.png",
        "2-manage-assignments.png",
        "3-submissions.png",
        "4-student-notebooks.png",
        "5-the-students-plot.png",
        "6-manual-grade.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in term.screenshots)


def test_a_script_in_a_written_answer_never_runs_in_the_instructors_formgrader(term):
    page = term.grading_page
    assert page["rendered"] > 10 and page["live"] == 0 and page["title"] != "pwned", page
    graded = nbformat.read(term.root / "autograded" / "alice" / "backprop" / "backprop.ipynb", as_version=4)
    answer = next(c for c in graded.cells if c.get("id") == "conclusion").source
    assert "onerror" not in answer and "<iframe>" not in answer and answer.startswith("<div>")


def test_feedback_has_the_hand_grade_and_says_not_graded_yet_and_hides_the_hidden_tests(term):
    lab, student, _, points, comment = HAND_GRADE
    page = (term.root / "feedback" / student / lab / f"{lab}.html").read_text()
    assert f"Score: {points:.1f} / {points:.1f}" in page and "<em>well argued</em>" in page
    assert "not graded yet" not in page.lower()
    release = nbformat.read(term.root / "release" / lab / f"{lab}.ipynb", as_version=4)
    data_line = max(next(c for c in release.cells if c.get("id") == "embedded_data").source.splitlines(), key=len)
    waiting = (term.root / "feedback" / "bob" / lab / f"{lab}.html").read_text()
    heading = waiting[waiting.index('<a name="conclusion"></a>') :][:400]
    assert "Not graded yet: 2.0 points" in heading and "2.0 points not graded yet" in waiting
    assert "0.0 / 0.0" not in waiting  # the mark scheme's 0-point task shows no score
    lost = _sample(lab, BUGGY[lab]).loses[0].removeprefix("test_")
    assert f"AssertionError: {lost}" in waiting  # the hidden check's message, without its code
    for lab in course.LABS:
        for student in ("alice", "bob", "carol"):
            page = (term.root / "feedback" / student / lab / f"{lab}.html").read_text()
            for hidden in ("BEGIN HIDDEN TESTS", "import hidden as checks", "Traceback (most recent call last)"):
                assert hidden not in page, (student, lab, hidden)
            assert data_line not in page  # the embedded data cell, folded


def test_a_student_fetches_the_same_feedback_through_the_exchange(term):
    fetched = list((term.homes / "alice" / "backprop" / "feedback").rglob("backprop.html"))
    assert len(fetched) == 1
    assert fetched[0].read_bytes() == (term.root / "feedback" / "alice" / "backprop" / "backprop.html").read_bytes()


def test_the_export_is_one_row_per_lab_and_student_with_blank_for_not_graded(term):
    with open(term.root / "grades.csv", newline="") as handle:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(handle)}
    assert set(rows) == {(lab, s) for lab in course.LABS for s in ("alice", "bob", "carol")}
    maxima = {lab: sum(report.max_scores(term.root, lab).values()) for lab in course.LABS}
    assert rows[("backprop", "alice")]["score"] == f"{maxima['backprop']:.1f}"  # 15 auto + 2 by hand
    assert rows[("backprop", "alice")]["status"] == "graded"
    assert rows[("backprop", "bob")]["score"] == "" and rows[("backprop", "bob")]["status"].startswith("not graded yet")
    assert rows[("autograd", "alice")]["score"] == f"{maxima['autograd']:.1f}"  # nothing to hand-grade
    assert float(rows[("autograd", "bob")]["score"]) < maxima["autograd"]
    assert all(rows[("mlp", s)]["score"] == "" for s in ("alice", "bob", "carol"))  # the derivation waits
    assert rows[("backprop", "alice")]["timestamp"] and not rows[("backprop", "carol")]["timestamp"]
