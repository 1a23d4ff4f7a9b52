"""Command line of the course kit: python -m graders {build,demo,collect,grade,feedback,embed,new-lab,links}."""

import argparse
import shutil
import sys
import time

from pathlib import Path

import nbformat

from graders import course, labs
from graders.grading.text import shown


def build(args):
    started = time.perf_counter()
    lab_names = args.labs or course.LABS
    unknown = sorted(set(lab_names) - set(course.LABS))
    if unknown:
        print(f"error: no lab {', '.join(unknown)} (the labs: {', '.join(course.LABS)})", file=sys.stderr)
        return 2
    course.build_releases(args.course, lab_names)
    print(f"release/ rebuilt from source/ for {', '.join(lab_names)} in {time.perf_counter() - started:.1f} s")


def demo(args):
    """The main job, on a scratch copy of the course (build/demo/), so the course's own submitted/, gradebook.db and
    autograded/ stay as they are: releases from source/, the sample class staged, graded safely, the report."""
    from graders.samples import classroom
    from graders.grading import grade as grading, report

    root = args.course / "build" / "demo"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    course.copy_course(root, with_release=False, origin=args.course)
    timings = {}
    for step, action in (("generate_assignment", course.build_releases), ("stage samples", classroom.stage_samples)):
        started = time.perf_counter()
        action(root)
        timings[step] = time.perf_counter() - started
    releases = (course.layout(root).release, course.layout(args.course).release)
    stale = [lab for lab in course.LABS if not course.same_release(*releases, lab)]
    for lab in course.LABS:
        started = time.perf_counter()
        outcomes = grading.grade(lab, root)
        timings[f"grade {lab}"] = time.perf_counter() - started
        print(f"\n== {lab}: scores per graded cell (— = not graded yet: a hand-graded cell) ==")
        print(report.summary(outcomes, report.max_scores(root, lab)))
    print("\n" + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()))
    print(
        f"The demo ran in a scratch copy of the course, {root.relative_to(args.course)}/ (its submitted/, "
        "autograded/, gradebook.db and build/grading/<lab>/grades.csv); the course's own are untouched."
    )
    print(
        f"release/ is stale for {', '.join(stale)}: run ./run build"
        if stale
        else "release/ is what source/ makes (checked against the scratch build)."
    )


def grade(args):
    from graders.grading import executor, grade as grading, report

    started = time.perf_counter()
    try:
        outcomes = grading.grade(
            args.lab,
            args.course,
            workers=args.workers,
            sandbox=not args.no_sandbox,
            notebook_timeout=args.notebook_timeout,
            cell_timeout=args.cell_timeout,
            scores_only=args.scores_only,
        )
    except executor.SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(report.summary(outcomes, report.max_scores(args.course, args.lab)))
    counts = {
        status: sum(o.status == status for o in outcomes.values())
        for status in (grading.GRADED, grading.NEEDS_REVIEW, grading.REJECTED)
    }
    print(
        f"\n{len(outcomes)} submissions in {elapsed:.1f} s: "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f"\nper-cell CSV (blank = not graded): build/grading/{args.lab}/grades.csv"
    )
    if args.feedback:
        feedback(args)
    return 0


def collect(args):
    """An LMS download or a folder of <student>/<notebook> into submitted/, with what went where and why."""
    from graders.grading import intake

    outcome = intake.collect(args.lab, args.download, args.course, args.scheme, args.roster, args.times, args.replace)
    print(intake.report(outcome, args.lab, args.download))
    print(f"every decision: {intake.downloaded(args.course, args.lab) / 'collected.csv'}; next: ./run grade {args.lab}")
    return 0


def feedback(args):
    """Redacted feedback from the gradebook as it stands: hand grades and comments in, nothing regraded."""
    from graders.grading import nbgrader_steps
    from graders.grading.text import shown

    failed = nbgrader_steps.generate_feedback(args.course, args.lab)
    print(
        f"feedback (hidden tests redacted, cells not graded yet marked so, student markup cleaned): "
        f"feedback/<student>/{args.lab}/{args.lab}.html"
        + (f"; nbgrader could not write it for {', '.join(map(shown, failed))}" if failed else "")
    )
    return 0


def embed(args):
    from graders.visible import embed_messages

    for lab in course.LABS:
        path = course.layout(args.course).source / lab / f"{lab}.ipynb"
        notebook = embed_messages(nbformat.read(path, as_version=4), lab)
        lab_embeds = getattr(labs.part(lab), "embed", None)  # a lab's own figures and data files, where it has them
        nbformat.write(lab_embeds(notebook) if lab_embeds else notebook, path)
    print("the visible checks' messages and each lab's own embedded files written into source/; now ./run build")


