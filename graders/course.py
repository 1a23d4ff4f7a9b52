"""The course folder around nbgrader: where nbgrader's configuration puts its parts, its labs built from source/
into release/, work handed in to submitted/."""

import contextlib
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from graders.labs import LABS

ROOT = Path(__file__).resolve().parent.parent
# Where students open the notebooks from (the README's Colab links): set these to your own copy of the repository,
# then run `python -m graders links`.
REPOSITORY = "https://github.com/backprop-from-scratch/course"
BRANCH = "main"
LINKS_START, LINKS_END = "<!-- student links: python -m graders links -->", "<!-- end of student links -->"


FOLDERS = ("source", "release", "submitted", "autograded", "feedback")


def nbgrader_config(folder=ROOT):
    """The course's nbgrader configuration, layered as nbgrader's own commands layer it when started in `folder`:
    nbgrader_config.py from the Jupyter config paths (system first, the user's ~/.jupyter last), then the folder's
    own on top. CourseDirectory.root is the folder, unless the configuration puts the course elsewhere."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config, PyFileConfigLoader

    folder = Path(folder).resolve()
    config = Config()
    for path in [*reversed(jupyter_config_path()), str(folder)]:
        if (Path(path) / "nbgrader_config.py").is_file():
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=path).load_config())
    config.CourseDirectory.root = str(folder / config.CourseDirectory.get("root", "."))  # relative: to the folder
    return config


@dataclass(frozen=True)
class Layout:
    """Where nbgrader's configuration puts the course: its root, the gradebook's URL, the course id, and the
    folders of FOLDERS (source/, release/, ... unless configured otherwise)."""

    root: Path
    db_url: str
    course_id: str
    source: Path
    release: Path
    submitted: Path
    autograded: Path
    feedback: Path


def layout(folder=ROOT):
    """The Layout of the course whose nbgrader_config.py is in `folder`, read through nbgrader's CourseDirectory (the
    one place that knows where the gradebook and the folders are: no command names them itself)."""
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=nbgrader_config(folder))
    root = Path(coursedir.root)
    folders = {name: root / getattr(coursedir, f"{name}_directory") for name in FOLDERS}
    return Layout(root=root, db_url=coursedir.db_url, course_id=coursedir.course_id, **folders)


class CourseError(Exception):
    """A course command that cannot go on: what nbgrader (or the course) said, and the fix."""


# What nbgrader says when it refuses, and what the instructor can do about it.
FIXES = {
    "Cannot add or remove cells": "the lab already has graded submissions in the gradebook, so nbgrader keeps its "
    "cells fixed: undo the added or removed cell in source/ (editing a cell's text is fine), or, to start the lab's "
    "grading over, remove its submissions (nbgrader db assignment remove {lab} --force) and grade again",
    "No notebooks were matched": "nothing of the lab is graded yet: ./run grade {lab} first",
}


def failure(what, said, lab=""):
    """CourseError: what failed, what nbgrader said (one line), and the fix where one is known."""
    fix = next((fix for known, fix in FIXES.items() if known in said), None)
    return CourseError(f"{what}: {said}" + (f"\nfix: {fix.format(lab=lab)}" if fix else ""))


def nbgrader_said(output):
    """The line of nbgrader's output that says what went wrong (its last error or traceback line)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("Error:", "[ERROR]", "error"):
        found = [line for line in lines if marker in line]
        if found:
            return found[-1]
    return lines[-1] if lines else "(no output)"


def scripts_on_path():
    """Put this interpreter's scripts first on PATH: nbgrader calls alembic (a new gradebook) and jupyter by name."""
    scripts = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != scripts:
        os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])


def nbgrader(*args, root=ROOT, check=True):
    """Run an nbgrader command in a course folder, with this interpreter's scripts (alembic) on PATH. With check,
    a failure raises CourseError with nbgrader's own message and the fix, where one is known."""
    scripts_on_path()
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, capture_output=True, text=True)
    if check and result.returncode:
        raise failure(
            f"nbgrader {' '.join(args)}", nbgrader_said(result.stdout + result.stderr), args[1] if len(args) > 1 else ""
        )
    return result


