"""Command line of the course kit: python -m graders {build,demo,figures}."""
import argparse
import sys
import time

import nbformat

from graders import course


def build(_args):
    started = time.perf_counter()
    course.build_releases()
    print(f"release/ rebuilt from source/ for {', '.join(course.LABS)} in {time.perf_counter() - started:.1f} s")


def demo(_args):
    timings = {}
    for step, action in (("generate_assignment", course.build_releases), ("stage samples", course.stage_samples),
                         ("autograde", course.autograde)):
        started = time.perf_counter()
        outcome = action()
        timings[step] = time.perf_counter() - started
    for lab in course.LABS:
        print(f"\n== {lab}: scores per graded cell (— = not graded: manual cell, or nbgrader could not grade) ==")
        print(course.format_table(course.score_table(lab=lab), course.max_scores(lab=lab)))
        if outcome[lab]:
            print(f"nbgrader could not grade: {', '.join(outcome[lab])} (see its log: not JSON, or the kernel died)")
    print("\n" + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()))


def figures(_args):
    from graders.figures import embed_graph

    path = course.ROOT / "source" / "backprop" / "backprop.ipynb"
    nbformat.write(embed_graph(nbformat.read(path, as_version=4)), path)
    print(f"graph figure embedded in {path.relative_to(course.ROOT)}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m graders", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="regenerate release/ from source/ (nbgrader generate_assignment)").set_defaults(run=build)
    commands.add_parser("demo", help="build, stage the sample class in submitted/, autograde, print the grade table"
                        ).set_defaults(run=demo)
    commands.add_parser("figures", help="re-embed the computational-graph figure in the source notebook"
                        ).set_defaults(run=figures)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
