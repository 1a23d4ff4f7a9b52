"""The instructor pipeline around nbgrader: build releases, stage the sample class, autograde, report."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LABS = ("backprop", "autograd", "mlp")
# Where students open the notebooks from (the README's Colab links): set these to your own copy of the repository,
# then run `python -m graders links`.
REPOSITORY = "https://github.com/backprop-from-scratch/course"
BRANCH = "main"
LINKS_START, LINKS_END = "<!-- student links: python -m graders links -->", "<!-- end of student links -->"


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


def nbgrader(*args, root=ROOT, check=True):
    """Run an nbgrader command in a course folder, with this interpreter's scripts (alembic) on PATH. With check,
    a failure raises CourseError with nbgrader's own message and the fix, where one is known."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True,
                            text=True)
    if check and result.returncode:
        raise failure(f"nbgrader {' '.join(args)}", nbgrader_said(result.stdout + result.stderr),
                      args[1] if len(args) > 1 else "")
    return result


COURSE_FILES = ("nbgrader_config.py", "data", "source", "release")


def copy_course(destination, with_release=True, origin=ROOT):
    """The instructor's course folder (`origin`) without any grading state, as a fresh clone has it."""
    for name in COURSE_FILES:
        if name == "release" and not with_release:
            continue
        src = Path(origin) / name
        if src.is_dir():
            shutil.copytree(src, destination / name, symlinks=True)
        else:
            shutil.copy(src, destination / name)
    return destination


def same_release(release_dir, other_release_dir, lab):
    """Whether two release folders hold the same notebook of `lab`, byte for byte (generate_assignment is
    deterministic: a release made from the same source is the same file)."""
    name = Path(lab) / f"{lab}.ipynb"
    return (Path(release_dir) / name).read_bytes() == (Path(other_release_dir) / name).read_bytes()


def build_releases(root=ROOT, labs=LABS):
    """nbgrader generate_assignment for every lab: source/<lab>/ → release/<lab>/."""
    for lab in labs:
        nbgrader("generate_assignment", lab, "--force", root=root)


def submit(root, student, lab, text, name=None):
    """Hand in `text` (a notebook's JSON) as `student`'s work for `lab`: submitted/<student>/<lab>/<name>."""
    path = Path(root) / "submitted" / student / lab / (name or f"{lab}.ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def stage_samples(root=ROOT, labs=LABS, share=(0, 1)):
    """Write every sample student's notebook into submitted/<student>/<lab>/ (replacing what was there); with
    share=(k, n), only every n-th sample of each lab from the k-th on."""
    from graders.samples import sample_class

    first, step = share
    for lab in labs:
        release = nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)
        for sample in sample_class(lab)[first::step]:
            shutil.rmtree(root / "submitted" / sample.student / lab, ignore_errors=True)
            notebook = submit(root, sample.student, lab, sample.notebook_text(release))
            for extra in (root / "release" / lab).iterdir():  # the lab's data files, as handed out
                if extra.suffix != ".ipynb":
                    shutil.copy(extra, notebook.parent / extra.name)


FAILED_STUDENT = re.compile(r"error processing assignment '[^']+' for student '([^']+)'")


def autograde(root=ROOT, labs=LABS):
    """nbgrader autograde for every lab; returns {lab: students nbgrader could not grade}.

    nbgrader exits non-zero when any one notebook fails (not JSON, kernel died) but grades the rest,
    so the exit status alone says nothing about the class: the failed students are read from its log.
    """
    failed = {}
    for lab in labs:
        result = nbgrader("autograde", lab, "--force", root=root, check=False)
        failed[lab] = sorted(set(FAILED_STUDENT.findall(result.stdout + result.stderr)))
        if result.returncode and not failed[lab]:
            raise RuntimeError(f"nbgrader autograde {lab} failed:\n{result.stdout}{result.stderr}")
    return failed


def score_table(root=ROOT, lab="backprop"):
    """{student: {grade_id: score or None}} for every graded cell, read through nbgrader's Gradebook API."""
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(lab):
            for notebook in submission.notebooks:
                table[submission.student_id] = {
                    grade.name: (grade.score if (grade.auto_score is not None or grade.manual_score is not None)
                                 else None)
                    for grade in notebook.grades if grade.max_score  # a mark-scheme task carries no points
                }
    return table


def format_table(table, max_scores, rejected=()):
    """A fixed-width text table: one row per student, one column per graded cell (named in full), '—' for not
    graded yet; a rejected student's row says so instead of scores."""
    cells = list(max_scores)
    names = [c.removeprefix("test_") for c in cells]
    widths = [max(len(n), 4) for n in names]
    width = max([len(s) for s in (*table, *rejected)] + [len("student")])

    def row(label, values, total):
        return f"{label:<{width}}  " + " ".join(f"{v:>{w}}" for v, w in zip(values, widths)) + f"  {total:>8}"

    lines = [row("student", names, "auto"),
             row("(max)", [f"{max_scores[c]:g}" for c in cells],
                 f"{sum(p for c, p in max_scores.items() if c.startswith('test_')):g}")]
    for student in sorted({*table, *rejected}):
        if student in rejected:
            lines.append(f"{student:<{width}}  (rejected: nothing graded, see below)")
            continue
        scores = table[student]
        lines.append(row(student, ["—" if scores.get(c) is None else f"{scores[c]:g}" for c in cells],
                         f"{sum(scores.get(c) or 0 for c in cells if c.startswith('test_')):g}"))
    return "\n".join(lines)


def max_scores(root=ROOT, lab="backprop"):
    """{grade_id: points} of the lab's graded cells, in notebook order, from the source notebook."""
    notebook = nbformat.read(root / "source" / lab / f"{lab}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")}


def colab_url(lab):
    """Colab opens a notebook straight from GitHub at this address (a copy for the student; nothing is shared)."""
    return f"https://colab.research.google.com/github/{REPOSITORY.removeprefix('https://github.com/')}" \
           f"/blob/{BRANCH}/release/{lab}/{lab}.ipynb"


def student_links():
    """The README's table of release notebooks: an Open in Colab badge and a download link per lab."""
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    rows = [f"| {lab} | [![Open In Colab]({badge})]({colab_url(lab)}) | "
            f"[{lab}.ipynb]({REPOSITORY}/raw/{BRANCH}/release/{lab}/{lab}.ipynb) |" for lab in LABS]
    return "\n".join([LINKS_START, "| lab | open in Colab | or download |", "|---|---|---|", *rows, LINKS_END])


def write_student_links(readme=ROOT / "README.md"):
    """Replace the README's student-links block with the current one."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(LINKS_START), text.index(LINKS_END) + len(LINKS_END)
    readme.write_text(text[:start] + student_links() + text[end:], encoding="utf-8")
