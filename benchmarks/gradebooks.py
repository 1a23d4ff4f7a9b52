"""The grade command with nbgrader's gradebook in SQLite (in the course) and in PostgreSQL, on the same submissions.

    python benchmarks/gradebooks.py [submissions=20] [workers=cores]

The submissions are the autograd sample class's notebooks, repeated to the count asked for; each gradebook gets a
fresh copy of the course, PostgreSQL a server of its own on loopback (graders/samples/postgres.py). Reports wall time
and seconds per submission side by side, and checks both runs gave every student the same scores (exit status 1
otherwise). CI runs it at 4 submissions (tests/test_benchmarks.py).
"""

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


def timed_grade(root, workers):
    started = time.perf_counter()
    outcomes = grading.grade(LAB, root, workers=workers, scores_only=True)
    return time.perf_counter() - started, {student: outcome.scores for student, outcome in outcomes.items()}


def main(submissions=20, workers=None):
    submissions, workers = int(submissions), int(workers) if workers else os.cpu_count()
    with (
        tempfile.TemporaryDirectory() as sqlite_dir,
        tempfile.TemporaryDirectory() as pg_dir,
        running_postgresql() as url,
    ):
        sqlite_seconds, sqlite_scores = timed_grade(make_course(sqlite_dir, submissions), workers)
        pg_seconds, pg_scores = timed_grade(make_course(pg_dir, submissions, url), workers)
    print(f"{submissions} submissions of {LAB}, {workers} workers, --scores-only")
    print(f"  {'gradebook':<22} {'wall s':>8} {'s/submission':>13}")
    for name, seconds in (("SQLite, in the course", sqlite_seconds), ("PostgreSQL 15, loopback", pg_seconds)):
        print(f"  {name:<22} {seconds:>8.1f} {seconds / submissions:>13.2f}")
    print(f"  PostgreSQL / SQLite: {pg_seconds / sqlite_seconds:.2f}")
    differing = sorted(s for s in sqlite_scores if sqlite_scores[s] != pg_scores.get(s))
    print(f"submissions scored differently: {len(differing)}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
