"""The grade command: hostile submissions in one batch beside honest ones, and its equivalence with nbgrader."""

import csv
import importlib
import json
import os
import re

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter

from graders import course
from graders.grading import report
from graders.grading import executor, grade as grading, isolation, nbgrader_steps
from graders.grading.secret import SECRET_FILE, course_secret
from graders.labs.sample import Sample
from graders.samples.classroom import by_kind, reference_sample, sample_class
from graders.labs.backprop.samples import REFERENCE
from hostile import EXPECTED, hostile_samples, kept_under_tmp, place_files, probe, secret_paths

pytestmark = pytest.mark.sandbox

SAMPLES = sample_class("backprop")
HONEST = [s for s in SAMPLES if s.student in ("reference-solution", "correct-vectorized", "bug-adam-shared-state")]
LIMITS = {"notebook_timeout": 11.0, "cell_timeout": 8.0}
# Where a test compares scores only: the cells after the last check (plots; no score depends on them) are not run,
# and no cell left takes half a second alone, so a runaway one is stopped sooner. The hostile class is graded so too:
# its attacks sit before the checks; what a cell after them sends is tested apart.
SCORES_ONLY = {**LIMITS, "cell_timeout": 5.0, "scores_only": True}


def _process_cap_holds():
    """Root ignores RLIMIT_NPROC: without a pids cgroup the fork bomb below would not be bounded."""
    cap = executor.Cgroup("probe")
    try:
        return cap.kind == "cgroup" or os.getuid() != 0
    finally:
        cap.remove()


def stage(root, samples, lab="backprop"):
    release = nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)
    for sample in samples:
        course.submit(root, sample.student, lab, sample.notebook_text(release))
    return root


def _course(fresh_course, name, samples, lab="backprop"):
    return stage(fresh_course(name), samples, lab)


@pytest.fixture(scope="module")
def hostile(fresh_course):
    assert _process_cap_holds(), "no pids cgroup can be created here and root ignores RLIMIT_NPROC"
    root = fresh_course("hostile")
    course_secret(root)
    stage(root, HONEST + hostile_samples(root))
    place_files(root)
    missing = [p for p in secret_paths(root) if not p.exists()]
    assert not missing, f"the probe would test nothing for {missing}"
    return root, grading.grade("backprop", root, workers=2, **SCORES_ONLY)


@pytest.fixture(scope="module")
def hostile_feedback(hostile):
    """The hostile class's feedback pages, {student: page}, written once with the course's exporter."""
    root, _ = hostile
    assert nbgrader_steps.generate_feedback(root, "backprop") == []
    return {p.parts[-3]: p.read_text() for p in (root / "feedback").glob("*/backprop/backprop.html")}


@pytest.fixture(scope="module")
def sample_class_graded(fresh_course):
    root = _course(fresh_course, "samples", SAMPLES)
    return root, grading.grade("backprop", root, workers=2, **SCORES_ONLY)


def _total(outcome):
    return (
        None
        if outcome.status == grading.REJECTED
        else sum(outcome.scores.get(c) or 0 for c in outcome.scores if c.startswith("test_"))
    )


def _recorded(root, student):
    return json.loads((root / "build" / "grading" / "backprop" / "outputs" / f"{student}.json").read_text())


def test_scores_only_leaves_out_the_cells_after_the_last_check_and_nothing_else():
    release = nbformat.read(course.ROOT / "release" / "backprop" / "backprop.ipynb", as_version=4)
    canonical = nbformat.reads(reference_sample("backprop").notebook_text(release), as_version=4)
    locked = grading.source_code(nbformat.read(course.ROOT / "source" / "backprop" / "backprop.ipynb", as_version=4))
    graded = importlib.import_module("graders.labs.backprop.checks").GRADED
    full = grading.execution_plan(canonical, locked, graded)
    short = grading.execution_plan(canonical, locked, graded, tail=False)
    last_check = max(i for i, (kind, _, _) in enumerate(full) if kind == "check")
    assert short == full[: last_check + 1] and [cell for _, cell, _ in full[last_check + 1 :]] == [
        "optimizer_comparison"
    ]


def test_every_hostile_kind_has_an_expectation_and_there_are_many(tmp_path):
    students = {s.student for s in hostile_samples(tmp_path)} | {
        "h-symlink-to-classmate",
        "h-symlinked-folder",
        "h-link-to-instructor-source",
        "h-huge-file",
    }
    assert students == set(EXPECTED) and len(EXPECTED) >= 55


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_hostile_submission_gets_its_status_score_and_reason(hostile, student):
    _, outcomes = hostile
    status, total, reason = EXPECTED[student]
    outcome = outcomes[student]
    assert (outcome.status, _total(outcome)) == (status, total), outcome
    assert reason in "; ".join(outcome.reasons)
    if status == grading.GRADED:
        assert outcome.reasons == []


