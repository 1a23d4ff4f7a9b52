"""Hidden inputs are drawn per course secret, student and check: the verdict on every sample must not depend on
the draw. Each sample of each lab, judged in this process with two secrets, fails exactly its own cells."""

import pytest

from graders import course, judging, labs
from graders.samples.classroom import sample_class
from conftest import notebook_namespace, read_notebook

SECRETS = [b"first course secret", b"second course secret"]  # the check a draw once decided: 60 more below


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s.decode().split()[0])
@pytest.mark.parametrize("lab", course.LABS)
def test_every_sample_fails_exactly_its_cells_whatever_the_secret(lab, secret):
    checks = labs.part(lab, "checks")
    probes = labs.part(lab, "probes")
    release = read_notebook("release", lab)
    for sample in sample_class(lab):
        if not sample.graded:
            continue
        student = judging.LocalStudent(notebook_namespace(sample.notebook(release), lab), probes)
        failed, partial = set(), {}
        for name in checks.GRADED:
            try:
                result = getattr(checks, name)(student, judging.check_rng(secret, lab, sample.student, name))
            except judging.Fail:
                failed.add(f"test_{name}")
            else:
                if isinstance(result, judging.Partial):
                    partial[f"test_{name}"] = result.points
        assert (failed, partial) == (set(sample.loses), sample.partial), sample.student


def test_a_backward_that_recomputes_the_forward_pass_loses_every_path_whatever_the_secret():
    """The forward_dict case is drawn where every path tells reading from recomputing (a saturated tanh once made
    one path pass for about 1 secret in 20)."""
    lab, name = "backprop", "backward_propagation"
    checks = labs.part(lab, "checks")
    sample = next(s for s in sample_class(lab) if s.student == "bug-backward-recomputes-the-forward-pass")
    student = judging.LocalStudent(
        notebook_namespace(sample.notebook(read_notebook("release", lab)), lab), labs.part(lab, "probes")
    )
    for k in range(60):
        with pytest.raises(judging.Fail):
            checks.backward_propagation(
                student, judging.check_rng(f"sweep secret {k}".encode(), lab, sample.student, name)
            )
