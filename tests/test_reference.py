"""The reference implementation in graders/ against the published values and against calculus."""

import numpy as np
import pytest

from graders.labs.backprop import data
from graders.labs.backprop import published, reference as ref


@pytest.fixture(scope="module")
def xy():
    return data.load_data()


def test_data_file_is_the_original(xy):
    X, y = xy
    assert X.shape == (506, 5) and y.shape == (506,)
    assert X.dtype == y.dtype == np.float64
    # PROVENANCE.md: y is the graph itself at all-ones weights, to 2.2e-16
    at_ones = np.array([ref.forward_propagation(x, 0.0, np.ones(9))["y_pred"] for x in X])
    assert np.max(np.abs(at_ones - y)) < 1e-15


def test_load_data_refuses_a_changed_file(tmp_path):
    raw = bytearray(data.DATA_PATH.read_bytes())
    raw[-20] ^= 1
    changed = tmp_path / "data.pkl"
    changed.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="sha256"):
        data.load_data(changed)


def test_provenance_states_the_checked_hash():
    assert data.DATA_SHA256 in (data.DATA_PATH.parent / "PROVENANCE.md").read_text()


def test_sigmoid_published_and_stable():
    assert ref.sigmoid(2) == published.SIGMOID_AT_2
    with np.errstate(over="raise"):
        assert ref.sigmoid(-1000.0) == 0.0 and ref.sigmoid(1000.0) == 1.0


def test_forward_reproduces_the_published_values_exactly(xy):
    X, y = xy
    result = ref.forward_propagation(X[0], y[0], np.full(9, published.FORWARD_WEIGHT))
    assert {k: result[k] for k in published.FORWARD} == published.FORWARD


def test_backward_reproduces_the_published_gradients(xy):
    X, y = xy
    w = np.full(9, published.FORWARD_WEIGHT)
    grads = ref.backward_propagation(X[0], y[0], w, ref.forward_propagation(X[0], y[0], w))
    assert {k: round(grads[k], published.BACKWARD_DECIMALS) for k in published.BACKWARD} == published.BACKWARD


@pytest.mark.parametrize("row", [0, 3, 77, 505])
def test_backward_agrees_with_central_differences(xy, row):
    X, y = xy
    w = np.random.default_rng(row).normal(0, 0.5, 9)
    analytic = ref.gradient_vector(
        ref.backward_propagation(X[row], y[row], w, ref.forward_propagation(X[row], y[row], w))
    )
    numeric = ref.numerical_gradient(X[row], y[row], w, 1e-6)
    assert np.allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_gradient_check_is_small_at_the_published_point_and_large_for_a_wrong_backward(xy):
    X, y = xy
    assert ref.gradient_checking(X[0], y[0], published.GRADCHECK_W, published.GRADCHECK_EPS) < published.GRADCHECK_BOUND

    def wrong(x, y_, w, fd):
        return {**ref.backward_propagation(x, y_, w, fd), "dw7": 0.0}

    assert ref.gradient_checking(X[0], y[0], published.GRADCHECK_W, 1e-7, backward=wrong) > 1e-3


def test_adam_first_steps_move_each_weight_by_the_learning_rate():
    dw = np.array([1e-3, -2.0, 5.0, 0.1, -0.3, 7.0, 1e-2, -4.0, 0.5])
    w, config = np.zeros(9), {}
    for _ in range(3):  # constant gradient: bias-corrected m̂ = dw and v̂ = dw² at every step
        w_next, config = ref.adam_update(w, dw, config)
        assert np.allclose(w - w_next, ref.ADAM_DEFAULTS["learning_rate"] * np.sign(dw), rtol=1e-4)
        w = w_next


def test_training_at_default_settings_orders_the_optimizers(xy):
    X, y = xy
    finals = {name: ref.train(X, y, rule)[-1] for name, rule in ref.UPDATE_RULES.items()}
    assert finals["adam"] < finals["momentum"] < finals["vanilla"] < 0.01


def test_the_visible_checks_values_beyond_the_published_ones_are_the_references(xy):
    X, y = xy
    w = np.full(9, published.FORWARD_WEIGHT)
    shifted = ref.forward_propagation(X[0], y[0], w + np.array(published.FORWARD_SHIFT))
    assert {k: shifted[k] for k in published.FORWARD_SHIFTED} == published.FORWARD_SHIFTED
    grads = ref.backward_propagation(X[0], y[0], w, shifted)
    assert {k: round(grads[k], published.BACKWARD_DECIMALS) for k in grads} == published.BACKWARD_SHIFTED
    small = published.TRAIN_SMALL
    losses = ref.train(X[: small["rows"]], y[: small["rows"]], ref.vanilla_update, {}, small["epochs"], small["seed"])
    assert losses.tolist() == small["losses"]
