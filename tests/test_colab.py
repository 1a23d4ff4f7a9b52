"""Colab-saved and student-mangled submissions: the repair step restores their grading metadata, and the
sample class, passed through each transform in graders/samples/colab.py, gets the scores and status it gets
untransformed.

Every transform of every sample is repaired here; where a transform adds no cells, the repaired notebook is
byte for byte the one graded untransformed (grading is deterministic: tests/test_grade.py reruns it), so its
scores are too. Of those that add cells, the harshest of each family (a worked Colab session; scratch cells, edited
locked cells and lost metadata) is graded for real in the sandbox, per lab, for two samples of each kind, one
through each (a kind with one sample through both), and must get the scores and status the sample gets as submitted
(asserted in tests/test_grade.py); benchmarks/colab_round_trip.py grades every sample through every transform and
writes the feedback.
"""

import functools
import json
import re

import nbformat
import pytest
from nbconvert import HTMLExporter

from graders import course
from graders.grading import report
from graders.grading import grade as grading, nbgrader_steps, preflight
from graders.samples.classroom import by_kind, reference_sample, sample_class
from graders.samples.colab import (
    ADDS_CELLS,
    COLAB_SAVES,
    FLAGGED,
    STUDENT_GOOGLE_ID,
    STUDENT_NAME,
    TRANSFORMS,
    WIDGET_MODEL,
    add_scratch,
    strip_grading_metadata,
)
from test_grade import LIMITS, SCORES_ONLY

pytestmark = pytest.mark.sandbox

SAMPLES = {lab: [s for s in sample_class(lab) if s.damage is None] for lab in course.LABS}  # JSON to transform
STRIPPING = {"strip_grading_metadata", "stripped_with_scratch_and_edits"}
ADDS_NO_CELLS = set(TRANSFORMS) - ADDS_CELLS
COLAB_ID = re.compile(r"^[A-Za-z0-9_-]{12}$")
GRADED_FOR_REAL = ("worked_session", "stripped_with_scratch_and_edits")  # the harshest of each family


def _graded_for_real(samples):
    """{transform: the samples graded through it}: a kind of sample (reference, correct, bug, ...) with one sample goes
    through both transforms, a larger kind sends its first two, one through each. What is graded is the repaired
    notebook, and every sample's repair, through every transform, is compared cell by cell with the untransformed
    submission (test_repair_rebuilds_every_graded_cell_as_in_the_untransformed_submission), which
    tests/test_grade.py grades; benchmarks/colab_round_trip.py grades every sample through every transform."""
    through = {name: [] for name in GRADED_FOR_REAL}
    for of_kind in by_kind(samples).values():
        for k, sample in enumerate(of_kind[:2]):
            for name in GRADED_FOR_REAL if len(of_kind) == 1 else [GRADED_FOR_REAL[k]]:
                through[name].append(sample)
    return through


GRADED_SAMPLES = {lab: _graded_for_real(samples) for lab, samples in SAMPLES.items()}


def _release(lab, root=course.ROOT):
    return nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)


def _graded_cells(notebook):
    """What decides the scores: every release cell of the canonical notebook (not the student's own cells)."""
    return {c.id: c.source for c in notebook.cells if not c.id.startswith("student-cell-")}


def _parses(source):
    try:
        compile(source, "<cell>", "exec")
        return True
    except SyntaxError:
        return False


@pytest.fixture(scope="module")
def saved():
    """The reference solution of backprop through each of Colab's own saves: (release, {transform: (text, json)})."""
    release = _release("backprop")
    text = reference_sample("backprop").notebook_text(release)
    texts = {name: TRANSFORMS[name](text) for name in COLAB_SAVES}
    return release, {name: (saved, json.loads(saved)) for name, saved in texts.items()}


