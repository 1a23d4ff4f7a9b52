"""Each hidden check accepts every right answer in the sample class and rejects each bug with its reason.

Runs in-process (no kernel): the sample notebooks' code cells are executed into a namespace and each
check is called the way the notebook's graded cell calls it.
"""

import warnings

import numpy as np
import pytest

from graders.labs.backprop import checks, hidden
from graders.samples.classroom import reference_sample, sample_class
from conftest import check_failures, notebook_namespace

CHECKED = checks.GRADED
GRADABLE = [s for s in sample_class("backprop") if s.graded]

# What the failure message must say, for the samples whose one bug is in one function.
REASONS = {
    "bug-sigmoid-overflows": "take exp only of non-positive numbers",
    "bug-sigmoid-where-computes-both-branches": "computes a and b for every z",
    "bug-forward-tanh-misplaced": "['tanh']",
    "bug-backward-dw3-sin-for-cos": "['dw3']",
    "bug-gradcheck-elementwise-ratio": "must return one number",
    "bug-gradcheck-changes-w": "changed the w it was given",
    "bug-momentum-skips-weights": "did not update w6, w9",
    "bug-momentum-shared-state": "one velocity is shared by all nine weights",
    "bug-adam-shared-state": "one m and one v are shared",
    "bug-adam-no-bias-correction": "no bias correction",
    "bug-adam-bias-by-epoch": "number of updates so far",
    "cheat-hardcoded-forward": "returns the published values at row",
    "cheat-hardcoded-backward": "returns the published values at row",
    "bug-forward-inlines-the-sigmoid": "did not call sigmoid",
    "bug-backward-recomputes-the-forward-pass": "instead of recomputing them",
    "bug-vanilla-updates-in-place": "in place",
    "bug-momentum-rate-outside-velocity": "the learning rate belongs inside the velocity",
    "bug-adam-v-not-squared": "weights after step 1",
    "bug-train-changes-the-callers-config": "changed the config dict it was given",
    "bug-train-seeds-the-global-generator": "np.random.default_rng(seed)",
    "bug-train-returns-a-list": "numpy array",
    "bug-sigmoid-for-numbers-only": "for arrays use numpy's elementwise functions",
    "bug-forward-uses-w-as-scratch": "forward_propagation changed w",
    "bug-gradcheck-shifts-every-weight": "one weight at a time",
    "bug-gradcheck-assumes-an-array": "this value is a list, not a numpy array",
    "bug-momentum-needs-every-hyper-parameter": "KeyError: 'momentum'",
    "bug-train-shuffles-the-rows": "for each row in order",
    "bug-train-loss-after-the-epoch": "computed before each update",
    "bug-train-drops-the-returned-config": "keep the config the rule returns",
    "broken-syntax-error": "not a function here",
    "unanswered": "not implemented yet",
}


@pytest.mark.parametrize("sample", GRADABLE, ids=lambda s: s.student)
def test_sample_fails_exactly_the_cells_of_its_bug(sample, release_notebook):
    partial = {}
    failures = check_failures(notebook_namespace(sample.notebook(release_notebook)), hidden, CHECKED, partial=partial)
    assert set(failures) == set(sample.loses), failures
    assert partial == sample.partial
    for message in failures.values():
        assert REASONS[sample.student] in message and message.count("hint:") <= 1  # one message, one hint


def test_every_seed_bug_sample_has_a_stated_reason():
    assert {s.student for s in GRADABLE if s.loses or s.partial} == set(REASONS)


def test_a_check_passes_without_writing_to_stderr_even_when_the_answer_warns(capfd, release_notebook):
    noisy = next(s for s in GRADABLE if s.student == "correct-noisy")
    namespace = notebook_namespace(noisy.notebook(release_notebook))
    capfd.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        hidden.forward_propagation(namespace["forward_propagation"])
        hidden.train(namespace["train"])  # tqdm draws its bar on stderr
    assert capfd.readouterr().err == ""


def test_checks_leave_the_notebook_namespace_as_they_found_it(release_notebook):
    reference = reference_sample("backprop")
    namespace = notebook_namespace(reference.notebook(release_notebook))
    before = dict(namespace)
    for name in CHECKED:
        getattr(hidden, name)(namespace[name])
    assert namespace.keys() == before.keys() and all(namespace[k] is before[k] for k in before)


def test_gradient_check_reports_a_wrong_backward_even_when_the_student_backward_is_right(release_notebook):
    # A gradient check bound to its own backward (a default argument, fixed at definition time) is
    # right everywhere except that it cannot see the backward pass it is meant to check.
    reference = reference_sample("backprop")
    namespace = notebook_namespace(reference.notebook(release_notebook))
    exec(
        reference.cells["gradient_checking"].replace(
            "eps=1e-7):", "eps=1e-7, backward_propagation=backward_propagation):"
        ),
        namespace,
    )
    with pytest.raises(AssertionError, match="wrong backward"):
        hidden.gradient_checking(namespace["gradient_checking"])


def test_train_that_ignores_the_seed_fails(release_notebook):
    reference = reference_sample("backprop")
    namespace = notebook_namespace(reference.notebook(release_notebook))
    source = reference.cells["train"].replace("np.random.default_rng(seed)", "np.random.default_rng(1234)")
    exec(source, namespace)
    with pytest.raises(AssertionError, match="train"):
        hidden.train(namespace["train"])


def _notebook_function(source, name):
    namespace = {"__name__": "__main__", "np": np}
    exec(source, namespace)
    return namespace[name]


def test_sigmoid_returning_a_one_element_array_for_a_number_fails():
    sigmoid = _notebook_function(
        "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-np.atleast_1d(np.asarray(z, dtype=float))))", "sigmoid"
    )
    with pytest.raises(AssertionError, match="shape"):
        hidden.sigmoid(sigmoid)


def test_an_answer_aliased_from_the_reference_implementation_fails():
    from graders.labs.backprop import reference

    with pytest.raises(AssertionError, match="comes from the module .graders.labs.backprop.reference."):
        hidden.forward_propagation(reference.forward_propagation)
