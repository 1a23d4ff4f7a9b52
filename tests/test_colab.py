"""Colab-saved and student-mangled submissions: the repair step restores their grading metadata, and the
sample class, passed through each transform in graders/samples/colab.py, gets the scores it gets untransformed.

Every transform of every sample is repaired here; where a transform adds no cells, the repaired notebook is
byte for byte the one graded untransformed (grading is deterministic: tests/test_grade.py reruns it), so its
scores are too. The harshest transform, which adds cells, is graded for real in the sandbox, per lab.
"""
import json

import nbformat
import pytest

from graders import course
from graders.grading import executor, grade as grading, preflight
from graders.samples import reference_sample, sample_class
from graders.samples.colab import (FLAGGED, TRANSFORMS, add_scratch, strip_grading_metadata,
                                   stripped_with_scratch_and_edits)
from test_grade import LIMITS

SAMPLES = {lab: [s for s in sample_class(lab) if s.damage is None] for lab in course.LABS}  # JSON to transform
STRIPPING = {"strip_grading_metadata", "stripped_with_scratch_and_edits"}
ADDS_NO_CELLS = set(TRANSFORMS) - {"add_scratch", "stripped_with_scratch_and_edits"}


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


def test_colab_save_writes_what_colab_writes():
    text = TRANSFORMS["colab_save"](SAMPLES["backprop"][0].notebook_text(_release("backprop")))
    saved = json.loads(text)
    assert text.startswith('{\n  "nbformat": 4,\n  "nbformat_minor": 0,\n  "metadata": {\n    "colab"')
    assert all("id" not in c and c["metadata"]["id"] for c in saved["cells"])
    code = [c for c in saved["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] and c["metadata"]["outputId"] and c["metadata"]["colab"] for c in code)
    nbformat.validate(nbformat.reads(text, as_version=4))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("lab", course.LABS)
def test_repair_rebuilds_every_graded_cell_as_in_the_untransformed_submission(lab, transform):
    release = _release(lab)
    for sample in SAMPLES[lab]:
        text = sample.notebook_text(release)
        untransformed = preflight.canonicalize(text, release)
        expected = _graded_cells(untransformed.notebook)
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
            assert nbformat.writes(repaired.notebook) == nbformat.writes(untransformed.notebook), sample.student


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
    notebook.cells[test_position + 1:test_position + 1] = [later_try]  # after its test: not what was tested
    notebook.cells[position:position] = [first_try]                   # before the answer: superseded by it
    stripped = strip_grading_metadata(nbformat.writes(notebook))
    canonical = preflight.canonicalize(stripped, release).notebook
    assert next(c for c in canonical.cells if c.id == "sigmoid").source == answer.source


@pytest.fixture(scope="module", params=course.LABS)
def harshest_class(request, fresh_course):
    """One grade run per lab: every sample through the harshest transform (scratch cells, edited locked cells,
    nbgrader's metadata lost, Colab's format), and as submitted where no expected scores are declared."""
    executor.require_sandbox()
    lab = request.param
    root = fresh_course(f"colab-{lab}")
    release = _release(lab, root)
    for sample in SAMPLES[lab]:
        text = sample.notebook_text(release)
        versions = {"harshest": stripped_with_scratch_and_edits(text), **({} if sample.graded else {"as-submitted": text})}
        for name, version in versions.items():
            folder = root / "submitted" / f"{sample.student}--{name}" / lab
            folder.mkdir(parents=True)
            (folder / f"{lab}.ipynb").write_text(version, encoding="utf-8")
    reference = reference_sample(lab).notebook_text(release)
    renamed, two_notebooks = (root / "submitted" / name / lab for name in ("renamed-by-colab", "two-notebooks"))
    for folder in (renamed, two_notebooks):
        folder.mkdir(parents=True)
    (renamed / f"Copy of {lab}.ipynb").write_text(TRANSFORMS["colab_save"](reference), encoding="utf-8")
    for name in ("draft.ipynb", "final.ipynb"):
        (two_notebooks / name).write_text(reference, encoding="utf-8")
    return lab, course.max_scores(root, lab), grading.grade(lab, root, workers=2, **LIMITS)


def test_the_harshest_transform_of_every_sample_gets_the_untransformed_scores(harshest_class):
    lab, max_scores, outcomes = harshest_class
    for sample in SAMPLES[lab]:
        outcome = outcomes[f"{sample.student}--harshest"]
        # the untransformed scores: declared per sample (tests/test_grade.py asserts the grade command gives them)
        untransformed = (sample.expected_scores(max_scores) if sample.graded
                         else outcomes[f"{sample.student}--as-submitted"].scores)
        assert outcome.scores == untransformed, sample.student
        assert outcome.status == grading.NEEDS_REVIEW, sample.student  # its first test cell was edited
        assert any("grading metadata restored" in note for note in outcome.notes)


def test_a_notebook_renamed_by_colab_is_graded_and_two_notebooks_are_rejected(harshest_class):
    lab, max_scores, outcomes = harshest_class
    assert outcomes["renamed-by-colab"].scores == reference_sample(lab).expected_scores(max_scores)
    assert f"graded 'Copy of {lab}.ipynb', the only notebook in the submission" in outcomes["renamed-by-colab"].notes
    assert outcomes["two-notebooks"].status == grading.REJECTED
    assert outcomes["two-notebooks"].reasons == [
        f"no {lab}.ipynb in the submission, nor a single other notebook (found: 'draft.ipynb', 'final.ipynb')"]


def test_readme_links_open_each_release_notebook_from_the_repository_set_in_one_place():
    readme = (course.ROOT / "README.md").read_text(encoding="utf-8")
    assert course.student_links() in readme, "stale: run python -m graders links"
    for lab in course.LABS:
        assert (course.ROOT / "release" / lab / f"{lab}.ipynb").is_file()
        assert course.colab_url(lab) == ("https://colab.research.google.com/github/"
                                         f"{course.REPOSITORY.split('github.com/')[1]}/blob/{course.BRANCH}"
                                         f"/release/{lab}/{lab}.ipynb")
        assert f"({course.colab_url(lab)})" in readme
