"""`python -m graders grade <lab>`: pre-flight, sandboxed execution, judging outside, nbgrader scoring, a report.

Every submission in submitted/<student>/<lab>/ ends with a status:
  graded        scores stand (repairs, if any, are listed as notes);
  needs review  scores are recorded, but a person should look: the run stopped early, a locked test cell was
                edited or deleted, the notebook called sys.exit, matched the published values only, graded a
                function it did not write, or the grader could not finish a check;
  rejected      nothing could be graded (the reason says why); never silently a 0.

Each step is guarded for its student alone: nothing one submission does stops the batch or touches another's.
"""

import csv
import hashlib
import json
import os
import queue
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from graders import course, judging, labs
from graders.grading import executor, intake, isolation, nbgrader_steps, preflight
from graders.grading.report import (
    GRADED,
    NEEDS_REVIEW,
    REJECTED,
    auto_scores,
    late_text,
    lateness,
    max_scores,
    score_table,
)
from graders.grading.secret import course_secret
from graders.grading.text import CONTROL, shown, spreadsheet_safe

PREFLIGHT_SECONDS = 30.0
MAX_FILES = 200  # entries in one submission folder
GLOB = re.compile(r"[*?\[\]]")
# The files nbgrader collect leaves beside a notebook, as nbgrader 0.9.6 writes them (zip_collect: the time alone,
# without " UTC").
EXCHANGE_FILES = {
    "timestamp.txt": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?( UTC)?"),
    "submission_secret.txt": re.compile(r"[0-9a-f]{128}"),
}
# An answer that stops at what Colab has and the grading environment does not: a module, a shell command.
MISSING_HERE = re.compile(
    r"No module named [^\n]{0,200}|shell commands \([^\n]{0,300}?\) are not available while grading"
)


@dataclass
class Outcome:
    student: str
    status: str = GRADED
    reasons: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)  # where its grading time went (benchmarks/grading.py sums them)
    late: str = ""  # report.late_text: '' when on time or not known


def _grading(cell):
    return cell.metadata.get("nbgrader", {})


def source_code(source):
    """{grade_id: code} of the source notebook's graded and locked cells (hidden tests included)."""
    return {_grading(c)["grade_id"]: c.source for c in source.cells if _grading(c).get("grade_id")}


def execution_plan(canonical, locked_code, graded, tail=True):
    """[kind, cell id, payload] in order: ["cell", id, code] to run (locked cells as in the source, answers and the
    student's own cells as written), ["check", id, name] where a test cell's check is judged outside. Every code
    cell runs, those after the last check too (unless `tail` is false): they cannot change a score, but their plots
    and outputs are what the hand-grader reads."""
    code = [c for c in canonical.cells if c.cell_type == "code"]
    if not tail:
        code = code[: max(i for i, c in enumerate(code) if _grading(c).get("grade")) + 1]
    plan = []
    for cell in code:
        meta = _grading(cell)
        if meta.get("grade") and not meta.get("solution"):
            name = meta["grade_id"].removeprefix("test_")
            plan.append(["check", cell.id, name if name in graded else None])
        elif meta.get("locked") and not meta.get("solution"):
            plan.append(["cell", cell.id, locked_code[meta["grade_id"]]])
        else:
            plan.append(["cell", cell.id, cell.source])
    return plan


def _not_run(problem):
    return [{"output_type": "error", "ename": "NotRun", "evalue": f"not run: {problem}", "traceback": []}]


def _symlink_inside(folder):
    """The first symbolic link in a submission folder (at most MAX_FILES entries are looked at), or None."""
    seen = 0
    for directory, subfolders, files in os.walk(folder):
        for name in subfolders + files:
            seen += 1
            if os.path.islink(os.path.join(directory, name)):
                return os.path.relpath(os.path.join(directory, name), folder)
            if seen > MAX_FILES:
                raise preflight.Rejected(f"the submission folder holds more than {MAX_FILES} files")
    return None