def test_colab_saves_keep_nbgrader_metadata_and_mirror_the_cell_ids_of_a_45_release(saved):
    release, files = saved
    grading_metadata = [c.metadata.get("nbgrader") for c in release.cells]
    for name in ("download_2024", "drive_minified", "private_outputs", "worked_session"):
        cells = files[name][1]["cells"]
        assert files[name][1]["nbformat_minor"] == 5
        assert all(c["id"] == c["metadata"]["id"] for c in cells), name
        kept = [c for c in cells if c["id"] in {r.id for r in release.cells}]
        assert [c["metadata"].get("nbgrader") for c in kept] == grading_metadata, name
        assert all(COLAB_ID.match(c["id"]) for c in cells if c not in kept), name
    text, github = files["github_save_2024"]
    assert "id" not in github["cells"][0] and "colab-badge.svg" in "".join(github["cells"][0]["source"])
    assert github["metadata"]["colab"]["include_colab_link"] is True
    older = files["older_release_round_trip"][1]
    assert older["nbformat_minor"] == 0 and all(
        "id" not in c and COLAB_ID.match(c["metadata"]["id"]) for c in older["cells"]
    )


def test_colab_saves_are_written_as_colab_writes_them(saved):
    _, files = saved
    download, parsed = files["download_2024"]
    assert download.startswith('{\n  "cells": [') and not download.endswith("\n")
    assert "\n" not in files["drive_minified"][0]  # one line
    assert list(parsed["metadata"])[-1] == "colab"
    code = [c for c in parsed["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code if c["execution_count"] is not None]
    assert counts != sorted(counts) and len(counts) < len(code)  # out of order, one never run
    assert all(("outputId" in c["metadata"]) == bool(c["outputs"]) for c in code)
    assert all(
        ("height" in c["metadata"]["colab"]) == any(o["output_type"] == "display_data" for o in c["outputs"])
        for c in code
    )
    assert {c["metadata"]["executionInfo"]["user"]["userId"] for c in code if "executionInfo" in c["metadata"]} == {
        STUDENT_GOOGLE_ID
    }
    private = files["private_outputs"][1]
    assert private["metadata"]["colab"]["private_outputs"] is True
    assert all(
        c["outputs"] == [] and c["execution_count"] is None for c in private["cells"] if c["cell_type"] == "code"
    )
    worked = files["worked_session"][1]
    assert "state" not in worked["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    with pytest.raises(KeyError, match="state"):  # as saved, nbconvert cannot render it (jupyter/nbconvert#1731)
        HTMLExporter().from_notebook_node(nbformat.reads(files["worked_session"][0], as_version=4))
    outputs = json.dumps([c.get("outputs") for c in worked["cells"]])
    assert "drive.mount" in json.dumps(worked["cells"][0]["source"]) and WIDGET_MODEL in outputs
    assert "application/vnd.google.colaboratory.intrinsic+json" in outputs


def test_colab_strips_one_trailing_space_and_a_locked_cell_is_not_edited_by_it():
    release = _release("backprop")
    assert [c.id for c in release.cells if any(line.endswith(" ") for line in c.source.splitlines())] == [], (
        "a trailing space in a release cell changes its checksum once Colab strips it: remove it from source/"
    )
    padded = nbformat.from_dict(release)
    test_cell = next(c for c in padded.cells if (preflight.grade_id(c) or "").startswith("test_"))
    test_cell.source = test_cell.source.replace("\n", "  \n")
    text = TRANSFORMS["download_2024"](reference_sample("backprop").notebook_text(padded))
    saved = next(c for c in json.loads(text)["cells"] if c["id"] == test_cell.id)
    assert "".join(saved["source"]) == test_cell.source.replace("  \n", " \n")
    assert preflight.canonicalize(text, padded).concerns == []


@functools.cache
def _as_submitted(lab):
    """[(sample, its notebook's JSON, that canonicalized, and written)] of the lab's samples, untransformed."""
    release = _release(lab)
    texts = [(sample, sample.notebook_text(release)) for sample in SAMPLES[lab]]
    canonical = [(sample, text, preflight.canonicalize(text, release).notebook) for sample, text in texts]
    return [(sample, text, notebook, nbformat.writes(notebook)) for sample, text, notebook in canonical]


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("lab", course.LABS)
def test_repair_rebuilds_every_graded_cell_as_in_the_untransformed_submission(lab, transform):
    release = _release(lab)
    for sample, text, untransformed, written in _as_submitted(lab):
        expected = _graded_cells(untransformed)
        repaired = preflight.canonicalize(TRANSFORMS[transform](text), release)
        got = _graded_cells(repaired.notebook)
        if transform in STRIPPING:
            # Without grade_ids an answer that does not parse cannot be told from a scratch definition of the same
            # function; the repair takes the definition in force when the test ran (in the student's kernel too).
            unparsable = {k for k, source in expected.items() if not _parses(source)}
            expected = {k: v for k, v in expected.items() if k not in unparsable}
            got = {k: v for k, v in got.items() if k not in unparsable}
        assert got == expected, (sample.student, [k for k in expected if got.get(k) != expected[k]])
        assert bool(repaired.concerns) == (transform in FLAGGED), (sample.student, repaired.concerns)
        if transform in ADDS_NO_CELLS:  # the very notebook that is graded untransformed: the same scores follow
            assert nbformat.writes(repaired.notebook) == written, sample.student


def test_repair_reports_what_it_restored_and_what_it_could_not_match():
    release = _release("backprop")
    text = SAMPLES["backprop"][0].notebook_text(release)
    added = len(json.loads(add_scratch(text))["cells"]) - len(release.cells)
    scratch = preflight.canonicalize(add_scratch(text), release)
    assert scratch.repairs == [f"{added} cell(s) matching nothing in the release kept as ordinary cells (not graded)"]
    stripped = preflight.canonicalize(strip_grading_metadata(text), release)
    assert stripped.concerns == [] and len(stripped.repairs) == 1
    assert "by the function defined: 'sigmoid', 'forward_propagation'" in stripped.repairs[0]
    assert "by position after the cell it follows: 'conclusion'" in stripped.repairs[0]


def test_without_metadata_the_definition_in_force_when_the_test_ran_is_graded():
    release = _release("backprop")
    answer = next(c for c in release.cells if c.id == "sigmoid")
    first_try, later_try = (nbformat.v4.new_code_cell(f"def sigmoid(z):\n    return {v}") for v in ("0.5", "-1"))
    notebook = nbformat.from_dict(release)
    position = notebook.cells.index(next(c for c in notebook.cells if c.id == "sigmoid"))
    test_position = position + 1
    notebook.cells[test_position + 1 : test_position + 1] = [later_try]  # after its test: not what was tested
    notebook.cells[position:position] = [first_try]  # before the answer: superseded by it
    stripped = strip_grading_metadata(nbformat.writes(notebook))
    canonical = preflight.canonicalize(stripped, release).notebook
    assert next(c for c in canonical.cells if c.id == "sigmoid").source == answer.source


@pytest.fixture(scope="module", params=course.LABS)
def transformed_class(request, fresh_course):
    """One grade run per lab: the samples _graded_for_real through the harshest transforms, beside a renamed copy and
    a two-notebook folder. Every sample as submitted is graded, and its scores asserted, in tests/test_grade.py; here
    only those plain nbgrader cannot grade (no expected scores to compare with) are graded as submitted too."""
    lab = request.param
    root = fresh_course(f"colab-{lab}")
    release = _release(lab, root)
    for sample in SAMPLES[lab]:
        if not sample.graded:
            course.submit(root, f"{sample.student}--as-submitted", lab, sample.notebook_text(release))
    for name, samples in GRADED_SAMPLES[lab].items():
        for sample in samples:
            course.submit(root, f"{sample.student}--{name}", lab, TRANSFORMS[name](sample.notebook_text(release)))
    reference = reference_sample(lab).notebook_text(release)
    course.submit(root, "renamed-by-colab", lab, TRANSFORMS["download_2024"](reference), f"Copy of {lab}.ipynb")
    for name in ("draft.ipynb", "final.ipynb"):
        course.submit(root, "two-notebooks", lab, reference, name)
    if len(_answers(json.loads(reference))) >= 2:  # (a one-function lab cannot merge two answers)
        merged = _two_answers_in_one_cell(reference)
        course.submit(root, "two-answers-in-one-cell", lab, TRANSFORMS["download_2024"](merged))
        course.submit(root, "two-answers-in-one-cell-pasted", lab, TRANSFORMS["strip_grading_metadata"](merged))
    course.submit(root, "colab-only-lines", lab, TRANSFORMS["download_2024"](_colab_only_lines(reference)))
    return lab, report.max_scores(root, lab), grading.grade(lab, root, workers=2, **SCORES_ONLY)


def _answers(notebook):
    return [
        c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "code"
    ]


def _two_answers_in_one_cell(text):
    """The second function written under the first, in its cell; the second answer cell deleted."""
    notebook = json.loads(text)
    first, second = _answers(notebook)[:2]
    first["source"] = "".join(first["source"]) + "\n\n" + "".join(second["source"])
    notebook["cells"].remove(second)
    return json.dumps(notebook)


def _colab_only_lines(text):
    """Lines that run in Colab and not while grading: a google.colab import, a shell command (in the first and the
    last answer cell)."""
    notebook = json.loads(text)
    first, last = _answers(notebook)[0], _answers(notebook)[-1]
    first["source"] = "from google.colab import output\n" + "".join(first["source"])
    last["source"] = "!pip install -q numpy\n" + "".join(last["source"])
    return json.dumps(notebook)


@pytest.mark.parametrize("transform", GRADED_FOR_REAL)
def test_every_sample_through_the_harshest_transforms_gets_its_expected_scores_and_status(transformed_class, transform):
    lab, max_scores, outcomes = transformed_class
    for sample in GRADED_SAMPLES[lab][transform]:
        outcome = outcomes[f"{sample.student}--{transform}"]
        if sample.graded:  # as submitted, a cheat needs review and every other sample is graded (tests/test_grade.py)
            scores = sample.expected_scores(max_scores)
            status = grading.NEEDS_REVIEW if sample.student.startswith("cheat-") else grading.GRADED
        else:
            as_submitted = outcomes[f"{sample.student}--as-submitted"]
            scores, status = as_submitted.scores, as_submitted.status
        assert outcome.scores == scores, sample.student
        # a changed or missing test cell is for a person to look at; nothing Colab itself does is
        expected_status = grading.NEEDS_REVIEW if transform in FLAGGED else status
        assert outcome.status == expected_status, (sample.student, outcome.reasons)
        assert any("kept as ordinary cells" in note for note in outcome.notes), sample.student


def test_a_notebook_renamed_by_colab_is_graded_and_of_two_notebooks_one_is_graded_for_a_person_to_check(
    transformed_class,
):
    lab, max_scores, outcomes = transformed_class
    assert outcomes["renamed-by-colab"].scores == reference_sample(lab).expected_scores(max_scores)
    assert f"graded 'Copy of {lab}.ipynb', the only notebook in the submission" in outcomes["renamed-by-colab"].notes
    assert outcomes["two-notebooks"].status == grading.NEEDS_REVIEW
    assert outcomes["two-notebooks"].scores == outcomes["renamed-by-colab"].scores
    assert "2 notebooks in the submission: 'draft.ipynb'" in outcomes["two-notebooks"].reasons[0]


def test_two_answers_written_in_one_cell_are_both_graded_with_a_note(transformed_class):
    lab, max_scores, outcomes = transformed_class
    release = _release(lab)
    if "two-answers-in-one-cell" not in outcomes:
        pytest.skip(f"{lab} has one answer cell")
    second = [c.id for c in release.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"][
        1
    ]
    for student in ("two-answers-in-one-cell", "two-answers-in-one-cell-pasted"):
        outcome = outcomes[student]
        assert (outcome.status, outcome.scores) == (grading.GRADED, reference_sample(lab).expected_scores(max_scores))
        assert any(f"no cell of its own for '{second}'" in note for note in outcome.notes), outcome.notes


def test_an_answer_stopped_by_what_only_colab_has_needs_a_person(transformed_class):
    lab, _, outcomes = transformed_class
    outcome = outcomes["colab-only-lines"]
    assert outcome.status == grading.NEEDS_REVIEW
    gaps = [reason for reason in outcome.reasons if "grading does not have" in reason]
    assert any("shell commands (!pip install -q numpy)" in reason for reason in gaps), outcome.reasons
    if len(_answers(json.loads(reference_sample(lab).notebook_text(_release(lab))))) > 1:  # each in a cell of its own
        assert any("No module named 'google'" in reason for reason in gaps), outcome.reasons


def test_personal_data_colab_adds_never_reaches_the_graded_copy_feedback_or_exports(fresh_course):
    """executionInfo carries the student's Google name and id: pre-flight drops it; feedback is still written."""
    lab, root = "autograd", fresh_course("colab-personal-data")
    reference = reference_sample(lab).notebook_text(_release(lab, root))
    for name in COLAB_SAVES:
        course.submit(root, name, lab, TRANSFORMS[name](reference))
    outcomes = grading.grade(lab, root, workers=2, **LIMITS)
    assert {s: o.status for s, o in outcomes.items()} == dict.fromkeys(COLAB_SAVES, grading.GRADED)
    assert nbgrader_steps.generate_feedback(root, lab) == []
    course.nbgrader("export", root=root)
    feedback = [root / "feedback" / name / lab / f"{lab}.html" for name in COLAB_SAVES]
    assert all(page.is_file() for page in feedback)

    def holding(folder):
        return sorted(
            str(path.relative_to(root))
            for path in folder.rglob("*")
            if path.is_file()
            and any(secret.encode() in path.read_bytes() for secret in (STUDENT_NAME, STUDENT_GOOGLE_ID))
        )

    assert holding(root / "submitted"), "nothing to look for"  # what the student handed in holds it
    assert [path for path in holding(root) if not path.startswith("submitted/")] == []


def test_readme_links_open_each_release_notebook_from_the_repository_set_in_one_place():
    readme = (course.ROOT / "README.md").read_text(encoding="utf-8")
    assert course.student_links() in readme, "stale: run python -m graders links"
    for lab in course.LABS:
        assert (course.ROOT / "release" / lab / f"{lab}.ipynb").is_file()
        assert course.colab_url(lab) == (
            "https://colab.research.google.com/github/"
            f"{course.REPOSITORY.split('github.com/')[1]}/blob/{course.BRANCH}"
            f"/release/{lab}/{lab}.ipynb"
        )
        assert f"({course.colab_url(lab)})" in readme


def test_a_copy_of_a_later_instruction_at_the_top_does_not_move_the_cells_after_it():
    release = _release("backprop")
    notebook = json.loads(reference_sample("backprop").notebook_text(release))
    last_instruction = [c for c in notebook["cells"] if c["cell_type"] == "markdown" and not preflight.grade_id(c)][-1]
    notes = {**last_instruction, "id": "my-notes"}  # the task text copied to the top, as notes
    helper = {
        "cell_type": "code",
        "id": "my-helper",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        "source": "HELPER = 1",
    }
    notebook["cells"][1:1] = [notes, helper]
    for text in (json.dumps(notebook), strip_grading_metadata(json.dumps(notebook))):
        cells = preflight.canonicalize(text, release).notebook.cells
        helper_at = next(i for i, c in enumerate(cells) if c.source == "HELPER = 1")
        assert helper_at < next(i for i, c in enumerate(cells) if c.id == "sigmoid")  # before the answers using it