def test_the_batch_completes_and_honest_grades_are_what_they_are_alone(hostile, fresh_course):
    root, outcomes = hostile
    assert set(outcomes) == {s.student for s in HONEST} | set(EXPECTED)
    alone_root = _course(fresh_course, "alone", HONEST)
    (alone_root / SECRET_FILE).write_bytes((root / SECRET_FILE).read_bytes())  # the same hidden inputs
    alone = grading.grade("backprop", alone_root, workers=1, **SCORES_ONLY)
    for sample in HONEST:
        assert outcomes[sample.student].scores == alone[sample.student].scores
        assert outcomes[sample.student].status == alone[sample.student].status == grading.GRADED
        assert _without_progress_bars(_recorded(root, sample.student)) == _without_progress_bars(
            _recorded(alone_root, sample.student)
        )


def _without_progress_bars(recorded):
    """Recorded outputs without stderr, where tqdm writes its timing-dependent progress bars."""
    return {cell: [o for o in outputs if o.get("name") != "stderr"] for cell, outputs in recorded.items()}


def test_the_sandbox_hid_the_course_the_server_and_the_network(hostile):
    root, _ = hostile
    printed = "".join(
        o.get("text", "")
        for outputs in _recorded(root, "h-reads-secrets-writes-outside-network").values()
        for o in outputs
        if o.get("name") == "stdout"
    )
    assert "LEAKED" not in printed
    assert printed.count("blocked") == len(secret_paths(root)) + 1 + 3 + 1, printed  # files, import, writes, network
    assert "pid 2 uid 1000 proc []" in printed  # in its own pid namespace (under its init), not root, no /proc
    assert not (root / "hostile-was-here.txt").exists() and not (course.ROOT.parent / "hostile-was-here.txt").exists()


def test_a_test_cell_output_is_the_graders_verdict_not_the_students(hostile):
    root, _ = hostile
    for student in ("h-unanswered-patches-runtime", "h-unanswered-patches-wire", "h-thread-forges-replies"):
        outputs = _recorded(root, student)["test_sigmoid"]
        assert outputs[0]["output_type"] == "error" and "expected" not in outputs[0].get("ename", ""), outputs


def test_huge_output_is_cut(hostile):
    root, _ = hostile
    assert len(json.dumps(_recorded(root, "h-huge-output"))) < 1_000_000


def test_rejected_and_not_graded_are_blank_in_the_csv_not_zero(hostile):
    root, outcomes = hostile
    rows = {row["student"]: row for row in csv.DictReader(open(root / "build/grading/backprop/grades.csv"))}
    assert rows["h-corrupt-json"]["status"] == "rejected"
    assert rows["h-corrupt-json"]["total"] == "" and rows["h-corrupt-json"]["test_sigmoid"] == ""
    assert rows["reference-solution"]["conclusion"] == ""  # written, not graded by a person yet
    assert rows["h-infinite-loop"]["test_sigmoid"] == "0.0" and rows["h-infinite-loop"]["status"] == "needs review"


def test_report_and_csv_escape_control_characters_and_never_hold_a_formula(hostile):
    root, outcomes = hostile
    csv_text = (root / "build/grading/backprop/grades.csv").read_text()
    text = report.summary(outcomes, report.max_scores(root, "backprop")) + csv_text
    assert "\\x1b[31mEVIL\\x07" in text and "h-direction\\u202eoverride" in text
    assert not any(ch in text for ch in "\x1b\x07\x00\u202e")
    rows = {row["student"] for row in csv.DictReader(open(root / "build/grading/backprop/grades.csv"))}
    assert '\'=HYPERLINK("http:x","ok")' in rows and not any(s.startswith(("=", "+", "-", "@")) for s in rows)


def test_feedback_holds_no_live_student_markup_no_hidden_code_and_nothing_for_the_rejected(hostile, hostile_feedback):
    _, outcomes = hostile
    pages = hostile_feedback
    for student in ("h-script-in-markdown", "h-html-and-script-output"):
        live = [
            tag
            for tag in re.findall(r"<[^>]*>", pages[student])
            if re.search(r"script|onerror", tag, re.I) and "mathjax" not in tag.lower() and "require" not in tag.lower()
        ]
        assert not any("alert" in tag for tag in live) and "alert(" in pages[student], (student, live)
    assert "<strong>bold</strong>" in pages["h-script-in-markdown"]  # harmless formatting survives
    for student, page in pages.items():
        assert "BEGIN HIDDEN TESTS" not in page and "import hidden as checks" not in page, student
    rejected = {s for s, o in outcomes.items() if o.status == grading.REJECTED}
    assert rejected and not rejected & set(pages)  # the link to the instructor's source gets no page at all