def _notebooks(folder):
    """The notebooks a person handed in, in `folder`, or else one folder deeper: not the junk operating systems and
    tools leave (macOS's ._ twins and __MACOSX/, .ipynb_checkpoints/, any hidden file or folder)."""

    def handed_in(path):
        return path.is_file() and not path.name.startswith(".")

    found = sorted(p for p in folder.glob("*.ipynb") if handed_in(p))
    if not found:
        found = sorted(
            p
            for p in folder.glob("*/*.ipynb")
            if handed_in(p) and not p.parent.name.startswith(".") and p.parent.name != "__MACOSX"
        )
    return found


def submitted_notebook(folder, lab, release):
    """(the notebook to grade, notes, concerns). The one notebook handed in, whatever its name (Colab downloads
    'Copy of <lab>.ipynb'); of several, the one with the most answers written (cells that differ from the release's
    stubs), then <lab>.ipynb, then the first by name, and a person is asked to look. A folder that is, or holds, a
    symbolic link is rejected: it could point at another student's work."""
    for path in (folder.parent, folder):
        if path.is_symlink():
            raise preflight.Rejected(f"'{path.name}' is a symbolic link; submit the folder and notebook themselves")
    link = _symlink_inside(folder)
    if link:
        raise preflight.Rejected(f"the submission holds a symbolic link ('{link}'); submit the notebook itself")
    notebooks = _notebooks(folder)
    if not notebooks:
        raise preflight.Rejected(f"no notebook in the submission (a {lab}.ipynb was expected)")
    names = {path: str(path.relative_to(folder)) for path in notebooks}
    if len(notebooks) == 1:
        path = notebooks[0]
        renamed = names[path] != f"{lab}.ipynb"
        return path, [f"graded '{names[path]}', the only notebook in the submission"] if renamed else [], []
    written = {path: _answers_written(path, release) for path in notebooks}
    path = min(notebooks, key=lambda p: (-written[p], names[p] != f"{lab}.ipynb", names[p]))
    listed = ", ".join(f"'{names[p]}' ({written[p]} answer(s) written)" for p in notebooks)
    concern = (
        f"{len(notebooks)} notebooks in the submission: {listed}; graded '{names[path]}' (the most answers written): "
        "check it is the one the student meant"
    )
    return path, [], [concern]


def _answers_written(path, release):
    """How many answer cells of the notebook differ from the release's (0 for a file that cannot be read)."""
    try:
        return _written(preflight.canonicalize(preflight.read_file(path), release).notebook, release)
    except preflight.Rejected:
        return 0


def _written(notebook, release):
    """How many answer cells of a canonical notebook differ from the release's stubs."""
    stubs = {_grading(c)["grade_id"]: c.source for c in release.cells if _grading(c).get("solution")}
    return sum(c.source != stubs.get(_grading(c).get("grade_id"), c.source) for c in notebook.cells)


def _prepare(folder, lab, release, locked_code, graded, staged, tail):
    """In a child process (graders/grading/isolation.py): read, repair, stage one submission; plain data back."""
    try:
        path, notes, concerns = submitted_notebook(folder, lab, release)
        checked = preflight.canonicalize(preflight.read_file(path), release)
        staged.parent.mkdir(parents=True)
        nbformat.write(checked.notebook, staged)
    except preflight.Rejected as exc:
        return {"rejected": str(exc)}
    notes += _stage_exchange_files(folder, staged.parent)
    if not _written(checked.notebook, release):
        notes.append("no answer written: the notebook as handed out, which scores 0 (was another file meant?)")
    return {
        "notes": notes + checked.repairs,
        "concerns": concerns + checked.concerns,
        "plan": execution_plan(checked.notebook, locked_code, graded, tail),
    }


def _real_time(text):
    """Whether nbgrader can read the submission time (2024-13-45 has the right shape and stops its autograde)."""
    from nbgrader.utils import parse_utc

    try:
        parse_utc(text)
    except (ValueError, OverflowError):
        return False
    return True