def new_lab(args):
    """Scaffold a working one-function lab (docs/adding-a-lab.md), then list the files and the next steps."""
    from graders.new_lab import new_lab as scaffold

    try:
        written = scaffold(args.name, args.course)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    readme = args.course / "README.md"
    if readme.exists() and course.LINKS_START in readme.read_text(encoding="utf-8"):
        course.write_student_links(readme, (*course.LABS, args.name))
        written.append(readme)
    print(
        f"lab {args.name} written:\n"
        + "\n".join(f"  {path}" for path in written)
        + "\nnext: ./run build, then ./run test (it checks the new lab like the others); make it yours as "
        "docs/adding-a-lab.md says"
    )
    return 0


def links(_args):
    course.write_student_links()
    print(f"README.md: Colab and download links for {course.REPOSITORY} ({course.BRANCH})")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m graders", description=__doc__)
    parser.add_argument(
        "--course",
        type=lambda folder: Path(folder).resolve(),
        default=course.ROOT,
        help="the course folder build, grade and feedback work in (default: this repository)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    building = commands.add_parser("build", help="regenerate release/ from source/ (nbgrader generate_assignment)")
    building.add_argument(
        "labs", nargs="*", metavar="LAB", help=f"only these of {', '.join(course.LABS)} (default: all)"
    )
    building.set_defaults(run=build)
    commands.add_parser(
        "demo", help="in a scratch copy (build/demo/): build, stage the sample class, grade it safely, print the report"
    ).set_defaults(run=demo)
    collecting = commands.add_parser(
        "collect",
        help="an LMS bulk download (Canvas, Moodle, Blackboard zip) or a folder of <student>/<notebook> into "
        "submitted/<student>/<lab>/, through nbgrader zip_collect",
    )
    collecting.add_argument("lab", choices=course.LABS)
    collecting.add_argument("download", type=Path, help="the zip the LMS gave, or a folder")
    collecting.add_argument(
        "--scheme",
        choices=["canvas", "moodle", "blackboard", "folders"],
        help="how the LMS names files (default: nbgrader_config.py's c.LmsCollector, else the one that fits)",
    )
    collecting.add_argument("--roster", help="CSV: student_id, and lms_id and/or name (default: c.LmsCollector.roster)")
    collecting.add_argument(
        "--times",
        help="CSV of submission times the LMS exports (Moodle's grading worksheet, or lms_id/name + submitted_at)",
    )
    collecting.add_argument(
        "--replace", action="store_true", help="replace a student's earlier submission (default: keep it, and say so)"
    )
    collecting.set_defaults(run=collect)
    grading = commands.add_parser("grade", help="grade submitted/ safely: pre-flight, sandbox, parallel, report")
    grading.add_argument("lab", choices=course.LABS)
    grading.add_argument("--workers", type=int, default=None, help="parallel sandboxes (default: one per core)")
    grading.add_argument(
        "--no-sandbox", action="store_true", help="run student code without bubblewrap (trusted submissions only)"
    )
    grading.add_argument("--notebook-timeout", type=float, default=60.0, help="seconds per notebook (default 60)")
    grading.add_argument("--cell-timeout", type=float, default=30.0, help="seconds per cell (default 30)")
    grading.add_argument("--feedback", action="store_true", help="also write redacted feedback with nbgrader")
    grading.add_argument(
        "--scores-only",
        action="store_true",
        help="skip the cells after the last graded one (the plots the hand-grader reads; no score "
        "depends on them): faster, for a lab without hand-graded answers or a quick regrade",
    )
    grading.set_defaults(run=grade)
    feedback_command = commands.add_parser(
        "feedback",
        help="(re)write redacted feedback/ for a lab from the gradebook (hand grades included; nothing is regraded)",
    )
    feedback_command.add_argument("lab", choices=course.LABS)
    feedback_command.set_defaults(run=feedback)
    commands.add_parser(
        "embed",
        help="re-embed the visible checks' messages, the graph figure and data/data.pkl in the source notebooks",
    ).set_defaults(run=embed)
    scaffold = commands.add_parser(
        "new-lab",
        help="write a working one-function lab to start a new one from: "
        "graders/labs/NAME/ and source/NAME/NAME.ipynb (docs/adding-a-lab.md)",
    )
    scaffold.add_argument("name", help="the lab's name: a lower-case Python identifier")
    scaffold.set_defaults(run=new_lab)
    commands.add_parser(
        "links", help="rewrite the README's Colab links from course.REPOSITORY and course.BRANCH"
    ).set_defaults(run=links)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except course.CourseError as exc:  # it may quote a student's file or folder name: shown, never sent raw
        print("error: " + "\n".join(map(shown, str(exc).splitlines())), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
