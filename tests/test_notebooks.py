"""Notebook hygiene, one source of truth, visible checks, and release/ freshness with nbgrader's own tools."""

import ast
import filecmp
import inspect
import io
import json
import re

import numpy as np
import pytest
from nbgrader.validator import Validator

from graders import course, labs
from graders.labs.backprop import data
from graders.labs.backprop import published, reference as ref
from graders.labs.backprop.figure import GRAPH_CELL_ID, computational_graph_png
from graders.samples.classroom import sample_class
from conftest import check_failures, notebook_namespace, read_notebook

FUNCTIONS = labs.part("backprop", "checks").GRADED


def _cell(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _nbgrader_cells(notebook):
    return [c for c in notebook.cells if "nbgrader" in c.metadata]


# --- hygiene, for every lab -----------------------------------------------------------------------------


def _solutions(notebook):
    return [c for c in _nbgrader_cells(notebook) if c.metadata.nbgrader.solution and c.cell_type == "code"]


SOLUTIONS = [
    (lab, c.metadata.nbgrader.grade_id) for lab in course.LABS for c in _solutions(read_notebook("source", lab))
]


@pytest.mark.parametrize("lab", course.LABS)
def test_source_is_committed_without_outputs_and_with_stable_metadata(lab):
    notebook = read_notebook("source", lab)
    assert set(notebook.metadata) == {"kernelspec", "language_info"}
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
        if "jupyter" in cell.metadata:  # a folded cell (data): collapsed in JupyterLab and in Colab (form view)
            assert cell.metadata.jupyter == {"source_hidden": True} and cell.metadata.cellView == "form"
            assert set(cell.metadata) == {"nbgrader", "jupyter", "cellView"}
        else:
            assert set(cell.metadata) <= {"nbgrader"}, (cell.id, cell.metadata)


@pytest.mark.parametrize("lab", course.LABS)
def test_grade_ids_are_unique_schema_3_and_each_answer_is_followed_by_its_test(lab):
    notebook = read_notebook("source", lab)
    cells = _nbgrader_cells(notebook)
    ids = [c.metadata.nbgrader.grade_id for c in cells]
    assert len(ids) == len(set(ids))
    assert all(c.metadata.nbgrader.schema_version == 3 for c in cells)
    assert all(c.id == c.metadata.nbgrader.grade_id for c in cells)
    solutions = [c.metadata.nbgrader.grade_id for c in _solutions(notebook)]
    tests = [c.metadata.nbgrader.grade_id for c in cells if c.metadata.nbgrader.grade and c.cell_type == "code"]
    assert tests == [f"test_{name}" for name in solutions]
    for name in solutions:
        assert ids[ids.index(name) + 1] == f"test_{name}"


@pytest.mark.parametrize("lab, name", SOLUTIONS)
def test_solution_cell_defines_one_function_with_signature_and_docstring_outside_the_solution(lab, name):
    source = _cell(read_notebook("source", lab), name).source
    tree = ast.parse(source)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert [f.name for f in functions] == [name] and len(tree.body) == 1
    given = source.split("### BEGIN SOLUTION")[0]
    assert given.startswith(f"def {name}(") and '"""' in given


@pytest.mark.parametrize("lab, name", SOLUTIONS)
def test_test_cell_opens_with_a_one_line_docstring_and_calls_its_check(lab, name):
    lines = _cell(read_notebook("source", lab), f"test_{name}").source.splitlines()
    assert re.fullmatch(r'""".+"""', lines[0])
    assert lines[-1] == f"checks.{name}({name})"
    assert f"from graders.labs.{lab} import hidden as checks" in lines


@pytest.mark.parametrize("lab", course.LABS)
def test_visible_and_hidden_checks_cover_the_same_functions(lab):

    notebook = read_notebook("source", lab)
    namespace = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(course.ROOT / "release" / lab)
        for cell in notebook.cells:
            if cell.get("id") in ("setup", "engine", "visible_checks"):
                exec(cell.source, namespace)
    shown = {n for n in vars(namespace["checks"]) if not n.startswith("_")}
    graded = {name for lab_, name in SOLUTIONS if lab_ == lab}
    hidden_module = labs.part(lab, "hidden")
    assert shown == graded and all(callable(getattr(hidden_module, n)) for n in graded)


@pytest.mark.parametrize("lab", course.LABS)
def test_the_visible_checks_messages_are_the_graders(lab):
    """Every hint a student reads comes from one place: the visible checks hold the graders' HINTS and CRASH_HINTS."""
    from graders import visible

    cell = _cell(read_notebook("source", lab), visible.VISIBLE_CHECKS_CELL)
    assert visible.written_block(cell.source) == visible.messages_block(lab), "stale: run python -m graders embed"
    namespace = {}
    exec(visible.written_block(cell.source), namespace)
    assert namespace["HINTS"] == labs.part(lab, "checks").HINTS


def _region(source, begin, end):
    lines, inside = [], False
    for line in source.splitlines():
        inside = (inside or begin in line) and end not in line
        if inside and begin not in line:
            lines.append(line)
    return lines


def _plain_text(text):
    """Markdown and code as a student reads them: no emphasis or code marks, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"[*`]", "", text))


@pytest.mark.parametrize("lab", course.LABS)
def test_every_pinned_sample_breaks_a_sentence_the_release_says(lab):
    """A sample "breaks what the text pins" only if the student's notebook says it, word for word."""
    said = _plain_text("\n".join(cell.source for cell in read_notebook("release", lab).cells))
    pinned = labs.part(lab, "samples").PINNED
    assert pinned and not [
        (student, sentence) for student, (_, sentence, _) in pinned.items() if _plain_text(sentence) not in said
    ]


@pytest.mark.parametrize("lab", course.LABS)
def test_no_release_holds_a_solution_a_model_answer_or_a_mark_scheme(lab):
    release = (course.ROOT / "release" / lab / f"{lab}.ipynb").read_text()
    secret = []
    for cell in read_notebook("source", lab).cells:
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("solution") and cell.cell_type == "markdown":
            secret += cell.source.splitlines()  # a model answer
        secret += _region(cell.source, "BEGIN SOLUTION", "END SOLUTION")
        secret += _region(cell.source, "BEGIN MARK SCHEME", "END MARK SCHEME")
        secret += _region(cell.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    hints = json.dumps(labs.part(lab, "checks").HINTS, ensure_ascii=False)
    telling = [line.strip() for line in secret if len(line.strip()) > 25 and line.strip() not in hints]
    assert telling, "nothing to look for"  # (a line a hint spells out for students on purpose is not a leak)
    leaked = [line for line in telling if json.dumps(line)[1:-1] in release]
    assert leaked == []


def test_graph_figure_embedded_is_what_the_code_draws(source_notebook):
    cell = next(c for c in source_notebook.cells if c.id == GRAPH_CELL_ID)
    assert f"](data:image/png;base64,{computational_graph_png()})" in cell.source


@pytest.mark.parametrize("lab", course.LABS)
def test_figures_are_data_uris_that_colab_renders_not_attachments(lab):
    """Colab does not render markdown attachments (googlecolab/colabtools#3836); a data URI it does."""
    release = read_notebook("release", lab)
    markdown = [c for c in release.cells if c.cell_type == "markdown"]
    assert [c.id for c in markdown if "attachments" in c or "attachment:" in c.source] == []
    images = [c.id for c in markdown if "](data:image/png;base64," in c.source]
    assert images == list(labs.part(lab).FIGURE_CELLS)


# --- one source of truth --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def visible(source_notebook):
    """The notebook's read-only cells (data, visible checks, optimizer defaults) run in one namespace."""
    namespace = {}
    for grade_id in (data.EMBEDDED_CELL_ID, "setup", "visible_checks", "optimizer_defaults"):
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(course.ROOT / "release" / "backprop")
            exec(_cell(source_notebook, grade_id).source, namespace)
    return namespace


def test_notebook_published_values_are_the_graders(visible):
    p = visible["PUBLISHED"]
    assert p["sigmoid_at_2"] == published.SIGMOID_AT_2
    assert p["forward_weight"] == published.FORWARD_WEIGHT and p["forward"] == published.FORWARD
    assert p["backward_decimals"] == published.BACKWARD_DECIMALS and p["backward"] == published.BACKWARD
    assert p["gradcheck_w"] == published.GRADCHECK_W
    assert (p["gradcheck_eps"], p["gradcheck_bound"]) == (published.GRADCHECK_EPS, published.GRADCHECK_BOUND)


def test_notebook_data_and_defaults_are_the_graders(visible, source_notebook):
    assert visible["DATA_SHA256"] == data.DATA_SHA256
    X, y = data.load_data()
    assert np.array_equal(visible["X"], X) and np.array_equal(visible["y"], y)
    assert visible["VANILLA_DEFAULTS"] == ref.VANILLA_DEFAULTS
    assert visible["MOMENTUM_DEFAULTS"] == ref.MOMENTUM_DEFAULTS
    assert visible["ADAM_DEFAULTS"] == ref.ADAM_DEFAULTS
    namespace = dict(visible)
    exec(_cell(source_notebook, "train").source, namespace)
    defaults = inspect.signature(namespace["train"]).parameters
    assert (defaults["epochs"].default, defaults["seed"].default) == (ref.EPOCHS, ref.SEED)


def test_embedded_data_is_the_data_file_byte_for_byte(source_notebook):
    raw = data.decode_embedded(_cell(source_notebook, data.EMBEDDED_CELL_ID).source)
    assert raw == data.DATA_PATH.read_bytes()
    assert _cell(source_notebook, data.EMBEDDED_CELL_ID).source == data.embedded_cell_source(), (
        "stale: run python -m graders embed"
    )


def _load_in(folder, source_notebook):
    namespace = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for grade_id in (data.EMBEDDED_CELL_ID, "setup"):
            exec(_cell(source_notebook, grade_id).source, namespace)
    return namespace


def test_notebook_uses_the_embedded_copy_alone_and_refuses_a_damaged_file_beside_it(source_notebook, tmp_path):
    X, y = data.load_data()
    alone = _load_in(tmp_path, source_notebook)
    assert np.array_equal(alone["X"], X) and np.array_equal(alone["y"], y)
    damaged = bytearray(data.DATA_PATH.read_bytes())
    damaged[-20] ^= 1
    (tmp_path / "data.pkl").write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="sha256 mismatch"):
        _load_in(tmp_path, source_notebook)


# --- visible checks: what a student sees before submitting --------------------------------------------

# Visible checks run a function with the student's own helpers (there is no reference in Colab), so a
# forward or backward bug also shows in the visible gradient check and training: that is what gradient
# checking is for. Grading isolates each function; see test_hidden_checks.py.
USES = {
    "forward_propagation": ("gradient_checking", "train"),
    "backward_propagation": ("gradient_checking", "train"),
    "vanilla_update": ("train",),
}


@pytest.mark.parametrize("sample", [s for s in sample_class("backprop") if s.graded], ids=lambda s: s.student)
def test_visible_checks_flag_the_buggy_cell_and_only_cells_that_use_it(sample, release_notebook):
    namespace = notebook_namespace(sample.notebook(release_notebook))
    failures = set(check_failures(namespace, namespace["checks"], FUNCTIONS, errors=Exception))
    charged = {*sample.loses, *sample.partial}  # a visible check is all or nothing
    downstream = {f"test_{user}" for name in charged for user in USES.get(name.removeprefix("test_"), ())}
    assert charged <= failures <= charged | downstream


# --- nbgrader: release is fresh, source validates, release stubs fail --------------------------------


@pytest.mark.slow
def test_release_is_what_generate_assignment_makes_from_source(built_course):
    for lab in course.LABS:
        fresh, committed = built_course / "release" / lab, course.ROOT / "release" / lab
        comparison = filecmp.dircmp(fresh, committed)
        assert not (comparison.left_only or comparison.right_only), "files differ: run python -m graders build"
        _, mismatch, errors = filecmp.cmpfiles(fresh, committed, comparison.common_files, shallow=False)
        assert not mismatch and not errors, f"release/{lab} is stale: run python -m graders build"


def _validate(notebook, invert=False):
    """What `nbgrader validate [--invert] NOTEBOOK` prints: its Validator with the course's configuration, in this
    process (the command itself runs in tests/test_term.py, as the README's term has it)."""
    validator = Validator(config=course.nbgrader_config(), invert=invert)
    validator.stream = io.StringIO()
    validator.validate_and_print(str(course.ROOT / notebook))
    return validator.stream.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("lab", course.LABS)
def test_nbgrader_validate_passes_the_source(lab):
    said = _validate(f"source/{lab}/{lab}.ipynb")
    assert "Success! Your notebook passes all the tests." in said, said


@pytest.mark.slow
@pytest.mark.parametrize("lab", course.LABS)
def test_nbgrader_validate_invert_fails_every_release_stub(lab):
    said = _validate(f"release/{lab}/{lab}.ipynb", invert=True)
    assert "Success! The notebook does not pass any tests." in said, said