@contextlib.contextmanager
def quiet_gradebook():
    """nbgrader 0.9.6's gradebook code trips SQLAlchemy 2's autoflush warnings (SAWarning "... not in session, add
    operation ... will not proceed") on every autograde; they are about nbgrader's session handling, not the course."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.")
        yield


def generate_assignment(root, lab, release_directory=None):
    """nbgrader generate_assignment of one lab, in this process (nbgrader's import, seconds, is paid once, not per
    lab): source/<lab>/ → release/<lab>/, or into `release_directory`, the lab recorded in the gradebook. A refusal
    raises CourseError with nbgrader's reason and the fix."""
    from nbgrader.apps import NbGraderAPI

    scripts_on_path()
    config = nbgrader_config(root)
    if release_directory:
        config.CourseDirectory.release_directory = str(release_directory)
    with quiet_gradebook():
        result = NbGraderAPI(config=config).generate_assignment(lab, force=True, create=True)
    if not result["success"]:
        said = nbgrader_said(f"{result.get('log', '')}\n{result.get('error', '')}")
        raise failure(f"nbgrader generate_assignment {lab}", said, lab)


def copy_course(destination, with_release=True, origin=ROOT):
    """The instructor's course folder (`origin`) without any grading state, as a fresh clone has it: its
    nbgrader_config.py, data/, source/ and (with_release) release/."""
    where, destination = layout(origin), Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(origin) / "nbgrader_config.py", destination / "nbgrader_config.py")
    for folder in (Path(origin) / "data", where.source, *([where.release] if with_release else [])):
        shutil.copytree(folder, destination / folder.relative_to(where.root), symlinks=True)
    return destination


def grade_id(cell):
    """The nbgrader grade_id of a cell (a dict, as read from the .ipynb JSON), or None."""
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def same_release(release_dir, other_release_dir, lab):
    """Whether two release folders hold the same notebook of `lab`, byte for byte (generate_assignment is
    deterministic: a release made from the same source is the same file)."""
    name = Path(lab) / f"{lab}.ipynb"
    return (Path(release_dir) / name).read_bytes() == (Path(other_release_dir) / name).read_bytes()


def build_releases(root=ROOT, labs=LABS):
    """nbgrader generate_assignment for every lab: source/<lab>/ → release/<lab>/. Each release is written aside first
    (generate_assignment --force empties its folder before it may refuse): a lab nbgrader refuses keeps its release."""
    where = layout(root)
    aside = where.root / "build" / "releasing"
    for lab in labs:
        shutil.rmtree(aside, ignore_errors=True)
        generate_assignment(root, lab, release_directory=aside)
        shutil.rmtree(where.release / lab, ignore_errors=True)
        where.release.mkdir(parents=True, exist_ok=True)
        shutil.move(aside / lab, where.release / lab)


def submit(root, student, lab, text, name=None):
    """Hand in `text` (a notebook's JSON) as `student`'s work for `lab`: submitted/<student>/<lab>/<name>."""
    path = layout(root).submitted / student / lab / (name or f"{lab}.ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def students_in(folder, lab):
    """The students with a folder for the lab in `folder` (submitted/, a staging folder, autograded/)."""
    return sorted(p.parent.name for p in Path(folder).glob(f"*/{lab}") if p.is_dir()) if Path(folder).is_dir() else []


def without_output(students, folder, lab, extension):
    """The students nbgrader wrote no folder/<student>/<lab>/<lab><extension> for: it removes a failed student's
    output and goes on with the others. (Never the names in its log: a student id may hold quotes or newlines.)"""
    return [s for s in students if not (Path(folder) / s / lab / f"{lab}{extension}").is_file()]


def colab_url(lab):
    """Colab opens a notebook straight from GitHub at this address (a copy for the student; nothing is shared)."""
    return (
        f"https://colab.research.google.com/github/{REPOSITORY.removeprefix('https://github.com/')}"
        f"/blob/{BRANCH}/release/{lab}/{lab}.ipynb"
    )


def student_links(lab_names=LABS):
    """The README's table of release notebooks: an Open in Colab badge and a download link per lab."""
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    rows = [
        f"| {lab} | [![Open In Colab]({badge})]({colab_url(lab)}) | "
        f"[{lab}.ipynb]({REPOSITORY}/raw/{BRANCH}/release/{lab}/{lab}.ipynb) |"
        for lab in lab_names
    ]
    return "\n".join([LINKS_START, "| lab | open in Colab | or download |", "|---|---|---|", *rows, LINKS_END])


def write_student_links(readme=ROOT / "README.md", lab_names=LABS):
    """Replace the README's student-links block with the current one."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(LINKS_START), text.index(LINKS_END) + len(LINKS_END)
    readme.write_text(text[:start] + student_links(lab_names) + text[end:], encoding="utf-8")