def _stage_exchange_files(folder, staged):
    """What `nbgrader collect` (or `zip_collect`, the time alone) puts beside the notebook goes to nbgrader with it:
    the submission time (timestamp.txt), which the gradebook, the late flag and the export keep, and the secret
    (submission_secret.txt) by which `nbgrader release_feedback` names the feedback the student fetches. Each must
    be exactly what nbgrader writes, and the secret comes with a time; otherwise both are left out, with a note (a
    student can edit them in their inbound folder)."""
    texts = {}
    for name in EXCHANGE_FILES:
        path = folder / name
        if path.is_file():
            with open(path, "rb") as handle:
                texts[name] = handle.read(300).decode("utf-8", errors="replace").strip()
    if not texts:
        return []
    if (
        "timestamp.txt" in texts
        and all(EXCHANGE_FILES[n].fullmatch(t) for n, t in texts.items())
        and (_real_time(texts["timestamp.txt"]))
    ):
        for name, text in texts.items():
            (staged / name).write_text(text)
        return []
    return [
        f"{' and '.join(sorted(texts))} not as nbgrader collect writes them: left out (no submission time; "
        "feedback goes out as a file)"
    ]


def _students(root, lab):
    """(student, folder) for every submission of the lab; hidden folders are ignored, as nbgrader does."""
    submitted = course.layout(root).submitted
    if not submitted.is_dir():
        return []
    return [
        (entry.name, entry / lab)
        for entry in sorted(submitted.iterdir(), key=lambda e: e.name)
        if not entry.name.startswith(".") and (entry / lab).exists() or (entry / lab).is_symlink()
    ]


class Judge:
    """Runs one submission's plan on a worker: cells in the sandbox, checks here."""

    def __init__(self, lab, checks, secret, notebook_timeout, cell_timeout):
        self.lab, self.checks, self.secret = lab, checks, secret
        self.notebook_timeout, self.cell_timeout = notebook_timeout, cell_timeout

    def check(self, session, student, name):
        """(outputs of the test cell, a reason for review or None): the check judged here, on the sandbox's values.
        `student` names the submission: the student and a digest of what they submitted."""
        if name is None:
            return _not_run("no check is known for this test cell"), "a test cell without a known check"
        rng = judging.check_rng(self.secret, self.lab, student, name)
        try:
            result = getattr(self.checks, name)(session, rng)
        except judging.Fail as failure:
            message = str(failure)
            lines = message.splitlines() or [""]
            return (
                [
                    {
                        "output_type": "error",
                        "ename": "AssertionError",
                        "evalue": message,
                        "traceback": ["AssertionError: " + lines[0], *lines[1:]],
                    }
                ],
                judging.FLAG_REASONS.get(failure.flag) and f"{name}: {judging.FLAG_REASONS[failure.flag]}",
            )
        except judging.ProtocolError as exc:
            return _not_run(
                f"malformed results ({exc})"
            ), f"{name}: the notebook's process sent malformed results ({exc})"
        except executor.SessionEnded:
            raise
        except Exception as exc:  # our own failure on this check: the cell scores 0 and a person looks
            return (
                _not_run(f"the grader failed ({type(exc).__name__})"),
                f"the grader failed while checking {name} ({type(exc).__name__}: {exc})",
            )
        if isinstance(result, judging.Partial):  # nbgrader scores a test cell whose result is a number as its points
            return [
                {"output_type": "stream", "name": "stdout", "text": result.report(name) + "\n"},
                {
                    "output_type": "execute_result",
                    "execution_count": None,
                    "metadata": {},
                    "data": {"text/plain": f"{result.points:g}"},
                },
            ], None
        return [{"output_type": "stream", "name": "stdout", "text": f"✓ {name}: every hidden check passed\n"}], None

    def run(self, worker, student, plan):
        """{cell id: outputs} for the cells that ran, the reasons for review, notes, and where the time went: the
        clean room (opening and ending it), the cells, the checks (wall) and the grader's own CPU in them. A run
        that stops after the last check (a plot cell, say) cannot have changed a score: that is a note."""
        recorded, reasons, notes, session = {}, [], [], None
        checks_left = sum(kind == "check" for kind, _, _ in plan)
        seconds = dict.fromkeys(("clean room", "cells", "checks", "checks, grader CPU"), 0.0)
        # Hidden inputs per student and per submitted file: a regrade sees the same ones, a changed file others, so
        # what feedback shows about one submission's inputs is no use to the next.
        submission = f"{student}\0{hashlib.sha256(json.dumps(plan).encode()).hexdigest()}"

        def timed(key, action, *args):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return action(*args)
            finally:
                seconds[key] += time.perf_counter() - wall
                if key == "checks":
                    seconds["checks, grader CPU"] += time.thread_time() - cpu

        try:
            session = timed("clean room", worker.open, self.notebook_timeout, self.cell_timeout)
            for kind, cell_id, payload in plan:
                if kind == "cell":
                    recorded[cell_id] = timed("cells", session.run_cell, cell_id, payload)
                else:
                    session.checking(cell_id)
                    recorded[cell_id], reason = timed("checks", self.check, session, submission, payload)
                    reasons += [reason] if reason else []
                    checks_left -= 1
            timed("clean room", session.finish)
        except executor.SessionEnded as exc:
            (reasons if checks_left else notes).append(
                str(exc) if checks_left else f"after the last graded cell, {exc} (no score depends on it)"
            )
        except Exception as exc:  # the grader's own failure on what this submission sent: what ran so far stands
            worker.restart()
            reasons.append(
                f"the grader failed in {getattr(session, 'where', 'the clean room')} "
                f"({type(exc).__name__}: {exc}); the cells after it did not run"
            )
        if session is not None and session.hooks:
            reasons.append(
                f"a {' and a '.join(sorted(session.hooks))} hook (sys.settrace / sys.setprofile) was active "
                "while the notebook's functions were checked"
            )
        return recorded, reasons, notes, seconds