def test_a_feedback_page_is_the_one_nbconverts_exporter_writes(fresh_course):
    """The feedback exporter leaves out nbconvert's re-read of the page (BeautifulSoup) and adds its alt text itself:
    read again as nbconvert reads it (BeautifulSoup), the page is nbconvert's, for plots, student HTML and markup."""
    root = fresh_course("exporters")
    students = ("reference-solution", "h-html-and-script-output", "h-script-in-markdown")
    stage(root, [s for s in HONEST + hostile_samples(root) if s.student in students])
    grading.grade("backprop", root, workers=2, **LIMITS)  # with the plots
    pages = {}
    for exporter in (nbgrader_steps.FeedbackExporter, HTMLExporter):
        assert nbgrader_steps.generate_feedback(root, "backprop", exporter) == []
        pages[exporter] = {s: (root / "feedback" / s / "backprop" / "backprop.html").read_text() for s in students}
    ours, nbconverts = pages.values()
    for student in students:
        assert str(BeautifulSoup(ours[student], features="html.parser")) == nbconverts[student], student
    assert 'alt="No description has been provided for this image"' in ours["reference-solution"]  # the plot


def test_a_planted_file_or_package_never_reaches_the_next_student(fresh_course):
    plant = (
        "import os, sys\nfor name in ('numpy_planted.py', 'sitecustomize.py', 'tqdm.py'):\n"
        "    open(os.path.join('/tmp', name), 'w').write('print(\"PLANTED\")')\n"
        "open('/tmp/secret-of-a-student.txt', 'w').write('mine')\nsys.path.insert(0, '/tmp')"
    )
    witness = (
        "import os\nprint(sorted(os.listdir('/tmp')), sorted(os.listdir('.')))\n"
        "try:\n    import numpy_planted\nexcept ImportError:\n    print('no planted module')"
    )
    samples = [
        Sample("a-planter", "", REFERENCE, damage=_insert(plant)),
        Sample("b-witness", "", REFERENCE, damage=_insert(witness)),
    ]
    root = _course(fresh_course, "planted", samples)
    outcomes = grading.grade("backprop", root, workers=1, **SCORES_ONLY)
    printed = "".join(o.get("text", "") for outputs in _recorded(root, "b-witness").values() for o in outputs)
    listing = f"{sorted({'submission', *kept_under_tmp()})} ['data.pkl']"
    assert listing in printed and "no planted module" in printed and "PLANTED" not in printed
    assert (outcomes["b-witness"].status, _total(outcomes["b-witness"])) == (grading.GRADED, 15)


def _insert(source):
    from hostile import _insert_cell

    return _insert_cell(source)


def test_grading_the_sample_class_gives_plain_nbgraders_scores_to_every_honest_submission(sample_class_graded):
    _, outcomes = sample_class_graded
    max_scores = report.max_scores(course.ROOT, "backprop")
    for sample in SAMPLES:
        if sample.graded:  # the same table tests/test_sample_class.py asserts for plain nbgrader
            assert outcomes[sample.student].scores == sample.expected_scores(max_scores), sample.student
    assert outcomes["broken-not-json"].status == grading.REJECTED
    assert outcomes["broken-kernel-dies"].status == grading.NEEDS_REVIEW
    assert outcomes["cheat-hardcoded-forward"].status == grading.NEEDS_REVIEW


@pytest.mark.parametrize("lab", [lab for lab in course.LABS if lab != "backprop"])
def test_grading_another_labs_class_gives_every_sample_its_expected_scores(fresh_course, lab):
    samples = sample_class(lab)
    root = _course(fresh_course, lab, samples, lab=lab)
    outcomes = grading.grade(lab, root, workers=2, **SCORES_ONLY)
    max_scores = report.max_scores(root, lab)
    for sample in samples:
        assert outcomes[sample.student].scores == sample.expected_scores(max_scores), sample.student
    cheats = {s.student for s in samples if s.student.startswith("cheat-")}
    assert {s for s, o in outcomes.items() if o.status == grading.NEEDS_REVIEW} == cheats
    assert {s for s, o in outcomes.items() if o.status == grading.GRADED} == {s.student for s in samples} - cheats


