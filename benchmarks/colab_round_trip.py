"""The Colab round trip, measured: every sample of every lab through every transform in graders/samples/colab.py
(Colab's own saves, then what students do), graded by the grade command beside the untransformed notebooks, per-cell
scores and status compared, feedback written for all; and, as the baseline, what plain `nbgrader autograde` and
`nbgrader generate_feedback` do with the reference solution through each transform.

    python benchmarks/colab_round_trip.py [--samples N] [--transforms NAME ...] [lab ...]

--samples N takes the first N samples of each lab, --transforms only the transforms named (CI runs it small:
tests/test_benchmarks.py).
Exit status 1 when any cell was scored differently or any status changed where it must not.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from graders import course
from graders.samples import classroom
from graders.grading import report
from graders.grading import grade as grading, nbgrader_steps
from graders.samples.classroom import reference_sample, sample_class
from graders.samples.colab import COLAB_SAVES, FLAGGED, TRANSFORMS

UNTRANSFORMED = "as-submitted"


def stage(root, lab, samples, transforms):
    """Every sample as submitted and through each of `transforms` (names in TRANSFORMS)."""
    release = nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)
    for sample in samples:
        text = sample.notebook_text(release)
        course.submit(root, f"{sample.student}--{UNTRANSFORMED}", lab, text)
        for name in transforms:
            course.submit(root, f"{sample.student}--{name}", lab, TRANSFORMS[name](text))


def fresh_course(folder, lab):
    root = course.copy_course(Path(folder))
    course.build_releases(root, (lab,))
    return root


def round_trip(lab, samples, transforms):
    """{transform: (samples, cells compared, cells scored differently, statuses changed, feedback pages)},
    the seconds grading and writing feedback took, and the number of submissions."""
    with tempfile.TemporaryDirectory() as folder:
        root = fresh_course(folder, lab)
        stage(root, lab, samples, transforms)
        started = time.perf_counter()
        outcomes = grading.grade(lab, root)
        graded = time.perf_counter()
        nbgrader_steps.generate_feedback(root, lab)
        seconds = (graded - started, time.perf_counter() - graded)
        pages = {student for student in outcomes if (root / "feedback" / student / lab / f"{lab}.html").is_file()}
    rows = {}
    for name in transforms:
        compared = differing = changed = written = 0
        for sample in samples:
            student = f"{sample.student}--{name}"
            original, outcome = outcomes[f"{sample.student}--{UNTRANSFORMED}"], outcomes[student]
            compared += len(original.scores)
            differing += sum(outcome.scores.get(c) != score for c, score in original.scores.items())
            expected_status = grading.NEEDS_REVIEW if name in FLAGGED else original.status
            changed += outcome.status != expected_status
            written += student in pages
        rows[name] = (len(samples), compared, differing, changed, written)
    return rows, seconds, len(outcomes)


def plain_nbgrader(lab, transforms):
    """{transform or UNTRANSFORMED: (autograded points of the reference solution or None, feedback page written)}."""
    with tempfile.TemporaryDirectory() as folder:
        root = fresh_course(folder, lab)
        stage(root, lab, [reference_sample(lab)], transforms)
        failed = classroom.plain_autograde(root, (lab,))[lab]
        course.nbgrader("generate_feedback", lab, "--force", root=root, check=False)
        table = report.score_table(root, lab)
        result = {}
        for name in (UNTRANSFORMED, *transforms):
            student = f"reference-solution--{name}"
            points = (
                None
                if student in failed or student not in table
                else sum(v or 0 for c, v in table[student].items() if c.startswith("test_"))
            )
            result[name] = (points, (root / "feedback" / student / lab / f"{lab}.html").is_file())
    return result


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=None, help="the first N samples of each lab (default all)")
    parser.add_argument(
        "--transforms", nargs="+", choices=list(TRANSFORMS), default=list(TRANSFORMS), help="(default all)"
    )
    parser.add_argument("labs", nargs="*", default=list(course.LABS))
    args = parser.parse_args(argv)
    faults = 0
    for lab in args.labs:
        samples = [s for s in sample_class(lab) if s.damage is None][: args.samples]
        rows, (grading_seconds, feedback_seconds), count = round_trip(lab, samples, args.transforms)
        baseline = plain_nbgrader(lab, args.transforms)
        print(
            f"\n{lab}: {count} submissions, graded in {grading_seconds:.1f} s (grade command, sandbox), "
            f"feedback in {feedback_seconds:.1f} s"
        )
        print(
            f"  {'transform':<32} {'samples':>7} {'cells':>6} {'differ':>6} {'status':>6} {'feedback':>8}"
            f"   plain nbgrader, reference: points, feedback"
        )
        points, page = baseline[UNTRANSFORMED]
        print(f"  {UNTRANSFORMED:<32} {'':>7} {'':>6} {'':>6} {'':>6} {'':>8}   {points}, {'yes' if page else 'no'}")
        for name, (count_samples, compared, differing, changed, written) in rows.items():
            family = "colab" if name in COLAB_SAVES else "student"
            points, page = baseline[name]
            print(
                f"  {name:<32} {count_samples:>7} {compared:>6} {differing:>6} {changed:>6} "
                f"{written:>4}/{count_samples:<3}   {points if points is not None else 'not graded'}, "
                f"{'yes' if page else 'no'}   ({family})"
            )
            faults += differing + changed + (count_samples - written)
    print(f"\nfaults (cells scored differently, statuses changed, feedback missing): {faults}")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
