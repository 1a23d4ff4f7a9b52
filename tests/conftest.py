"""Shared fixtures: a throwaway copy of the course, and the sample class graded once per test run."""

import concurrent.futures
import contextlib
import fcntl
import functools
import os
import shutil

import nbformat
import nbgrader.api
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from graders import course
from graders.samples import classroom
from graders.grading import executor
from graders.sandbox.kernel import Kernel

from graders.samples import postgres
from chromium import CHROMEDRIVER, CHROMIUM


# nbgrader asks `alembic heads` in a subprocess (2 s) for every new gradebook; the answer is fixed by the installed
# nbgrader, so a test process asks once.
nbgrader.api.get_alembic_version = functools.cache(nbgrader.api.get_alembic_version)

TOOLS = {
    "sandbox": (lambda: executor.bwrap_path(), "bubblewrap: sudo apt-get install bubblewrap (./run setup, as root)"),
    "browser": (
        lambda: CHROMIUM.exists() and CHROMEDRIVER.exists(),
        "Chromium: sudo apt-get install chromium chromium-driver (./run setup, as root)",
    ),
    "postgres": (lambda: postgres.available(), postgres.INSTALL_HINT),
}


# The longest test files (about 30 s of CPU and more each, on the 2-core machine), longest first: they start first,
# so that the file a worker is handed last is a short one (./run test passes --no-loadscope-reorder so that xdist
# keeps this order instead of its own, by number of tests).
LONGEST_FIRST = [
    f"test_{name}.py"
    for name in ("grade", "sample_class", "colab", "term", "benchmarks", "intake", "gradebook", "new_lab", "browser")
]


def pytest_collection_modifyitems(items):
    for item in items:
        if not any(item.get_closest_marker(kind) for kind in ("sandbox", "browser", "postgres", "slow")):
            item.add_marker(pytest.mark.fast)
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep pytest's order


def pytest_runtest_setup(item):
    """A test that needs a tool this machine lacks is skipped with the install hint, except in CI (CI set), where
    a missing tool is a failure: CI must never pass by skipping."""
    for kind, (available, hint) in TOOLS.items():
        if item.get_closest_marker(kind) and not available():
            (pytest.fail if os.environ.get("CI") else pytest.skip)(f"missing {hint}")


@pytest.fixture(scope="session")
def built_course(tmp_path_factory, worker_id):
    """A course folder with every lab's release generated and recorded in a new gradebook, and matplotlib's font
    cache for the sandboxes, built once per test run (by the first xdist worker to ask; the others wait for it).
    Tests grade in copies of it (`fresh_course`), never in it."""
    if worker_id == "master":
        return _build_course(tmp_path_factory.mktemp("built"))
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above each worker's own
    with open(shared / "built.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built.done").exists():
            shutil.rmtree(shared / "built", ignore_errors=True)  # a worker whose build failed: try again, fail alike
            _build_course(shared / "built")
            (shared / "built.done").touch()
    return shared / "built"


def _build_course(folder):
    root = course.copy_course(folder, with_release=False)  # release/ made here, from source/
    course.build_releases(root)
    executor.prepare_matplotlib_cache(root / "build")
    return root


@pytest.fixture(scope="session")
def fresh_course(built_course, tmp_path_factory):
    """make(name): a new copy of the built course, with no submissions yet."""

    def make(name):
        return shutil.copytree(built_course, tmp_path_factory.mktemp(name), symlinks=True, dirs_exist_ok=True)

    return make


@pytest.fixture(scope="session")
def graded_course(fresh_course):
    """The bundled sample class, autograded by plain nbgrader: ([course copies], {lab: students not graded}).
    nbgrader runs one kernel at a time, so each core grades its share of every lab's class in a copy of its own.
    The reference runs whole; the other samples stop after their last test cell (scores_only): their plots (the
    backprop one trains three times) change no score."""
    shares = max(1, min(2, os.cpu_count() or 1))
    roots = [fresh_course(f"course{k}") for k in range(shares)]
    for k, root in enumerate(roots):
        classroom.stage_samples(root, share=(k, shares), scores_only=True)
    with concurrent.futures.ThreadPoolExecutor(shares) as pool:
        results = list(pool.map(classroom.plain_autograde, roots))
    # Two nbgrader processes starting kernels at once can race for one free TCP port (jupyter_client finds a free
    # port, then the kernel binds it): a student who failed in the parallel pass is graded once more, alone (a broken
    # notebook, which nbgrader cannot grade however it is run, is not).
    return roots, {
        lab: sorted(
            student for root, result in zip(roots, results) for student in _still_failing_alone(root, lab, result[lab])
        )
        for lab in course.LABS
    }


def _still_failing_alone(root, lab, students):
    broken = {s.student for s in classroom.sample_class(lab) if not s.graded}
    failing = set(students) & broken
    for student in set(students) - broken:
        course.nbgrader("autograde", lab, "--student", student, "--force", root=root, check=False)
        failing.update(course.without_output([student], course.layout(root).autograded, lab, ".ipynb"))
    return failing


def notebook_namespace(notebook, lab="backprop"):
    """Run a notebook's code cells up to its last test cell, tests excluded, in one namespace, in the lab's
    release folder (for its data files): what the functions under test need, without the plots."""
    namespace = {"__name__": "__main__"}  # as in a kernel: notebook functions belong to __main__
    kernel = Kernel(namespace, TransformerManager())  # the grade command's kernel: magics, errors kept as outputs
    code = [c for c in notebook.cells if c.cell_type == "code"]
    last_test = max(i for i, c in enumerate(code) if c.metadata.get("nbgrader", {}).get("grade"))
    with contextlib.chdir(course.ROOT / "release" / lab):
        for cell in code[:last_test]:
            if not cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_"):
                kernel.run_cell(cell.get("id", "cell"), cell.source)  # a broken cell breaks its own function only
    return namespace


def check_failures(namespace, checks, names, errors=AssertionError, partial=None):
    """{test_<name>: message} for every check in `checks` (the hidden module or the visible class) that fails.
    A check that gives part of its points returns that number: it goes into `partial` when given.

    Hidden checks turn every student error into AssertionError; visible ones let it through (errors=Exception).
    """
    failures = {}
    for name in names:
        try:
            points = getattr(checks, name)(namespace.get(name))
        except errors as exc:
            failures[f"test_{name}"] = str(exc)
        else:
            if points is not None and partial is not None:
                partial[f"test_{name}"] = points
    return failures


def read_notebook(kind, lab):
    return nbformat.read(course.ROOT / kind / lab / f"{lab}.ipynb", as_version=4)


@pytest.fixture(scope="session")
def release_notebook():
    return read_notebook("release", "backprop")


@pytest.fixture(scope="session")
def source_notebook():
    return read_notebook("source", "backprop")
