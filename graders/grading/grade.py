"""`python -m graders grade <lab>`: pre-flight, sandboxed parallel execution, nbgrader scoring, a report.

Every submission in submitted/<student>/<lab>/ ends with a status:
  graded        scores stand (repairs, if any, are listed as notes);
  needs review  scores are recorded, but a person should look: the run stopped early, locked test cells
                were edited or deleted, student code tampered with numpy/builtins/graders, called sys.exit,
                or matched the published values only;
  rejected      nothing could be graded (the reason says why); never silently a 0.
"""
import csv
import json
import os
import queue
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from graders import course
from graders.checking import HARD_CODED, NOT_OWN
from graders.grading import executor, nbgrader_steps, preflight

GRADED, NEEDS_REVIEW, REJECTED = "graded", "needs review", "rejected"


@dataclass
class Outcome:
    student: str
    status: str = GRADED
    reasons: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)


def _grading(cell):
    return cell.metadata.get("nbgrader", {})


def source_code(source):
    """{grade_id: code} of the source notebook's graded and locked cells (hidden tests included)."""
    return {_grading(c)["grade_id"]: c.source for c in source.cells if _grading(c).get("grade_id")}


def execution_plan(canonical, locked_code):
    """(cell id, code) to run: locked cells as in the source (`locked_code`, from source_code), the student's
    answers and own cells as written; nothing after the last graded code cell, which cannot change a score."""
    code = [c for c in canonical.cells if c.cell_type == "code"]
    last = max(i for i, c in enumerate(code) if _grading(c).get("grade"))
    plan = []
    for cell in code[:last + 1]:
        meta = _grading(cell)
        locked = meta.get("locked") and not meta.get("solution")
        plan.append((cell.id, locked_code[meta["grade_id"]] if locked else cell.source))
    return plan


def _not_run(problem):
    return [{"output_type": "error", "ename": "NotRun", "evalue": f"not run: {problem}", "traceback": []}]


def submitted_notebook(folder, lab):
    """<lab>.ipynb, else the one notebook there under another name (Colab downloads 'Copy of <lab>.ipynb')."""
    if (folder / f"{lab}.ipynb").is_file():
        return folder / f"{lab}.ipynb"
    notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if len(notebooks) != 1:
        found = ", ".join(f"'{p.name}'" for p in notebooks) or "none"
        raise preflight.Rejected(f"no {lab}.ipynb in the submission, nor a single other notebook (found: {found})")
    return notebooks[0]


def grade(lab, root=course.ROOT, workers=None, sandbox=True, notebook_timeout=60.0, cell_timeout=30.0):
    """Grade every submission of a lab; returns {student: Outcome} and writes the CSV export."""
    root = Path(root)
    if sandbox:
        executor.require_sandbox()
    build = root / "build" / "grading" / lab
    staging, outputs_dir = build / "submitted", build / "outputs"
    for folder in (staging, outputs_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    if not (root / "gradebook.db").exists():
        course.build_releases(root, (lab,))  # records the lab's grade cells in a new gradebook
    release = nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)
    locked_code = source_code(nbformat.read(root / "source" / lab / f"{lab}.ipynb", as_version=4))

    outcomes, plans = {}, {}
    for folder in sorted((root / "submitted").glob(f"*/{lab}")):
        student = folder.parent.name
        outcome = outcomes[student] = Outcome(student)
        try:
            path = submitted_notebook(folder, lab)
            checked = preflight.canonicalize(path.read_text(encoding="utf-8", errors="replace"), release)
        except preflight.Rejected as exc:
            outcome.status, outcome.reasons = REJECTED, [str(exc)]
            continue
        if path.name != f"{lab}.ipynb":
            outcome.notes.append(f"graded '{path.name}', the only notebook in the submission")
        outcome.notes += checked.repairs
        outcome.reasons += checked.concerns
        (staging / student / lab).mkdir(parents=True)
        nbformat.write(checked.notebook, staging / student / lab / f"{lab}.ipynb")
        plans[student] = execution_plan(checked.notebook, locked_code)

    files = {p.name: p for p in (root / "release" / lab).iterdir() if p.suffix != ".ipynb"}
    pool = queue.Queue()

    def run(student):
        worker = pool.get()
        try:
            return student, worker.run(plans[student], notebook_timeout, cell_timeout)
        finally:
            pool.put(worker)

    count = max(1, min(workers or os.cpu_count() or 1, len(plans)))
    with ThreadPoolExecutor(count) as threads:
        for worker in threads.map(lambda n: executor.Worker(files, root / "build", sandbox, name=str(n)),
                                  range(count)):
            pool.put(worker)
        try:
            results = dict(threads.map(run, plans))
        finally:
            while not pool.empty():
                pool.get().close()

    for student, result in results.items():
        recorded = dict(result.outputs)
        for cell_id, _ in plans[student]:
            recorded.setdefault(cell_id, _not_run(result.problem))
        (outputs_dir / f"{student}.json").write_text(json.dumps(recorded))
        _judge(outcomes[student], result, recorded)

    if plans:
        nbgrader_steps.autograde_replayed(root, lab, staging, outputs_dir)
    _forget_rejected(root, lab, [s for s, o in outcomes.items() if o.status == REJECTED])
    scores = course.score_table(root, lab)
    for student, outcome in outcomes.items():
        outcome.scores = scores.get(student, {}) if outcome.status != REJECTED else {}
    write_csv(build / "grades.csv", outcomes, course.max_scores(root, lab))
    return outcomes


def _judge(outcome, result, recorded):
    if result.problem:
        outcome.reasons.append(result.problem)
    outcome.reasons += [f"tampering undone {item}" for item in result.tampering]
    for cell_id, outputs in recorded.items():
        for output in outputs:
            if output.get("output_type") != "error":
                continue
            if output.get("ename") == "SystemExit":
                outcome.reasons.append(f"cell {cell_id} called sys.exit()")
            if HARD_CODED in output.get("evalue", ""):
                outcome.reasons.append(f"cell {cell_id}: right at the published values only (hard-coded?)")
            if NOT_OWN in output.get("evalue", ""):
                outcome.reasons.append(f"cell {cell_id}: the graded function was not written in the notebook")
    if outcome.reasons:
        outcome.status = NEEDS_REVIEW


def _forget_rejected(root, lab, students):
    """A rejected resubmission must not keep an earlier run's scores in the gradebook (and the export)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in students:
            try:
                gradebook.remove_submission(lab, student)
            except MissingEntry:
                pass


def write_csv(path, outcomes, max_scores):
    """One row per student: status, total, each cell's score; blank means not graded, never 0."""
    cells = list(max_scores)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "status", "total", "max", *cells, "reasons"])
        for student in sorted(outcomes):
            outcome = outcomes[student]
            scores = [outcome.scores.get(c) for c in cells]
            total = "" if outcome.status == REJECTED else sum(s or 0 for s in scores)
            writer.writerow([student, outcome.status, total, sum(max_scores.values()),
                             *["" if s is None else s for s in scores], "; ".join(outcome.reasons)])


def report(outcomes, max_scores):
    """The text report: the score table, then each student's status and reasons."""
    table = course.format_table({s: o.scores for s, o in outcomes.items() if o.status != REJECTED}, max_scores)
    lines = [table, ""]
    for student in sorted(outcomes):
        outcome = outcomes[student]
        lines.append(f"{student}: {outcome.status}")
        lines += [f"    - {reason}" for reason in outcome.reasons]
        lines += [f"    note: {note}" for note in outcome.notes]
    return "\n".join(lines)
