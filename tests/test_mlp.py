"""The MLP lab: the reference trains below the target, each hidden check vs each sample, visible checks."""

import numpy as np
import pytest

from graders.labs.mlp import checks, hidden, reference as ref
from graders.samples.classroom import sample_class
from conftest import check_failures, notebook_namespace, read_notebook

CHECKED = checks.GRADED
SAMPLES = sample_class("mlp")
REASONS = {
    "bug-missing-transpose": "Wᵀ",
    "bug-gradient-for-sum-not-mean": "gradient of the sum of squared errors",
    "bug-sigmoid-derivative-on-output": "evaluated at the input z",
    "bug-bias-gradient-not-summed": "db = Δ summed over the batch",
    "bug-backward-loops-over-samples": "no Python loop over samples",
    "bug-backward-loops-over-rows": "no Python loop over samples",
    "bug-gradient-step-returns-a-copy": "update the layers of the network you are given",
    "bug-glorot-uses-normal": "rng.uniform",
    "bug-layer-forward-forgets-its-cache": "keep 'input', 'z_in' and 'z_out'",
    "bug-updates-before-backward-ends": "changed the weights",
    "bug-mse-loss-sums-the-outputs": "the mean over all elements",
    "bug-train-records-the-loss-after-the-step": "record the loss of the forward pass, then",
    "unanswered": "not implemented yet",
}


def test_reference_network_learns_the_five_points_from_several_seeds():
    for seed in range(3):
        network, losses = ref.train(ref.X_FIVE, ref.Y_FIVE, seed=seed)
        outputs = ref.network_forward(network, ref.X_FIVE).ravel()
        assert losses[-1] < ref.TARGET_LOSS and outputs[0] > 0.8 and np.all(outputs[1:] < 0.2)


def test_reference_backward_agrees_with_finite_differences():
    network = ref.make_network((3, 4, 2), np.random.default_rng(5))
    X, Y = np.random.default_rng(6).normal(size=(6, 3)), np.random.default_rng(7).uniform(size=(6, 2))
    gradients = ref.network_backward(network, X, Y)
    W = network[0]["W"]
    numeric = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        for sign in (1, -1):
            probe = [dict(layer) for layer in network]
            shifted = W.copy()
            shifted[index] += sign * 1e-6
            probe[0]["W"] = shifted
            numeric[index] += sign * ref.mse_loss(Y, ref.network_forward(probe, X)) / 2e-6
    assert np.allclose(gradients[0]["W"], numeric, rtol=1e-5, atol=1e-10)


@pytest.fixture(scope="module")
def release():
    return read_notebook("release", "mlp")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.student)
def test_hidden_checks_fail_exactly_the_cells_of_the_bug_and_say_why(sample, release, capsys):
    partial = {}
    failures = check_failures(notebook_namespace(sample.notebook(release), "mlp"), hidden, CHECKED, partial=partial)
    assert set(failures) == set(sample.loses), failures
    assert partial == sample.partial
    for message in [*failures.values(), *([capsys.readouterr().out] if partial else [])]:
        assert REASONS[sample.student] in message and message.count("hint:") <= 1  # one message, one hint


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.student)
def test_visible_checks_flag_the_buggy_cell(sample, release):
    namespace = notebook_namespace(sample.notebook(release), "mlp")
    failures = set(check_failures(namespace, namespace["checks"], CHECKED, errors=Exception))
    assert {*sample.loses, *sample.partial} <= failures
    if not sample.loses and not sample.partial:
        assert failures == set()


def test_every_bug_sample_has_a_stated_reason():
    assert {s.student for s in SAMPLES if s.loses or s.partial} == set(REASONS)


def test_a_function_cannot_borrow_the_graders_answer_for_itself(release):
    """layer_forward written as a one-layer network_forward: the grader does not answer network_forward while it
    grades layer_forward (its reference holds layer_forward's), so the student's own one is called, and fails."""
    from graders import judging
    from graders.labs.mlp import probes
    from graders.samples.classroom import reference_sample

    namespace = notebook_namespace(reference_sample("mlp").notebook(release), "mlp")
    exec("def layer_forward(layer, X):\n    return network_forward([layer], X)", namespace)
    with pytest.raises(judging.Fail, match="RecursionError"):
        checks.layer_forward(judging.LocalStudent(namespace, probes), np.random.default_rng(0))
