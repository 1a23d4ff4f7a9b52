"""A lab added as docs/adding-a-lab.md says: `python -m graders new-lab` in a copy of the course, then build, grade,
and the lab-generic tests on it, nothing else edited."""

import csv
import os
import shutil
import subprocess
import sys

import pytest

from graders import course

# What a lab author's clone holds that the commands and the lab-generic tests read.
CLONE = ("graders", "source", "release", "data", "nbgrader_config.py", "README.md", "tests", "pyproject.toml")
# Every test module that is parametrized over the labs and cheap enough to run for one more lab.
LAB_GENERIC = (
    "tests/test_notebooks.py",
    "tests/test_secrets.py",
    "tests/test_grade.py",
    "tests/test_sandbox.py",
    "tests/test_student_env.py",
    "tests/test_colab.py",
)


def _clone(destination):
    for name in CLONE:
        source = course.ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, destination / name)
    (destination / ".venv-student").symlink_to(course.ROOT / ".venv-student")
    return destination


def _run(clone, *args):
    """A command in the clone, its own graders package first on the path (not the one installed for this repo)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(clone),
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
    }
    return subprocess.run([sys.executable, *args], cwd=clone, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_scaffolded_lab_builds_grades_and_passes_the_lab_generic_tests(tmp_path):
    clone = _clone(tmp_path / "clone")
    made = _run(clone, "-m", "graders", "new-lab", "softmax")
    assert made.returncode == 0, made.stderr
    assert (clone / "graders" / "labs" / "softmax" / "checks.py").is_file()
    for lint in (["check"], ["format", "--check"]):  # as ./run test lints it
        linted = _run(clone, "-m", "ruff", *lint, "graders/labs/softmax")
        assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "release/softmax/softmax.ipynb" in (clone / "README.md").read_text()  # the student links

    built = _run(clone, "-m", "graders", "build")
    assert built.returncode == 0 and "softmax" in built.stdout, built.stderr
    assert (clone / "release" / "softmax" / "softmax.ipynb").is_file()

    staged = _run(
        clone,
        "-c",
        "from graders.samples.classroom import stage_samples; from graders import course; "
        "stage_samples(course.ROOT, ('softmax',))",
    )
    assert staged.returncode == 0, staged.stderr
    graded = _run(clone, "-m", "graders", "grade", "softmax")
    assert graded.returncode == 0, graded.stderr
    with open(clone / "build" / "grading" / "softmax" / "grades.csv", newline="") as handle:
        scores = {row["student"]: row["test_softmax"] for row in csv.DictReader(handle)}
    assert scores == {
        "reference-solution": "2.0",
        "correct-log-sum-exp": "2.0",
        "bug-overflows": "0.0",
        "bug-normalises-the-whole-array": "0.0",
        "unanswered": "0.0",
    }

    tested = _run(clone, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "softmax", *LAB_GENERIC)
    assert tested.returncode == 0, tested.stdout[-3000:]
    assert " passed" in tested.stdout and "failed" not in tested.stdout


@pytest.mark.parametrize("name, said", [("mlp", "exists already"), ("Bad-Name", "lower-case Python identifier")])
def test_new_lab_refuses_a_taken_or_unusable_name_and_writes_nothing(tmp_path, name, said):
    before = sorted(p.name for p in (course.ROOT / "graders" / "labs").iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "graders", "--course", str(tmp_path), "new-lab", name], capture_output=True, text=True
    )
    assert result.returncode == 1 and said in result.stderr
    assert sorted(p.name for p in (course.ROOT / "graders" / "labs").iterdir()) == before
    assert not (tmp_path / "source").exists()
