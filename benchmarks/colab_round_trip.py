"""The Colab round trip, measured: every sample of every lab through every transform in graders/samples/colab.py,
graded by the grade command beside the untransformed notebooks, per-cell scores compared; and what plain
`nbgrader autograde` gives the reference solution after Colab, with and without nbgrader's metadata.

    python benchmarks/colab_round_trip.py [lab ...]
"""
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from graders import course
from graders.grading import grade as grading
from graders.samples import reference_sample, sample_class
from graders.samples.colab import TRANSFORMS

VERSIONS = {"as-submitted": lambda text: text, **TRANSFORMS}


def stage(root, lab, versions, samples):
    release = nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)
    for sample in samples:
        text = sample.notebook_text(release)
        for name, transform in versions.items():
            folder = root / "submitted" / f"{sample.student}--{name}" / lab
            folder.mkdir(parents=True)
            (folder / f"{lab}.ipynb").write_text(transform(text), encoding="utf-8")


def fresh_course(folder, lab):
    root = course.copy_course(Path(folder))
    course.build_releases(root, (lab,))
    return root


def round_trip(lab):
    """{transform: (samples, cells compared, cells with another score, status counts)} and the seconds taken."""
    samples = [s for s in sample_class(lab) if s.damage is None]
    with tempfile.TemporaryDirectory() as folder:
        root = fresh_course(folder, lab)
        stage(root, lab, VERSIONS, samples)
        started = time.perf_counter()
        outcomes = grading.grade(lab, root)
        seconds = time.perf_counter() - started
    rows = {}
    for name in TRANSFORMS:
        compared = differing = 0
        statuses = {}
        for sample in samples:
            original, outcome = outcomes[f"{sample.student}--as-submitted"], outcomes[f"{sample.student}--{name}"]
            compared += len(original.scores)
            differing += sum(outcome.scores.get(c) != score for c, score in original.scores.items())
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
        rows[name] = (len(samples), compared, differing, statuses)
    return rows, seconds, len(outcomes)


def plain_nbgrader(lab):
    """Plain nbgrader's total for the reference solution: as submitted, Colab-saved, Colab-saved without metadata."""
    reference = [reference_sample(lab)]
    versions = {n: VERSIONS[n] for n in ("as-submitted", "colab_save", "strip_grading_metadata")}
    with tempfile.TemporaryDirectory() as folder:
        root = fresh_course(folder, lab)
        stage(root, lab, versions, reference)
        course.autograde(root, (lab,))
        table = course.score_table(root, lab)
    return {name: sum(v or 0 for c, v in table.get(f"reference-solution--{name}", {}).items() if c.startswith("test_"))
            for name in versions}


def main(labs):
    for lab in labs or course.LABS:
        rows, seconds, count = round_trip(lab)
        print(f"\n{lab}: {count} submissions graded in {seconds:.1f} s (grade command, sandbox)")
        print(f"  {'transform':<34} {'samples':>7} {'cells':>6} {'differ':>6}  statuses")
        for name, (samples, compared, differing, statuses) in rows.items():
            print(f"  {name:<34} {samples:>7} {compared:>6} {differing:>6}  {statuses}")
        totals = plain_nbgrader(lab)
        print("  plain nbgrader autograde, reference solution (autograded points): "
              + ", ".join(f"{name} {points:g}" for name, points in totals.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
