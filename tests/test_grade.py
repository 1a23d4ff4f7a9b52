"""The grade command: hostile submissions in one batch beside honest ones, and its equivalence with nbgrader."""
import csv
import json

import nbformat
import pytest

from graders import course
from graders.grading import executor, grade as grading
from graders.samples import sample_class
from hostile import EXPECTED, HOSTILE

SAMPLES = sample_class("backprop")
HONEST = [s for s in SAMPLES if s.student in ("reference-solution", "correct-vectorized", "bug-adam-shared-state")]
LIMITS = {"notebook_timeout": 11.0, "cell_timeout": 8.0}



def _process_cap_holds():
    """Root ignores RLIMIT_NPROC: without a pids cgroup the fork bomb below would not be bounded."""
    import os

    cap = executor.ProcessCap("probe")
    try:
        return cap.kind == "cgroup" or os.getuid() != 0
    finally:
        cap.remove()


def _course(fresh_course, name, samples, lab="backprop"):
    root = fresh_course(name)
    release = nbformat.read(root / "release" / lab / f"{lab}.ipynb", as_version=4)
    for sample in samples:
        folder = root / "submitted" / sample.student / lab
        folder.mkdir(parents=True)
        (folder / f"{lab}.ipynb").write_text(sample.notebook_text(release))
    return root


@pytest.fixture(scope="module")
def hostile(fresh_course):
    executor.require_sandbox()  # ./run setup installs bubblewrap; a missing sandbox fails here, loudly
    assert _process_cap_holds(), "no pids cgroup can be created here and root ignores RLIMIT_NPROC"
    root = _course(fresh_course, "hostile", HONEST + HOSTILE)
    return root, grading.grade("backprop", root, workers=2, **LIMITS)


@pytest.fixture(scope="module")
def sample_class_graded(fresh_course):
    executor.require_sandbox()
    root = _course(fresh_course, "samples", SAMPLES)
    return root, grading.grade("backprop", root, workers=2, **LIMITS)


def _total(outcome):
    return None if outcome.status == grading.REJECTED else sum(
        outcome.scores.get(c) or 0 for c in outcome.scores if c.startswith("test_"))


def test_every_hostile_kind_has_an_expectation_and_there_are_at_least_twenty():
    assert {s.student for s in HOSTILE} == set(EXPECTED) and len(HOSTILE) >= 20


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
    _, outcomes = hostile
    assert set(outcomes) == {s.student for s in HONEST + HOSTILE}
    alone_root = _course(fresh_course, "alone", HONEST)
    alone = grading.grade("backprop", alone_root, workers=1, **LIMITS)
    for sample in HONEST:
        assert outcomes[sample.student].scores == alone[sample.student].scores
        assert outcomes[sample.student].status == alone[sample.student].status == grading.GRADED


def test_sandbox_hid_the_course_and_the_network_and_kept_the_filesystem(hostile):
    root, _ = hostile
    recorded = json.loads((root / "build/grading/backprop/outputs/h-reads-secrets-writes-outside-network.json")
                          .read_text())
    printed = "".join(o.get("text", "") for o in recorded["student-cell-0"])
    assert "LEAKED" not in printed and printed.count("blocked") == 5, printed
    assert not (course.ROOT / "hostile-was-here.txt").exists() and not (root / "hostile-was-here.txt").exists()


def test_huge_output_is_cut(hostile):
    root, _ = hostile
    recorded = json.loads((root / "build/grading/backprop/outputs/h-huge-output.json").read_text())
    assert len(json.dumps(recorded)) < 1_000_000


def test_rejected_and_not_graded_are_blank_in_the_csv_not_zero(hostile):
    root, outcomes = hostile
    rows = {row["student"]: row for row in csv.DictReader(open(root / "build/grading/backprop/grades.csv"))}
    assert rows["h-corrupt-json"]["status"] == "rejected"
    assert rows["h-corrupt-json"]["total"] == "" and rows["h-corrupt-json"]["test_sigmoid"] == ""
    assert rows["reference-solution"]["conclusion"] == ""  # written, not graded by a person yet
    assert rows["h-infinite-loop"]["test_sigmoid"] == "0.0" and rows["h-infinite-loop"]["status"] == "needs review"


def test_grading_the_sample_class_gives_plain_nbgraders_scores_to_every_honest_submission(sample_class_graded):
    _, outcomes = sample_class_graded
    max_scores = course.max_scores(lab="backprop")
    for sample in SAMPLES:
        if sample.graded:  # the same table tests/test_sample_class.py asserts for plain nbgrader
            assert outcomes[sample.student].scores == sample.expected_scores(max_scores), sample.student
    assert outcomes["broken-not-json"].status == grading.REJECTED
    assert outcomes["broken-kernel-dies"].status == grading.NEEDS_REVIEW
    assert outcomes["cheat-hardcoded-forward"].status == grading.NEEDS_REVIEW


@pytest.mark.parametrize("lab", [lab for lab in course.LABS if lab != "backprop"])
def test_grading_another_labs_class_gives_every_sample_its_expected_scores(fresh_course, lab):
    executor.require_sandbox()
    samples = sample_class(lab)
    root = _course(fresh_course, lab, samples, lab=lab)
    outcomes = grading.grade(lab, root, workers=2, **LIMITS)
    max_scores = course.max_scores(root, lab)
    for sample in samples:
        assert outcomes[sample.student].scores == sample.expected_scores(max_scores), sample.student
    cheats = {s.student for s in samples if s.student.startswith("cheat-")}
    assert {s for s, o in outcomes.items() if o.status == grading.NEEDS_REVIEW} == cheats
    assert {s for s, o in outcomes.items() if o.status == grading.GRADED} == {s.student for s in samples} - cheats


def test_one_worker_and_a_rerun_give_the_same_results(sample_class_graded):
    root, parallel = sample_class_graded
    sequential = grading.grade("backprop", root, workers=1, **LIMITS)
    assert {s: (o.status, o.scores, o.reasons) for s, o in sequential.items()} == \
           {s: (o.status, o.scores, o.reasons) for s, o in parallel.items()}


def test_feedback_shows_hidden_test_messages_but_not_their_code(sample_class_graded):
    from graders.grading import nbgrader_steps

    root, _ = sample_class_graded
    nbgrader_steps.generate_feedback(root, "backprop")
    html = (root / "feedback" / "bug-adam-shared-state" / "backprop" / "backprop.html").read_text()
    assert "one m and one v are shared by all nine weights" in html
    assert "BEGIN HIDDEN TESTS" not in html and "from graders.backprop import hidden" not in html


def test_without_bubblewrap_grading_stops_with_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(executor, "bwrap_path", lambda: None)
    with pytest.raises(executor.SandboxUnavailable, match="apt-get install bubblewrap"):
        grading.grade("backprop", tmp_path)
