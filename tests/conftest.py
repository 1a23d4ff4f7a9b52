"""Shared fixtures: a throwaway copy of the course, and the sample class graded once per test run."""
import contextlib
import io
import shutil

import nbformat
import pytest

from graders import course


@pytest.fixture(scope="session")
def built_course(tmp_path_factory):
    """A course folder with every lab's release generated and recorded in a new gradebook, built once per test run
    (generate_assignment takes seconds a lab). Tests grade in copies of it (`fresh_course`), never in it."""
    root = course.copy_course(tmp_path_factory.mktemp("built"), with_release=False)  # release/ made here, from source/
    course.build_releases(root)
    return root


@pytest.fixture(scope="session")
def fresh_course(built_course, tmp_path_factory):
    """make(name): a new copy of the built course, with no submissions yet."""
    def make(name):
        return shutil.copytree(built_course, tmp_path_factory.mktemp(name), symlinks=True, dirs_exist_ok=True)
    return make


@pytest.fixture(scope="session")
def graded_course(fresh_course):
    """The bundled sample class, autograded by plain nbgrader in a copy of the course."""
    root = fresh_course("course")
    course.stage_samples(root)
    not_graded = course.autograde(root)
    return root, not_graded


def notebook_namespace(notebook, lab="backprop"):
    """Run a notebook's code cells up to its last test cell, tests excluded, in one namespace, in the lab's
    release folder (for its data files): what the functions under test need, without the plots."""
    namespace = {"__name__": "__main__"}  # as in a kernel: notebook functions belong to __main__
    code = [c for c in notebook.cells if c.cell_type == "code"]
    last_test = max(i for i, c in enumerate(code) if c.metadata.get("nbgrader", {}).get("grade"))
    with contextlib.chdir(course.ROOT / "release" / lab):
        for cell in code[:last_test]:
            if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_"):
                continue
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                try:
                    exec(cell.source, namespace)
                except Exception:  # a broken cell breaks that sample's function only, as in a kernel
                    pass
    return namespace


def check_failures(namespace, checks, names, errors=AssertionError):
    """{test_<name>: message} for every check in `checks` (the hidden module or the visible class) that fails.

    Hidden checks turn every student error into AssertionError; visible ones let it through (errors=Exception).
    """
    failures = {}
    for name in names:
        try:
            getattr(checks, name)(namespace.get(name))
        except errors as exc:
            failures[f"test_{name}"] = str(exc)
    return failures


def read_notebook(kind, lab):
    return nbformat.read(course.ROOT / kind / lab / f"{lab}.ipynb", as_version=4)


@pytest.fixture(scope="session")
def release_notebook():
    return read_notebook("release", "backprop")


@pytest.fixture(scope="session")
def source_notebook():
    return read_notebook("source", "backprop")