def test_a_submission_that_needs_review_is_flagged_in_the_gradebook_and_no_other(sample_class_graded):
    from nbgrader.api import Gradebook

    root, outcomes = sample_class_graded
    with Gradebook(course.layout(root).db_url) as gradebook:
        flagged = {
            s.student_id for s in gradebook.assignment_submissions("backprop") if any(n.flagged for n in s.notebooks)
        }
    assert flagged == {s for s, o in outcomes.items() if o.status == grading.NEEDS_REVIEW} != set()


def test_a_rerun_on_one_worker_with_another_secret_gives_the_same_results(sample_class_graded, fresh_course):
    """Neither the number of workers nor the secret (the hidden inputs drawn) changes a status, score or reason: two
    samples of each kind graded again (every sample is judged with two more secrets in tests/test_secrets.py)."""
    root, parallel = sample_class_graded
    again = _course(fresh_course, "rerun", [s for of_kind in by_kind(SAMPLES).values() for s in of_kind[:2]])
    sequential = grading.grade("backprop", again, workers=1, **SCORES_ONLY)
    assert (again / SECRET_FILE).read_bytes() != (root / SECRET_FILE).read_bytes()
    assert len(sequential) >= 10 and {s: (o.status, o.scores, o.reasons) for s, o in sequential.items()} == {
        s: (parallel[s].status, parallel[s].scores, parallel[s].reasons) for s in sequential
    }


def test_feedback_shows_hidden_test_messages_but_not_their_code(hostile_feedback):
    html = hostile_feedback["bug-adam-shared-state"]
    assert "one m and one v are shared by all nine weights" in html
    assert "BEGIN HIDDEN TESTS" not in html and "from graders.labs.backprop import hidden" not in html


def test_without_bubblewrap_grading_stops_with_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(executor, "bwrap_path", lambda: None)
    with pytest.raises(executor.SandboxUnavailable, match="apt-get install bubblewrap"):
        grading.grade("backprop", tmp_path)


def test_a_worker_that_dies_at_start_is_tried_again_then_reported_with_its_log(tmp_path, monkeypatch):
    """The error names the log and quotes its end; the worker was started twice before giving up."""
    dies = tmp_path / "python"
    dies.write_text("#!/bin/sh\necho 'worker: cannot start' >&2\nexit 1\n")
    dies.chmod(0o755)
    executor.prepare_matplotlib_cache(tmp_path)  # with the real interpreter; only the worker's start dies
    monkeypatch.setattr(executor.sys, "executable", str(dies))
    with pytest.raises(executor.SandboxUnavailable) as raised:
        executor.Worker("backprop", {}, tmp_path, sandbox=False)
    log = tmp_path / "worker-backprop-0.log"
    assert str(log) in str(raised.value) and "worker: cannot start" in str(raised.value)
    assert log.read_text().count("cannot start") == 2


def test_the_probe_looks_for_the_graded_courses_own_files(tmp_path):
    assert str(tmp_path / "gradebook.db") in probe(tmp_path) and "/work/main" not in probe(tmp_path).replace(
        str(course.ROOT), ""
    )


def test_a_regrade_draws_the_same_hidden_inputs_and_a_changed_file_others(fresh_course):
    """A train that ignores its seed fails with the seed it was given in the message: the same file graded twice
    sees the same seed, files with one comment added see others (feedback says nothing of the next inputs). Seeds
    are drawn from 1000: three changed files, so that all three meeting the first's seed (1e-9) is not a flake."""
    ignores_seed = REFERENCE["train"].replace("np.random.default_rng(seed)", "np.random.default_rng(1234)")
    samples = [Sample("a", "", {**REFERENCE, "train": ignores_seed})] + [
        Sample(f"b{n}", "", {**REFERENCE, "train": ignores_seed + f"\n# one more line {n}"}) for n in range(3)
    ]
    root = _course(fresh_course, "inputs", samples)
    messages = []
    for _ in range(2):
        grading.grade("backprop", root, workers=1, **SCORES_ONLY)
        messages.append({s.student: _recorded(root, s.student)["test_train"][0]["evalue"] for s in samples})
    assert messages[0] == messages[1]
    seeds = {student: re.search(r"seed=(\d+)", message).group(1) for student, message in messages[0].items()}
    assert any(seeds[f"b{n}"] != seeds["a"] for n in range(3)), seeds


