"""The grade command and `nbgrader export` with nbgrader's gradebook in SQLite in the course, in SQLite elsewhere and
in PostgreSQL, on the same submissions.

    python benchmarks/gradebooks.py [submissions=20] [workers=cores]

The submissions are the autograd sample class's notebooks, repeated to the count asked for; each gradebook gets a
fresh copy of the course (its db_url in nbgrader_config.py), PostgreSQL a server of its own on loopback
(graders/samples/postgres.py). Reports the grade command's wall time and seconds per submission side by side, the
three exports side by side, and exits 1 when any export row differs. CI runs it small (tests/test_benchmarks.py).
"""

import contextlib
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from graders import course
from graders.grading import grade as grading
from graders.samples.classroom import sample_class
from graders.samples.postgres import running_postgresql

LAB = "autograd"
GRADEBOOKS = ("SQLite in the course", "SQLite elsewhere", "PostgreSQL 15")


def make_course(folder, submissions, db_url=None):
    root = course.copy_course(Path(folder))
    if db_url:
        with open(root / "nbgrader_config.py", "a") as config:
            config.write(f"c.CourseDirectory.db_url = {db_url!r}\n")
    course.build_releases(root, (LAB,))
    release = nbformat.read(course.layout(root).release / LAB / f"{LAB}.ipynb", as_version=4)
    samples = [s for s in sample_class(LAB) if s.graded]
    for i in range(submissions):
        sample = samples[i % len(samples)]
        course.submit(root, f"s{i:03d}-{sample.student}", LAB, sample.notebook_text(release))
    return root


def graded(root, workers):
    """(seconds the grade command took, {student: (score, status)} from `nbgrader export`)."""
    started = time.perf_counter()
    grading.grade(LAB, root, workers=workers, scores_only=True)
    seconds = time.perf_counter() - started
    course.nbgrader("export", "--to", str(root / "export.csv"), root=root)
    with open(root / "export.csv", newline="") as handle:
        rows = {
            r["student_id"]: (r["score"] or "-", r["status"].split(" (")[0])  # the status without its advice
            for r in csv.DictReader(handle)
            if r["assignment"] == LAB
        }
    return seconds, rows


def main(submissions=20, workers=None):
    submissions, workers = int(submissions), int(workers) if workers else os.cpu_count()
    results = {}
    with contextlib.ExitStack() as stack:
        folders = [Path(stack.enter_context(tempfile.TemporaryDirectory())) for _ in GRADEBOOKS]
        urls = [None, f"sqlite:///{folders[1] / 'gradebook.db'}", stack.enter_context(running_postgresql())]
        for name, folder, url in zip(GRADEBOOKS, folders, urls):
            results[name] = graded(make_course(folder / "course", submissions, url), workers)
    print(f"{submissions} submissions of {LAB}, {workers} workers, --scores-only")
    print(f"  {'gradebook':<22} {'wall s':>8} {'s/submission':>13}")
    for name, (seconds, _) in results.items():
        print(f"  {name:<22} {seconds:>8.1f} {seconds / submissions:>13.2f}")
    first = results[GRADEBOOKS[0]][0]
    print("  " + ", ".join(f"{name} / {GRADEBOOKS[0]}: {results[name][0] / first:.2f}" for name in GRADEBOOKS[1:]))
    exports = [rows for _, rows in results.values()]
    print("\nnbgrader export (score, status) per gradebook:")
    print(f"  {'student':<44} " + " ".join(f"{name:>22}" for name in GRADEBOOKS))
    for student in sorted(exports[0]):
        print(f"  {student:<44} " + " ".join(f"{', '.join(rows.get(student, ('-', '-'))):>22}" for rows in exports))
    differing = sorted(s for s in exports[0] if any(rows.get(s) != exports[0][s] for rows in exports[1:]))
    print(f"export rows that differ: {len(differing)}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
