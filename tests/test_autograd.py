"""The autograd lab: reference vs the seed's numbers, one source of truth, each hidden check vs each sample."""

import math

import numpy as np
import pytest

from graders.labs.autograd import checks, hidden, published, reference as ref
from graders.samples.classroom import sample_class
from conftest import check_failures, notebook_namespace, read_notebook

CHECKED = checks.GRADED
SAMPLES = sample_class("autograd")
REASONS = {
    "bug-mul-assigns-instead-of-adding": "use += in backward_step",
    "bug-tanh-forgets-out-grad": "times out.grad",
    "bug-sigmoid-overflows": "OverflowError",
    "bug-backward-inputs-first": "topological order",
    "bug-backward-visits-shared-nodes-twice": "visit each node once",
    "bug-linear-gradients-pile-up": "fresh gradients each step",
    "bug-quadratic-uses-linear-model": "not the linear one",
    "cheat-hardcoded-derivatives": "returns 7, 4, 1",
    "bug-backward-breadth-first": "breadth-first order is not a topological order",
    "bug-backward-adds-one-to-root": "set it, do not add to it",
    "bug-derivatives-without-the-engine": "ran backward 0 times",
    "bug-linear-returns-value-nodes": "not Value nodes",
    "unanswered": "NotImplementedError",
}


def test_reference_training_reproduces_the_seed_numbers():
    losses, w, b = ref.train_linear(*published.LINEAR_DATA, *published.LINEAR_START.values())
    got = {"first_loss": losses[0], "last_loss": losses[-1], "w": w, "prediction_at_4": w * 4 + b}
    assert all(math.isclose(got[k], v, rel_tol=published.SEED_RTOL) for k, v in published.LINEAR.items())
    losses, w1, w2 = ref.train_quadratic(*published.QUADRATIC_DATA, *published.QUADRATIC_START.values())
    assert math.isclose(losses[0], published.QUADRATIC["first_loss"], rel_tol=published.SEED_RTOL)
    assert math.isclose(losses[-1], published.QUADRATIC["last_loss"], rel_tol=published.SEED_RTOL)
    assert abs(w2 * 36 + w1 * 6 - 66) < 0.5  # the quadratic model, not the linear one, predicts x = 6


def test_notebook_published_values_are_the_graders():
    namespace = notebook_namespace(read_notebook("source", "autograd"), "autograd")
    p = namespace["PUBLISHED"]
    assert p["seed_rtol"] == published.SEED_RTOL and p["polynomial"] == published.POLYNOMIAL
    assert p["linear_data"] == published.LINEAR_DATA and p["linear_start"] == published.LINEAR_START
    assert p["linear"] == published.LINEAR
    assert p["quadratic_data"] == published.QUADRATIC_DATA and p["quadratic_start"] == published.QUADRATIC_START
    assert p["quadratic"] == published.QUADRATIC


@pytest.fixture(scope="module")
def release():
    return read_notebook("release", "autograd")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.student)
def test_hidden_checks_fail_exactly_the_cells_of_the_bug_and_say_why(sample, release):
    failures = check_failures(notebook_namespace(sample.notebook(release), "autograd"), hidden, CHECKED)
    assert set(failures) == set(sample.loses), failures
    for message in failures.values():
        assert REASONS[sample.student] in message and message.count("hint:") <= 1  # one message, one hint


@pytest.mark.parametrize("sample", [s for s in SAMPLES if not s.student.startswith("cheat-")], ids=lambda s: s.student)
def test_visible_checks_flag_the_buggy_cell(sample, release):
    namespace = notebook_namespace(sample.notebook(release), "autograd")
    failures = check_failures(namespace, namespace["checks"], CHECKED, errors=Exception)
    assert set(sample.loses) <= set(failures)
    if sample.student == "reference-solution":
        assert failures == {}


def test_every_bug_sample_has_a_stated_reason():
    assert {s.student for s in SAMPLES if s.loses} == set(REASONS)


@pytest.mark.parametrize(
    "label, expression",
    [(label, f) for label, f, _ in checks.EXPRESSIONS],
)
def test_the_reference_pass_over_a_traced_expression_agrees_with_finite_differences(label, expression):
    from graders.labs.autograd import expressions

    x0, y0, h = 0.7, -1.3, 1e-6
    values, grads = expressions.evaluate(expressions.trace(expression, x0, y0))
    f = lambda x, y: expression(expressions.FLOAT, x, y)  # noqa: E731
    assert math.isclose(values[-1], f(x0, y0), rel_tol=1e-12)
    numeric = ((f(x0 + h, y0) - f(x0 - h, y0)) / (2 * h), (f(x0, y0 + h) - f(x0, y0 - h)) / (2 * h))
    assert all(math.isclose(g, n, rel_tol=1e-6, abs_tol=1e-8) for g, n in zip(grads[:2], numeric)), label


def test_the_grader_orders_a_graph_children_first_each_node_once():
    from graders.labs.autograd.expressions import order

    # root 0 uses 1 and 2; 1 uses 2 (a node first reached by the short path); 2 uses the leaf 3
    assert order([[1, 2], [2], [3], []]) == {"root_grad": 1.0, "order": [0, 1, 2, 3]}
    with pytest.raises(ValueError):
        order([[5]])


def test_an_operation_borrowing_the_graders_node_builder_earns_nothing(release):
    """The sandbox's stand-ins build nodes with a generic chain rule; an answer that imports it (with a fallback
    for Colab) did not write backward_step, and is flagged for review instead of scored."""
    from graders import judging
    from graders.labs.autograd import probes
    from graders.samples.classroom import reference_sample

    namespace = notebook_namespace(reference_sample("autograd").notebook(release), "autograd")
    exec(
        "def mul(a, b):\n    from graders.labs.autograd.probes import given_node\n    a, b = as_value(a), as_value(b)\n"
        "    return given_node(Value, a.data * b.data, (a, b), (b.data, a.data), '*')",
        namespace,
    )
    with pytest.raises(judging.Fail, match="not written in the notebook") as failure:
        checks.mul(judging.LocalStudent(namespace, probes), np.random.default_rng(0))
    assert failure.value.flag == judging.NOT_OWN
