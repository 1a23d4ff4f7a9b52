"""Shared fixtures: a throwaway copy of the course, and the sample class graded once per test run."""
import contextlib
import io

import nbformat
import pytest

from graders import course

copy_course = course.copy_course


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """The bundled sample class, autograded by plain nbgrader in a copy of the course."""
    root = copy_course(tmp_path_factory.mktemp("course"))
    course.build_releases(root)  # also records the assignment in the new gradebook
    course.stage_samples(root)
    not_graded = course.autograde(root)
    return root, not_graded


def notebook_namespace(notebook, skip=("optimizer_comparison",)):
    """Run a notebook's non-test code cells in one namespace, in the release folder (for data.pkl)."""
    namespace = {"__name__": "__main__"}  # as in a kernel: notebook functions belong to __main__
    with contextlib.chdir(course.ROOT / "release" / "backprop"):
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if cell.cell_type != "code" or grade_id.startswith("test_") or grade_id in skip:
                continue
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                try:
                    exec(cell.source, namespace)
                except Exception:  # a broken cell breaks that sample's function only, as in a kernel
                    pass
    return namespace


@pytest.fixture(scope="session")
def release_notebook():
    return nbformat.read(course.ROOT / "release" / "backprop" / "backprop.ipynb", as_version=4)


@pytest.fixture(scope="session")
def source_notebook():
    return nbformat.read(course.ROOT / "source" / "backprop" / "backprop.ipynb", as_version=4)
