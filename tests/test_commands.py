"""The instructor's commands say what went wrong and leave the course as it was: build's refusals in nbgrader's
words with the fix, a lab missing from the gradebook added without touching release/, the demo in a scratch copy."""

import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook

from graders import __main__ as cli, course
from graders.grading import report
from graders.grading import executor, grade as grading
from graders.samples.classroom import reference_sample, sample_class


def _run(root, *args):
    return subprocess.run(
        [sys.executable, "-m", "graders", "--course", str(root), *args], capture_output=True, text=True, cwd=root
    )


def _add_locked_cell(root, lab):
    path = root / "source" / lab / f"{lab}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell("EXTRA = 1")
    cell.metadata["nbgrader"] = {
        "grade": False,
        "grade_id": "extra",
        "locked": True,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    notebook.cells.insert(3, cell)
    nbformat.write(notebook, path)


@pytest.mark.slow
def test_build_refused_by_nbgrader_says_why_and_the_fix_in_one_message(fresh_course):
    root = fresh_course("build-refused")
    with Gradebook(course.layout(root).db_url) as gradebook:
        gradebook.add_student("alice")
        gradebook.add_submission("mlp", "alice")
    _add_locked_cell(root, "mlp")
    release = sorted((p.name, p.read_bytes()) for p in (root / "release" / "mlp").iterdir())
    result = _run(root, "build")
    assert sorted((p.name, p.read_bytes()) for p in (root / "release" / "mlp").iterdir()) == release  # as it was
    assert result.returncode == 1
    assert "Cannot add or remove cells for notebook 'mlp' because there are submissions" in result.stderr
    assert "fix:" in result.stderr and "nbgrader db assignment remove mlp --force" in result.stderr
    assert "Traceback" not in result.stderr and "CalledProcessError" not in result.stderr


@pytest.mark.slow
def test_feedback_before_grading_says_to_grade_first(fresh_course):
    result = _run(fresh_course("feedback-first"), "feedback", "mlp")
    assert result.returncode == 1 and "fix: nothing of the lab is graded yet: ./run grade mlp first" in result.stderr
    assert "Traceback" not in result.stderr


def _gradebook_with_only(root, lab):
    (root / "gradebook.db").unlink()
    course.nbgrader(
        "generate_assignment", lab, "--force", f"--CourseDirectory.release_directory={root / 'scratch'}", root=root
    )


@pytest.mark.slow
@pytest.mark.sandbox
def test_grade_adds_a_lab_the_gradebook_lacks_and_leaves_release_alone(fresh_course):
    root = fresh_course("lab-missing")
    _gradebook_with_only(root, "backprop")
    release = root / "release" / "mlp" / "mlp.ipynb"
    before = release.stat().st_mtime_ns, release.read_bytes()
    course.submit(root, "alice", "mlp", reference_sample("mlp").notebook_text(nbformat.read(release, as_version=4)))
    outcomes = grading.grade("mlp", root, workers=1)
    assert outcomes["alice"].status == grading.GRADED
    assert sum(v or 0 for v in outcomes["alice"].scores.values()) == sum(
        p for c, p in report.max_scores(root, "mlp").items() if c.startswith("test_")
    )
    assert (release.stat().st_mtime_ns, release.read_bytes()) == before


@pytest.mark.slow
def test_grade_of_a_lab_whose_source_no_longer_makes_its_release_says_to_build(fresh_course):
    root = fresh_course("lab-stale")
    _gradebook_with_only(root, "backprop")
    _add_locked_cell(root, "mlp")
    (root / "submitted" / "alice" / "mlp").mkdir(parents=True)
    result = _run(root, "grade", "mlp", "--no-sandbox")
    assert result.returncode == 1 and "release/mlp is not what source/mlp makes: run ./run build" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_demo_works_in_a_scratch_copy_and_leaves_the_courses_grading_state_alone(fresh_course, monkeypatch, capsys):
    root = fresh_course("demo")
    state = {
        root / "submitted" / "real-student" / "backprop" / "backprop.ipynb": "{}",
        root / "autograded" / "real-student" / "backprop" / "backprop.ipynb": "{}",
    }
    for path, text in state.items():
        path.parent.mkdir(parents=True)
        path.write_text(text)
    gradebook = (root / "gradebook.db").read_bytes()
    graded = []
    monkeypatch.setattr(grading, "grade", lambda lab, where: graded.append((lab, where)) or {})
    monkeypatch.setattr(
        course,
        "build_releases",  # what generate_assignment makes, here a copy (tested elsewhere)
        lambda where: shutil.copytree(course.ROOT / "release", where / "release"),
    )
    assert cli.main(["--course", str(root), "demo"]) is None
    scratch = root / "build" / "demo"
    assert graded == [(lab, scratch) for lab in course.LABS]
    assert {p.name for p in (scratch / "submitted").iterdir()} >= {s.student for s in sample_class("backprop")}
    assert all(path.read_text() == text for path, text in state.items())
    assert sorted(p.name for p in (root / "submitted").iterdir()) == ["real-student"]
    assert (root / "gradebook.db").read_bytes() == gradebook
    assert "release/ is what source/ makes" in capsys.readouterr().out


def test_the_report_names_every_cell_in_full_and_lists_the_rejected():
    max_scores = {"test_forward_propagation": 2, "test_backward_propagation": 3, "conclusion": 2}
    table = report.format_table(
        {"ada": {"test_forward_propagation": 2, "test_backward_propagation": 1}}, max_scores, rejected={"bob"}
    )
    header, _, ada, bob = table.splitlines()
    assert header.split() == ["student", "forward_propagation", "backward_propagation", "conclusion", "auto"]
    assert ada.split() == ["ada", "2", "1", "—", "3"]
    assert bob.startswith("bob") and "rejected" in bob


@pytest.mark.parametrize(
    "output, said",
    [
        (
            "[ERROR] x\nTraceback...\nRuntimeError: the reason\n[App | ERROR] There was an error processing",
            "RuntimeError: the reason",
        ),
        ("", "(no output)"),
    ],
)
def test_nbgrader_said_picks_its_reason(output, said):
    assert course.nbgrader_said(output) == said


class _Marked:
    def __init__(self, *marks):
        self.marks = marks

    def get_closest_marker(self, name):
        return name if name in self.marks else None


@pytest.mark.parametrize("ci, outcome", [("", pytest.skip.Exception), ("1", pytest.fail.Exception)])
def test_a_missing_tool_skips_with_its_install_hint_except_in_ci(monkeypatch, ci, outcome):
    import conftest
    from graders.samples import postgres

    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(executor, "bwrap_path", lambda: None)
    monkeypatch.setattr(postgres, "server_binaries", lambda: None)
    for marker, package in (("sandbox", "bubblewrap"), ("postgres", "postgresql")):
        with pytest.raises(outcome, match=f"apt-get install {package}"):
            conftest.pytest_runtest_setup(_Marked(marker))
    conftest.pytest_runtest_setup(_Marked("slow"))  # needs no tool: runs


TIME, SECRET = "2026-11-29 23:28:44.401347 UTC", "ab" * 64


@pytest.mark.parametrize(
    "files, staged",
    [
        ({"timestamp.txt": TIME, "submission_secret.txt": SECRET}, True),
        ({"timestamp.txt": TIME}, True),  # the time alone, as nbgrader zip_collect writes it (./run collect)
        ({"timestamp.txt": "2026-11-29 23:28:44"}, True),  # zip_collect's own format
        ({"submission_secret.txt": SECRET}, False),  # a secret without a time
        ({"timestamp.txt": "Friday", "submission_secret.txt": SECRET}, False),  # a date that depends on the day
        ({"timestamp.txt": "2025-01-01 00:00:00 /etc/shadow", "submission_secret.txt": SECRET}, False),
        ({"timestamp.txt": TIME, "submission_secret.txt": "0123456789abcdef"}, False),  # not nbgrader's 128 hex
        ({"timestamp.txt": "2024-13-45 10:00:00 UTC", "submission_secret.txt": SECRET}, False),  # no such day
    ],
)
def test_exchange_files_reach_nbgrader_only_as_nbgrader_collect_writes_them(tmp_path, files, staged):
    folder, staging = tmp_path / "submitted", tmp_path / "staged"
    for path in (folder, staging):
        path.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    notes = grading._stage_exchange_files(folder, staging)
    assert sorted(p.name for p in staging.iterdir()) == (sorted(files) if staged else [])
    assert (notes == []) == staged


@pytest.mark.slow
def test_build_of_one_lab_rebuilds_it_alone_and_an_unknown_lab_is_refused(fresh_course):
    root = fresh_course("build-one")
    others = {lab: (root / "release" / lab / f"{lab}.ipynb").stat().st_mtime_ns for lab in course.LABS if lab != "mlp"}
    built = _run(root, "build", "mlp")
    assert built.returncode == 0 and "for mlp in" in built.stdout, built.stderr
    assert {lab: (root / "release" / lab / f"{lab}.ipynb").stat().st_mtime_ns for lab in others} == others
    refused = _run(root, "build", "mlp", "no-such-lab")
    assert refused.returncode == 2 and "no lab no-such-lab" in refused.stderr


def test_reading_a_notebook_does_not_build_the_iri_parsers():
    """jsonschema 4.24+ imports rfc3987_syntax, which builds its parsers at import: 1.1 s added to every command.
    requirements.txt pins the jsonschema before it; nbformat and JupyterLab's event schemas need no IRI format."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, nbformat, jupyter_events.validators; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'jsonschema'" in loaded and "'rfc3987_syntax'" not in loaded and "'lark'" not in loaded


def test_the_readme_gives_the_grade_commands_cell_timeout_and_leaves_nbgraders_own_to_its_configuration(capsys):
    with pytest.raises(SystemExit):
        cli.main(["grade", "--help"])
    default = re.search(r"seconds per cell \(default (\d+)\)", " ".join(capsys.readouterr().out.split())).group(1)
    readme = (course.ROOT / "README.md").read_text(encoding="utf-8")
    assert (
        f"per-cell timeout of nbgrader's own runs (validate; the grade command has `--cell-timeout`, {default} s)"
        in (readme)
    )
    assert re.search(r"^c\.Execute\.timeout = \d+$", (course.ROOT / "nbgrader_config.py").read_text(), re.M)


def test_the_readme_names_every_system_package_setup_installs_and_the_installer():
    run = (course.ROOT / "run").read_text()
    readme = (course.ROOT / "README.md").read_text(encoding="utf-8")
    setup = " ".join(readme[readme.index("## Set up: two commands") : readme.index("## For instructors")].split())
    packages = re.findall(r"missing\+=\(([\w-]+)\)", run)
    assert set(packages) == {"bubblewrap", "chromium", "chromium-driver", "postgresql"}
    assert all(package in setup for package in packages)
    pinned = re.search(r"^uv==", (course.ROOT / "requirements.txt").read_text(), re.M)
    assert pinned and '"$VENV/bin/uv" pip install' in run and "uv, pinned there too, installs them" in setup
