"""Plain `nbgrader autograde` against `python -m graders grade`, on the same submissions, in one run.

    python benchmarks/grading.py [submissions=100] [workers=cores]

The submissions are the backprop sample class's gradable notebooks (right, buggy, cheating, unanswered),
repeated to the count asked for. Each tool grades its own fresh copy of the course; the script reports wall
time, seconds per submission (amortized) and the ratio, and checks that both gave every cell the same score.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from graders import course
from graders.grading import grade as grading
from graders.samples import sample_class


def make_course(folder, submissions):
    root = course.copy_course(Path(folder))
    course.build_releases(root)
    release = nbformat.read(root / "release" / "backprop" / "backprop.ipynb", as_version=4)
    samples = [s for s in sample_class("backprop") if s.graded]
    for i in range(submissions):
        sample = samples[i % len(samples)]
        target = root / "submitted" / f"s{i:03d}-{sample.student}" / "backprop"
        target.mkdir(parents=True)
        (target / "backprop.ipynb").write_text(sample.notebook_text(release))
    return root


def main(submissions=100, workers=None):
    submissions, workers = int(submissions), int(workers) if workers else os.cpu_count()
    with tempfile.TemporaryDirectory() as plain_dir, tempfile.TemporaryDirectory() as ours_dir:
        plain_root, ours_root = make_course(plain_dir, submissions), make_course(ours_dir, submissions)

        started = time.perf_counter()
        failed = course.autograde(plain_root)["backprop"]
        plain_seconds = time.perf_counter() - started

        started = time.perf_counter()
        outcomes = grading.grade("backprop", ours_root, workers=workers)
        ours_seconds = time.perf_counter() - started

        plain_scores = course.score_table(plain_root)
        differing = sorted(s for s, o in outcomes.items() if o.scores != plain_scores.get(s))
    statuses = {status: sum(o.status == status for o in outcomes.values())
                for status in (grading.GRADED, grading.NEEDS_REVIEW, grading.REJECTED)}
    print(f"{submissions} backprop submissions on {os.cpu_count()} cores")
    print(f"  plain nbgrader autograde      {plain_seconds:7.1f} s   {plain_seconds / submissions:6.3f} s/submission"
          f"   ({len(failed)} it could not grade)")
    print(f"  graders grade ({workers} workers, sandbox) {ours_seconds:7.1f} s   {ours_seconds / submissions:6.3f} "
          f"s/submission   {statuses}")
    print(f"  ratio                         {plain_seconds / ours_seconds:7.1f}x faster")
    print(f"  submissions scored differently: {len(differing)} {differing[:5]}")


if __name__ == "__main__":
    main(*sys.argv[1:])
