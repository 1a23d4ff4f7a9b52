"""The sample class of each lab (its samples.py), handed in to a course folder and graded by plain nbgrader."""

import shutil

import nbformat
from nbgrader import utils

from graders import course, labs
from graders.labs import LABS


def sample_class(lab):
    return labs.part(lab, "samples").SAMPLES


def reference_sample(lab):
    """The sample holding the source notebook's own solutions: the release, filled in."""
    return next(s for s in sample_class(lab) if s.student == "reference-solution")


def by_kind(samples):
    """{kind: its samples, in order}: the kind is what a sample's name starts with (reference, correct, bug, ...)."""
    kinds = {}
    for sample in samples:
        kinds.setdefault(sample.student.split("-")[0], []).append(sample)
    return kinds


def stage_samples(root, lab_names=LABS, share=(0, 1), scores_only=False):
    """Write every sample student's notebook into submitted/<student>/<lab>/ (replacing what was there); with
    share=(k, n), only every n-th sample of each lab from the k-th on. With scores_only, every sample but the
    reference is handed in without the code cells after its last test cell (the plots: no score depends on them)."""
    first, step = share
    for lab in lab_names:
        where = course.layout(root)
        release = nbformat.read(where.release / lab / f"{lab}.ipynb", as_version=4)
        short = without_tail(release) if scores_only else release
        reference = reference_sample(lab)
        for sample in sample_class(lab)[first::step]:
            shutil.rmtree(where.submitted / sample.student / lab, ignore_errors=True)
            handed_out = release if sample is reference else short
            notebook = course.submit(root, sample.student, lab, sample.notebook_text(handed_out))
            for extra in (where.release / lab).iterdir():  # the lab's data files, as handed out
                if extra.suffix != ".ipynb":
                    shutil.copy(extra, notebook.parent / extra.name)


def without_tail(notebook):
    """A copy of `notebook` without the code cells after its last test cell, as the grade command's --scores-only
    runs it; the markdown after them (a written answer) stays."""
    last_test = max(i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and utils.is_grade(c))
    short = nbformat.from_dict(notebook)
    short.cells = short.cells[: last_test + 1] + [c for c in short.cells[last_test + 1 :] if c.cell_type != "code"]
    return short


def plain_autograde(root, lab_names=LABS):
    """nbgrader autograde for every lab; returns {lab: students nbgrader could not grade}.

    nbgrader exits non-zero when any one notebook fails (not JSON, kernel died) but grades the rest,
    so the exit status alone says nothing about the class: the failed students are those it wrote no graded copy for.
    """
    failed = {}
    for lab in lab_names:
        result = course.nbgrader("autograde", lab, "--force", root=root, check=False)
        where = course.layout(root)
        failed[lab] = course.without_output(course.students_in(where.submitted, lab), where.autograded, lab, ".ipynb")
        if result.returncode and not failed[lab]:
            raise RuntimeError(f"nbgrader autograde {lab} failed:\n{result.stdout}{result.stderr}")
    return failed