def _run_all(lab, root, plans, judge, workers, sandbox):
    """Every plan on `workers` sandboxes in parallel; {student: (recorded, reasons)}, one student's failure its own."""
    files = {p.name: p for p in (course.layout(root).release / lab).iterdir() if p.suffix != ".ipynb"}
    pool, count = queue.Queue(), max(1, min(workers or os.cpu_count() or 1, len(plans)))

    def run(student):
        worker = pool.get()
        try:
            return student, judge.run(worker, student, plans[student])
        except Exception as exc:  # our own failure on this submission: it is reviewed, the batch goes on
            worker.restart()
            return student, ({}, [f"the grader failed on this submission ({type(exc).__name__}: {exc})"], [], {})
        finally:
            pool.put(worker)

    with ThreadPoolExecutor(count) as threads:
        for worker in threads.map(
            lambda n: executor.Worker(lab, files, root / "build", sandbox, name=str(n)), range(count)
        ):
            pool.put(worker)
        try:
            return dict(threads.map(run, plans))
        finally:
            while not pool.empty():
                pool.get().close()


def grade(
    lab, root=course.ROOT, workers=None, sandbox=True, notebook_timeout=60.0, cell_timeout=30.0, scores_only=False
):
    """Grade every submission of a lab; returns {student: Outcome} and writes the CSV export. With scores_only, the
    cells after the last graded one (plots for the hand-grader; no score depends on them) are not run."""
    root = Path(root)
    course.scripts_on_path()  # nbgrader, in this process, asks alembic about a new gradebook
    if sandbox:
        executor.require_sandbox()
    build = root / "build" / "grading" / lab
    staging, outputs_dir = build / "submitted", build / "outputs"
    for folder in (staging, outputs_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    (build / "grades.csv").unlink(missing_ok=True)  # a run that stops leaves no report of an earlier one
    nbgrader_steps.record_lab(root, lab, build / "release")
    nbgrader_steps.record_due_date(root, lab)
    checks = labs.part(lab, "checks")

    outcomes, plans = _preflight(root, lab, checks.GRADED, staging, tail=not scores_only)
    judge = Judge(lab, checks, course_secret(root), notebook_timeout, cell_timeout)
    points, decided = max_scores(root, lab), {}
    for student, (recorded, reasons, notes, seconds) in _run_all(lab, root, plans, judge, workers, sandbox).items():
        outcomes[student].seconds = seconds
        outcomes[student].notes += notes
        problem = reasons[-1] if reasons else "the run stopped early"
        for _, cell_id, _ in plans[student]:
            recorded.setdefault(cell_id, _not_run(problem))
        (outputs_dir / f"{student}.json").write_text(json.dumps(recorded))
        _judge(outcomes[student], reasons, recorded, checks.GRADED)
        decided[student] = nbgrader_scores(recorded, points)
    failed = nbgrader_steps.autograde_replayed(root, lab, staging, outputs_dir) if plans else []
    _score(root, lab, outcomes, failed)
    check_stored(root, lab, {s: d for s, d in decided.items() if s not in failed})
    write_csv(build / "grades.csv", outcomes, points)
    return outcomes


class GradebookMismatch(course.CourseError):
    """What nbgrader stored is not what grading decided: a report from it would be wrong, so there is none."""


def nbgrader_scores(recorded, max_scores):
    """{test cell: points} that nbgrader gives the replayed outputs (its own determine_grade): what the gradebook
    must hold after autograde."""
    from nbgrader.utils import determine_grade

    scores = {}
    for cell_id, points in max_scores.items():
        if cell_id in recorded:  # a test cell (written answers have no outputs: a person grades them)
            metadata = {"nbgrader": {"grade": True, "solution": False, "grade_id": cell_id, "points": points}}
            outputs = [nbformat.from_dict(output) for output in recorded[cell_id]]
            scores[cell_id] = determine_grade(nbformat.v4.new_code_cell(metadata=metadata, outputs=outputs))[0]
    return scores


def check_stored(root, lab, decided):
    """Never a silent zero: every student graded has a submission in the gradebook nbgrader's configuration names,
    holding on each test cell the points grading decided; else GradebookMismatch, with what differs."""
    from sqlalchemy.engine import make_url

    stored, wrong = auto_scores(root, lab), []
    for student, cells in sorted(decided.items()):
        if student not in stored:
            wrong.append(f"{shown(student)}: no submission")
            continue
        wrong += [
            f"{shown(student)} {cell}: {points:g} decided, {stored[student].get(cell)} stored"
            for cell, points in cells.items()
            if stored[student].get(cell) != points
        ]
    if wrong:
        url = make_url(course.layout(root).db_url).render_as_string(hide_password=True)
        raise GradebookMismatch(
            f"the gradebook ({url}) does not hold what grading decided for {len(wrong)} cell(s) or student(s): "
            + "; ".join(wrong[:5])
            + ("; ..." if len(wrong) > 5 else "")
            + "\nfix: check that nbgrader_config.py's CourseDirectory.db_url is the gradebook this course uses, "
            "and that nothing else writes to it while grading; nothing was reported"
        )


def _preflight(root, lab, graded, staging, tail):
    """Every submission read, repaired and staged for nbgrader, each in a child of its own: ({student: Outcome},
    {student: plan} for those that can run). A folder name nbgrader would misread is rejected before any of it."""
    where = course.layout(root)
    release = nbformat.read(where.release / lab / f"{lab}.ipynb", as_version=4)
    locked_code = source_code(nbformat.read(where.source / lab / f"{lab}.ipynb", as_version=4))
    outcomes, jobs, plans = {}, {}, {}
    for student, folder in _students(root, lab):
        outcomes[student] = Outcome(student)
        if CONTROL.search(student) or student != student.strip() or GLOB.search(student):
            outcomes[student].status, outcomes[student].reasons = (
                REJECTED,
                [
                    "the folder name has control characters, surrounding spaces or characters nbgrader reads as a "
                    "pattern (*?[]); rename it to the student's id"
                ],
            )
            continue
        jobs[student] = (folder, lab, release, locked_code, graded, staging / student / lab / f"{lab}.ipynb", tail)
    for student, (state, result) in isolation.run_each(jobs, _prepare, PREFLIGHT_SECONDS).items():
        outcome = outcomes[student]
        if state == "failed" or "rejected" in result:
            shutil.rmtree(staging / student, ignore_errors=True)  # staged, then failed: not for nbgrader
            outcome.status = REJECTED
            outcome.reasons = [
                result["rejected"]
                if state == "ok"
                else f"the file could not be read ({result.splitlines()[0][:300] if result else '?'})"
            ]
            continue
        outcome.notes += result["notes"]
        outcome.reasons += result["concerns"]
        plans[student] = result["plan"]
    return outcomes, plans


def _score(root, lab, outcomes, failed):
    """Scores as nbgrader stored them; a student nbgrader could not score is reviewed, and neither they nor a
    rejected student keep an earlier run's scores (nbgrader_steps.settle)."""
    for student in failed:
        outcomes[student].status = NEEDS_REVIEW
        outcomes[student].reasons.append("nbgrader could not score this notebook (see its log); nothing recorded")
    nbgrader_steps.settle(
        root,
        lab,
        forget=[s for s, o in outcomes.items() if o.status == REJECTED] + failed,
        needs_review={s for s, o in outcomes.items() if o.status == NEEDS_REVIEW},
    )
    scores, late, marked = score_table(root, lab), lateness(root, lab), intake.marked_late(root, lab)
    for student, outcome in outcomes.items():
        outcome.scores = scores.get(student, {}) if outcome.status != REJECTED else {}
        seconds, penalty = late.get(student, (0.0, 0.0)) if outcome.status != REJECTED else (0.0, 0.0)
        outcome.late = late_text(seconds, student in marked and outcome.status != REJECTED)
        if outcome.late:
            outcome.notes.append(
                f"late: {outcome.late}"
                + (f"; nbgrader's late-submission plugin took {penalty:g} points off" if penalty else "")
            )


def _judge(outcome, reasons, recorded, graded):
    outcome.reasons += reasons
    for cell_id, outputs in recorded.items():
        if cell_id.removeprefix("test_") not in graded:
            continue
        for output in outputs:
            evalue = str(output.get("evalue", ""))[:2000]  # the student writes it: bound what the pattern reads
            gap = MISSING_HERE.search(evalue) if output.get("output_type") == "error" else None
            if gap:
                outcome.reasons.append(
                    f"{cell_id} stopped at something grading does not have ({gap[0]}; it has "
                    "numpy, matplotlib and tqdm, no shell, no google.colab): a person should look"
                )
    for cell_id, outputs in recorded.items():
        if any(o.get("output_type") == "error" and o.get("ename") == "SystemExit" for o in outputs):
            outcome.reasons.append(f"cell {cell_id} called sys.exit()")
    if outcome.reasons:
        outcome.status = NEEDS_REVIEW


def write_csv(path, outcomes, max_scores):
    """One row per student: status, total, each cell's score; blank means not graded, never 0."""
    cells = list(max_scores)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "status", "total", "max", *cells, "late", "reasons"])
        for student in sorted(outcomes):
            outcome = outcomes[student]
            scores = [outcome.scores.get(c) for c in cells]
            total = "" if outcome.status == REJECTED else float(sum(s for s in scores if s is not None))
            writer.writerow(
                [
                    spreadsheet_safe(student),
                    outcome.status,
                    total,
                    sum(max_scores.values()),
                    *["" if s is None else s for s in scores],
                    outcome.late,
                    spreadsheet_safe("; ".join(outcome.reasons)),
                ]
            )
