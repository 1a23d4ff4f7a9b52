"""Plain `nbgrader autograde` against `python -m graders grade`, on the same submissions, in one run.

    python benchmarks/grading.py [submissions=40] [workers=cores]

The submissions are the backprop sample class's gradable notebooks (right, buggy, cheating, unanswered),
repeated to the count asked for. Each tool grades its own fresh copy of the course; the script reports wall
time, seconds per submission (amortized) and the ratio, checks that both gave every cell the same score, and
splits the grade command's time per submission: the clean room (opening and ending it), running the cells, and
the checks (their wall time, and the grader's own CPU in them: judging outside the student's process). The grade
command runs once more with --scores-only (the cells after the last graded one, the plots for the hand-grader, left
out): the difference is what showing the hand-grader the student's plots costs. Then the feedback of the graded class
is written twice, by the course's FeedbackExporter and by nbconvert's own HTMLExporter (what nbgrader uses), timed
side by side; the pages must be the same once read as nbconvert reads them.
Exit status 1 when any cell was scored differently. CI runs it small (tests/test_benchmarks.py).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter

from graders import course
from graders.samples import classroom
from graders.grading import report
from graders.grading import grade as grading, nbgrader_steps
from graders.samples.classroom import sample_class

LAB = "backprop"


def make_course(folder, submissions):
    root = course.copy_course(Path(folder))
    course.build_releases(root, (LAB,))
    release = nbformat.read(root / "release" / LAB / f"{LAB}.ipynb", as_version=4)
    samples = [s for s in sample_class(LAB) if s.graded]
    for i in range(submissions):
        sample = samples[i % len(samples)]
        course.submit(root, f"s{i:03d}-{sample.student}", LAB, sample.notebook_text(release))
    return root


def main(submissions=40, workers=None):
    submissions, workers = int(submissions), int(workers) if workers else os.cpu_count()
    with (
        tempfile.TemporaryDirectory() as plain_dir,
        tempfile.TemporaryDirectory() as ours_dir,
        tempfile.TemporaryDirectory() as short_dir,
    ):
        plain_root, ours_root = make_course(plain_dir, submissions), make_course(ours_dir, submissions)
        short_root = make_course(short_dir, submissions)

        started = time.perf_counter()
        failed = classroom.plain_autograde(plain_root, (LAB,))[LAB]
        plain_seconds = time.perf_counter() - started

        started = time.perf_counter()
        outcomes = grading.grade(LAB, ours_root, workers=workers)
        ours_seconds = time.perf_counter() - started

        started = time.perf_counter()
        short = grading.grade(LAB, short_root, workers=workers, scores_only=True)
        short_seconds = time.perf_counter() - started

        feedback = {}
        for exporter in (nbgrader_steps.FeedbackExporter, HTMLExporter):
            started = time.perf_counter()
            nbgrader_steps.generate_feedback(ours_root, LAB, exporter)
            pages = {p.relative_to(ours_root): p.read_text() for p in (ours_root / "feedback").rglob("*.html")}
            feedback[exporter] = (time.perf_counter() - started, pages)
        (ours_feedback, ours_pages), (nbconvert_feedback, nbconvert_pages) = feedback.values()
        pages_differing = sorted(
            str(p)
            for p in nbconvert_pages
            if str(BeautifulSoup(ours_pages.get(p, ""), "html.parser")) != nbconvert_pages[p]
        )

        plain_scores = report.score_table(plain_root, LAB)
        differing = sorted(
            s for s, o in outcomes.items() if o.scores != plain_scores.get(s) or short[s].scores != o.scores
        )
    statuses = {
        status: sum(o.status == status for o in outcomes.values())
        for status in (grading.GRADED, grading.NEEDS_REVIEW, grading.REJECTED)
    }
    parts = {}
    for outcome in outcomes.values():
        for part, seconds in outcome.seconds.items():
            parts[part] = parts.get(part, 0.0) + seconds
    print(f"{submissions} {LAB} submissions on {os.cpu_count()} cores")
    print(
        f"  plain nbgrader autograde        {plain_seconds:7.1f} s   {plain_seconds / submissions:6.3f} s/submission"
        f"   ({len(failed)} it could not grade)"
    )
    print(
        f"  graders grade ({workers} workers, sandbox) {ours_seconds:7.1f} s   {ours_seconds / submissions:6.3f} "
        f"s/submission   {statuses}"
    )
    print(f"  ratio                           {plain_seconds / ours_seconds:7.1f}x faster")
    print(
        f"  graders grade --scores-only     {short_seconds:7.1f} s   {short_seconds / submissions:6.3f} s/submission"
        f"   (running the cells after the last check, for the plots, costs "
        f"{(ours_seconds - short_seconds) / submissions:.3f} s/submission)"
    )
    print("  grade command, per submission (summed over workers, not wall time of the batch):")
    for part, seconds in parts.items():
        print(f"    {part:<22} {seconds / submissions:6.3f} s")
    print(
        f"  feedback, FeedbackExporter       {ours_feedback:7.1f} s   {ours_feedback / submissions:6.3f} s/page"
        f"   (nbconvert's HTMLExporter {nbconvert_feedback:.1f} s, {nbconvert_feedback / ours_feedback:.1f}x as long)"
    )
    print(f"  submissions scored differently: {len(differing)} {differing[:5]}")
    print(f"  feedback pages that differ: {len(pages_differing)} of {len(nbconvert_pages)} {pages_differing[:5]}")
    return 1 if differing or pages_differing or not nbconvert_pages else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