def test_a_submission_whose_preflight_fails_late_is_rejected_and_never_reaches_nbgrader(fresh_course, monkeypatch):
    """The pre-flight child stages the notebook, then cannot hand back its result (too large to return)."""
    monkeypatch.setattr(isolation, "RESULT_LIMIT", 1024**2)
    padded = {**REFERENCE, "sigmoid": REFERENCE["sigmoid"] + "\n#" + "\x7f" * 300_000}  # six JSON bytes each
    root = _course(fresh_course, "late-preflight-failure", [SAMPLES[0], Sample("padded", "", padded)])
    outcomes = grading.grade("backprop", root, workers=2, **SCORES_ONLY)
    assert outcomes["padded"].status == grading.REJECTED and outcomes["padded"].scores == {}
    assert outcomes[SAMPLES[0].student].status == grading.GRADED
    assert not (root / "autograded" / "padded").exists()


def test_the_missing_module_check_reads_a_bounded_part_of_what_the_student_raised():
    outcome = grading.Outcome("s")
    far = {"output_type": "error", "ename": "Exception", "evalue": "x" * 3000 + "No module named 'google'"}
    near = {"output_type": "error", "ename": "ModuleNotFoundError", "evalue": "No module named 'scipy'"}
    grading._judge(outcome, [], {"sigmoid": [far], "test_sigmoid": [near]}, ("sigmoid",))
    assert [r.split(" (")[0] for r in outcome.reasons] == ["test_sigmoid stopped at something grading does not have"]


def _append(source):
    from hostile import _edit

    def change(notebook):
        notebook["cells"].append(
            {
                "cell_type": "code",
                "metadata": {},
                "source": source,
                "id": "student-last",
                "outputs": [],
                "execution_count": None,
            }
        )

    return _edit(change)


FORGE = (
    "import sys\nwire = sys.modules['graders.sandbox.wire']\nsend = wire.send\n"
    "def forged(sock, message, send=send):\n    if 'outputs' in message:\n"
    "        message['outputs'].append({FORGED})\n    return send(sock, message)\n"
    "wire.send = forged\nprint('after')"
)


@pytest.mark.parametrize(
    "forged",
    [
        '{"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgoAA", "text/plain": "x"}}',
        '{"output_type": []}',
    ],
)
def test_what_a_cell_after_the_last_check_sends_changes_no_score(fresh_course, forged):
    """A malformed figure or output kind sent after the last check ends the run there: scores stand, with a note."""
    root = _course(
        fresh_course,
        "forged-tail",
        [Sample("forger", "", REFERENCE, damage=_append(FORGE.replace("{FORGED}", forged)))],
    )
    outcome = grading.grade("backprop", root, workers=1, **LIMITS)["forger"]
    assert (outcome.status, _total(outcome)) == (grading.GRADED, 15), outcome.reasons
    assert any("after the last graded cell" in note for note in outcome.notes), outcome.notes


def test_a_student_id_with_quotes_and_a_time_nbgrader_cannot_read_cost_no_one_else_their_grade(fresh_course):
    """Red-team finding: nbgrader's log named a student 'o'brien' as 'o', and a folder name could name 'bob' in
    it; a submission time of the right shape that nbgrader cannot read (month 13) stopped its autograde for that
    student. The grade command forgot whoever the log seemed to name. Now the time is checked before nbgrader sees
    it and nbgrader's failures are read from what it wrote, never from its log."""
    lab = "autograd"
    root = fresh_course("quoted-ids")
    text = reference_sample(lab).notebook_text(
        nbformat.read(course.layout(root).release / lab / f"{lab}.ipynb", as_version=4)
    )
    impostor = "z error processing assignment 'autograd' for student 'bob' z"
    for student in ("bob", "o", "o'brien", impostor):
        course.submit(root, student, lab, text)
    for student in ("o'brien", impostor):
        (course.layout(root).submitted / student / lab / "timestamp.txt").write_text("2024-13-45 10:00:00 UTC")
    (course.layout(root).submitted / "o'brien" / lab / "submission_secret.txt").write_text("a" * 128)
    outcomes = grading.grade(lab, root, workers=2, **SCORES_ONLY)
    full = sum(p for c, p in report.max_scores(root, lab).items() if c.startswith("test_"))
    assert {s: (o.status, _total(o)) for s, o in outcomes.items()} == dict.fromkeys(outcomes, (grading.GRADED, full))
    assert set(outcomes) == {"bob", "o", "o'brien", impostor}
    for student in ("o'brien", impostor):
        assert any("not as nbgrader collect writes them" in note for note in outcomes[student].notes)
