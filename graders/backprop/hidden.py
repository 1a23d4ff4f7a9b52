"""Hidden checks of the backprop lab, called from the notebook's graded test cells during autograde.

Each check has the name of the function it grades and the same call as the notebook's visible check,
so a test cell reads `checks.sigmoid(sigmoid)` in both. A check raises AssertionError with a message
that names the value, what was expected, what came back and a hint. Every function is graded with
reference versions of what it calls (`substituted`), so one bug costs points in one cell only.
"""
import functools
import warnings
from collections.abc import Mapping

import numpy as np

from graders.checking import (HARD_CODED, as_float, call_quietly, expect, expect_close, quiet, require_function,
                              substituted)
from graders.data import load_data
from graders.backprop import published, reference as ref

PUBLISHED_W = np.full(9, published.FORWARD_WEIGHT)
WEIGHT_NAMES = [f"w{i}" for i in range(1, 10)]
ROWS = (0, 1, 17, 250, 505)
DEFAULTS_ROWS = 100
TRAIN_ROWS, TRAIN_LEARNING_RATE, TRAIN_EPOCHS, TRAIN_SEED = 40, 0.02, 3, 5
FORWARD_HINTS = {
    "exp": "part 1 is exp((w1·f1 + w2·f2)² + w6)",
    "tanh": "part 2 is tanh(exp + w7)",
    "sigmoid": "part 3 is sigmoid(sin(w3·f3)·(w4·f4 + w5·f5) + w8)",
    "loss": "loss is (y − y')² with y' = tanh + w9·sigmoid",
    "dy_pred": "dy_pred is dL/dy' = −2·(y − y')",
}
GRADIENT_HINTS = {
    "dw1": "dL/dw1 = dy_pred·(1 − tanh²)·exp·2(w1·f1 + w2·f2)·f1",
    "dw2": "dL/dw2 = dy_pred·(1 − tanh²)·exp·2(w1·f1 + w2·f2)·f2",
    "dw3": "dL/dw3 = dy_pred·w9·σ(1 − σ)·(w4·f4 + w5·f5)·cos(w3·f3)·f3",
    "dw4": "dL/dw4 = dy_pred·w9·σ(1 − σ)·sin(w3·f3)·f4",
    "dw5": "dL/dw5 = dy_pred·w9·σ(1 − σ)·sin(w3·f3)·f5",
    "dw6": "dL/dw6 = dy_pred·(1 − tanh²)·exp",
    "dw7": "dL/dw7 = dy_pred·(1 − tanh²)",
    "dw8": "dL/dw8 = dy_pred·w9·σ(1 − σ)",
    "dw9": "dL/dw9 = dy_pred·σ",
}
REFERENCE_NAMES = {"sigmoid": ref.sigmoid, "forward_propagation": ref.forward_propagation,
                   "backward_propagation": ref.backward_propagation}


@functools.cache
def _data():
    """X, y loaded once per process, read-only: student code handed them cannot change later checks' data."""
    X, y = load_data()
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _cases():
    """(label, x, y, w): the published point, then other rows with random weights."""
    X, y = _data()
    yield "the published point", X[0], y[0], PUBLISHED_W
    rng = np.random.default_rng(2024)
    for row in ROWS:
        w = rng.normal(0.0, 0.5, 9)
        yield f"row {row} with w = {np.array2string(w, precision=3)}", X[row], y[row], w


def _not_hard_coded(name, label, values, published_values, decimals=None):
    """Fail, marked for review, when an answer at another input is still exactly the published one."""
    rounded = {k: round(float(v), decimals) if decimals else float(v) for k, v in values.items()}
    if label != "the published point" and all(rounded.get(k) == v for k, v in published_values.items()):
        raise AssertionError(f"{HARD_CODED} {name} returns the published values at {label} too")


def _isolated(fn, name):
    """Rebind the helpers fn calls (sigmoid, forward and backward propagation) to the reference versions."""
    return substituted(fn, **{k: v for k, v in REFERENCE_NAMES.items() if k != name})


def sigmoid(fn):
    """sigmoid: published value, arrays keep their shape, no overflow warning at ±1000."""
    require_function(fn, "sigmoid")
    expect_close("sigmoid(2)", call_quietly(fn, 2), published.SIGMOID_AT_2, rtol=1e-12,
                 hint="sigmoid(z) = 1 / (1 + e^(−z))")
    expect(np.ndim(call_quietly(fn, 0.5)) == 0, "sigmoid(0.5): a scalar in must give a scalar out")
    grid = np.linspace(-30.0, 30.0, 24).reshape(4, 6)
    expect_close("sigmoid(4×6 array)", call_quietly(fn, grid), ref.sigmoid(grid), rtol=1e-12,
                 hint="apply the function elementwise and keep the input's shape")
    extreme = np.array([-1000.0, -745.0, -0.0, 745.0, 1000.0])
    for z in (extreme, -1000.0, 1000.0):
        with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
            warnings.simplefilter("always")
            try:
                got = fn(z)
            except (OverflowError, FloatingPointError) as exc:
                raise AssertionError(f"sigmoid({z}) raised {type(exc).__name__}: {exc}\n  hint: take exp "
                                     "only of non-positive numbers: e^(−|z|)") from None
        expect(not caught, f"sigmoid({z}) warned: {caught[0].message if caught else ''}\n  hint: for z < 0 "
               "use e^z / (1 + e^z), so exp never sees a large positive number")
        expect_close(f"sigmoid({z})", got, ref.sigmoid(z), rtol=1e-12)


def _forward_values(fn, x, y, w, label):
    with _isolated(fn, "forward_propagation"):
        w_before = np.array(w, dtype=np.float64)
        result = call_quietly(fn, x, y, w)
    expect(np.array_equal(np.asarray(w, dtype=np.float64), w_before),
           f"forward_propagation changed w at {label}; it must leave its inputs as they were")
    expect(isinstance(result, Mapping), f"forward_propagation must return a dict, got {type(result).__name__}")
    missing = [k for k in ref.FORWARD_KEYS if k not in result]
    expect(not missing, f"forward_propagation's dict lacks the keys {missing} (extra keys are fine)")
    return result


def forward_propagation(fn):
    """forward_propagation: published values, then other rows and random weights against the reference."""
    require_function(fn, "forward_propagation")

    def check(label, x, y, w):
        result = _forward_values(fn, x, y, w, label)
        expected = ref.forward_propagation(x, y, w)
        rtol = 1e-12 if label == "the published point" else 1e-10
        _not_hard_coded("forward_propagation", label, {k: result[k] for k in published.FORWARD}, published.FORWARD)
        for key in ref.FORWARD_KEYS:
            value = as_float(f"forward_propagation['{key}'] at {label}", result[key])
            expect_close(f"forward_propagation['{key}'] at {label}", value, expected[key],
                         hint=FORWARD_HINTS[key], rtol=rtol)

    for case in _cases():  # the published point first, then the others
        check(*case)


def _forward_dict_for_backward(fn, x, y, w):
    """The reference forward values, plus whatever extra keys the student's own forward adds."""
    expected = ref.forward_propagation(x, y, w)
    own_forward = fn.__globals__.get("forward_propagation")
    own = {}
    if callable(own_forward):
        try:
            with quiet(), substituted(own_forward, sigmoid=ref.sigmoid):
                own = dict(own_forward(x, y, np.array(w, dtype=np.float64)))
        except Exception:   # its bugs are graded in its own cell
            own = {}
    return {**expected, **own, **{k: expected[k] for k in ref.FORWARD_KEYS}}


def _gradients(fn, x, y, w, label):
    forward_dict = _forward_dict_for_backward(fn, x, y, w)
    w_before = np.array(w, dtype=np.float64)
    with _isolated(fn, "backward_propagation"):
        result = call_quietly(fn, x, y, w, forward_dict)
    expect(np.array_equal(np.asarray(w, dtype=np.float64), w_before),
           f"backward_propagation changed w at {label}; it must leave its inputs as they were")
    expect(isinstance(result, Mapping), f"backward_propagation must return a dict, got {type(result).__name__}")
    missing = [k for k in ref.GRADIENT_KEYS if k not in result]
    expect(not missing, f"backward_propagation's dict lacks the keys {missing}")
    return {k: as_float(f"backward_propagation['{k}'] at {label}", result[k]) for k in ref.GRADIENT_KEYS}


def backward_propagation(fn):
    """backward_propagation, fed reference forward values: published gradients, then the reference elsewhere."""
    require_function(fn, "backward_propagation")
    tolerance = 0.5 * 10.0 ** -published.BACKWARD_DECIMALS

    def check(label, x, y, w):
        got = _gradients(fn, x, y, w, label)
        _not_hard_coded("backward_propagation", label, got, published.BACKWARD, published.BACKWARD_DECIMALS)
        expected = ref.backward_propagation(x, y, w, ref.forward_propagation(x, y, w))
        for key in ref.GRADIENT_KEYS:
            if label == "the published point":
                expect_close(f"backward_propagation['{key}'] at {label} (published to 6 dp)", got[key],
                             published.BACKWARD[key], rtol=0.0, atol=tolerance + 1e-12, hint=GRADIENT_HINTS[key])
            expect_close(f"backward_propagation['{key}'] at {label}", got[key], expected[key],
                         hint=GRADIENT_HINTS[key])

    for case in _cases():  # the published point first, then the others
        check(*case)


def _wrong_backward(x, y, w, forward_dict):
    """A backward pass with two classic slips (sign of dw3, factor 2 missing in dw1)."""
    grads = ref.backward_propagation(x, y, w, forward_dict)
    return {**grads, "dw3": -grads["dw3"], "dw1": grads["dw1"] / 2.0}


def gradient_checking(fn):
    """gradient_checking: one non-negative number, small for a right backward, large for a wrong one; w kept."""
    require_function(fn, "gradient_checking")
    X, y = _data()
    w_list = list(published.GRADCHECK_W)
    with _isolated(fn, "gradient_checking"):
        value = as_float("gradient_checking at the published point", call_quietly(fn, X[0], y[0], w_list,
                                                                             published.GRADCHECK_EPS))
    expect(w_list == published.GRADCHECK_W,
           "gradient_checking changed the w it was given (a list here); work on a copy, e.g. np.array(w, dtype=float)")
    expect(value >= 0.0, f"gradient_checking returned {value}; a ratio of norms is never negative")
    expect(value < published.GRADCHECK_BOUND,
           f"gradient_checking with a correct backward returned {value:.3e}, not < {published.GRADCHECK_BOUND:g}"
           "\n  hint: central differences (L(w + eps·e_i) − L(w − eps·e_i)) / (2·eps), one weight at a time")

    rng = np.random.default_rng(7)
    for row in (3, 200):
        w = rng.normal(0.0, 0.3, 9)
        w_before = w.copy()
        label = f"row {row}, eps = 1e-3"
        with _isolated(fn, "gradient_checking"):
            got = as_float(f"gradient_checking at {label}", call_quietly(fn, X[row], y[row], w, 1e-3))
        expect(np.array_equal(w, w_before), f"gradient_checking changed w at {label}; work on a copy")
        expect_close(f"gradient_checking at {label}", got, ref.gradient_checking(X[row], y[row], w, 1e-3),
                     rtol=1e-4, hint="use the x, y and eps you are given and central differences")

        with _isolated(fn, "gradient_checking"), substituted(fn, backward_propagation=_wrong_backward):
            wrong = as_float(f"gradient_checking with a wrong backward at row {row}",
                             call_quietly(fn, X[row], y[row], w, 1e-7))
        expected_wrong = ref.gradient_checking(X[row], y[row], w, 1e-7, backward=_wrong_backward)
        expect(wrong > 1e-3, f"gradient_checking handed a wrong backward_propagation at row {row} returned "
               f"{wrong:.3e}; it must compare against backward_propagation's gradients and report ~{expected_wrong:.2e}")
        expect_close(f"gradient_checking with a wrong backward at row {row}", wrong, expected_wrong, rtol=1e-6,
                     hint="‖dW − dW_approx‖₂ / (‖dW‖₂ + ‖dW_approx‖₂) over all nine weights")


# --- update rules ---------------------------------------------------------------------------------

def _shared_state_momentum(w, dw, config):
    """Seed bug: one velocity number carried from weight to weight."""
    cfg = {**ref.MOMENTUM_DEFAULTS, **config}
    velocity, new_w = cfg.get("velocity", 0.0), np.array(w, dtype=np.float64)
    for j in range(new_w.size):
        velocity = cfg["momentum"] * velocity - cfg["learning_rate"] * dw[j]
        new_w[j] += velocity
    cfg["velocity"] = velocity
    return new_w, cfg


def _shared_state_adam(w, dw, config):
    """Seed bug: one m and one v carried from weight to weight."""
    cfg = {**ref.ADAM_DEFAULTS, **config}
    t = cfg.get("t", 0) + 1
    m, v, new_w = cfg.get("m", 0.0), cfg.get("v", 0.0), np.array(w, dtype=np.float64)
    for j in range(new_w.size):
        m = cfg["beta1"] * m + (1 - cfg["beta1"]) * dw[j]
        v = cfg["beta2"] * v + (1 - cfg["beta2"]) * dw[j] ** 2
        new_w[j] -= cfg["learning_rate"] * (m / (1 - cfg["beta1"] ** t)) / (np.sqrt(v / (1 - cfg["beta2"] ** t)) + cfg["epsilon"])
    cfg.update(t=t, m=m, v=v)
    return new_w, cfg


def _adam_variant(correct_m, correct_v, frozen_t=False, eps_inside=False):
    def update(w, dw, config):
        cfg = {**ref.ADAM_DEFAULTS, **config}
        t = 1 if frozen_t else cfg.get("t", 0) + 1
        m = cfg["beta1"] * cfg.get("m", 0.0) + (1 - cfg["beta1"]) * dw
        v = cfg["beta2"] * cfg.get("v", 0.0) + (1 - cfg["beta2"]) * dw * dw
        m_hat = m / (1 - cfg["beta1"] ** t) if correct_m else m
        v_hat = v / (1 - cfg["beta2"] ** t) if correct_v else v
        step = m_hat / np.sqrt(v_hat + cfg["epsilon"]) if eps_inside else m_hat / (np.sqrt(v_hat) + cfg["epsilon"])
        cfg.update(t=t, m=m, v=v)
        return w - cfg["learning_rate"] * step, cfg
    return update


KNOWN_BUGS = {
    "momentum_update": [
        (_shared_state_momentum, "one velocity is shared by all nine weights; keep one per weight (an array like w)"),
    ],
    "adam_update": [
        (_shared_state_adam, "one m and one v are shared by all nine weights; keep them per weight (arrays like w)"),
        (_adam_variant(False, False), "no bias correction: divide m by (1 − β1^t) and v by (1 − β2^t)"),
        (_adam_variant(True, True, frozen_t=True), "bias correction must use the number of updates so far "
                                                    "(t = 1, 2, 3, … kept in config), not a fixed number or the epoch"),
        (_adam_variant(True, True, eps_inside=True), "epsilon goes outside the square root: m̂ / (√v̂ + ε)"),
    ],
}


def _steps(fn, name, rule, w0, gradients, config):
    """Apply rule for each gradient, carrying config; returns the weights after each step."""
    w, cfg, trajectory = np.array(w0), dict(config), []
    for dw in gradients:
        w_in, dw_in = w.copy(), dw.copy()
        result = call_quietly(rule, w, dw, cfg) if rule is fn else rule(w, dw, cfg)
        expect(isinstance(result, tuple) and len(result) == 2,
               f"{name} must return (next_w, config), got {type(result).__name__}")
        w_next, cfg = result
        if rule is fn:
            expect(np.array_equal(w, w_in) and np.array_equal(dw, dw_in),
                   f"{name} changed its w or dw argument in place; return a new array instead")
            expect(isinstance(cfg, Mapping), f"{name} must return its state as a dict, got {type(cfg).__name__}")
        w = np.asarray(w_next, dtype=np.float64)
        trajectory.append(w)
    return trajectory


def _diagnose(fn, name, got, w0, gradients, config):
    """The message of the known bug whose model reproduces the student's weights, or ''."""
    for model, message in KNOWN_BUGS.get(name, []):
        modelled = _steps(fn, name, model, w0, gradients, config)
        if all(np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-9, atol=1e-15)
               for a, b in zip(got, modelled)):
            return message
    return ""


def _check_rule(fn, name, reference_rule, configs, hint):
    require_function(fn, name)
    rng = np.random.default_rng(99)
    w0 = rng.normal(0.0, 0.1, 9)
    # Gradients of different sizes and signs per weight and per step, none zero.
    gradients = [rng.normal(0.0, 1.0, 9) * np.logspace(-2, 1, 9) + 0.01 for _ in range(6)]
    for config in configs:
        got = _steps(fn, name, fn, w0, gradients, config)
        expected = _steps(fn, name, reference_rule, w0, gradients, config)
        shown = {k: v for k, v in config.items()} or "defaults"
        expect(np.shape(got[0]) == (9,), f"{name} must return nine weights, got shape {np.shape(got[0])}")
        frozen = [f"w{i + 1}" for i in range(9) if got[0][i] == w0[i]]
        expect(not frozen, f"{name} (config {shown}) did not update {', '.join(frozen)} although "
               "their gradients are not zero; every weight must be updated")
        for step, (g, e) in enumerate(zip(got, expected), start=1):
            if g.shape != e.shape or not np.allclose(g, e, rtol=1e-10, atol=1e-15):
                diagnosis = _diagnose(fn, name, got, w0, gradients, config)
                expect(not diagnosis, f"{name}: {diagnosis}")
                expect_close(f"{name}: weights after step {step} of {len(got)}, state carried in config "
                             f"(config {shown})", g, e, hint=hint, labels=WEIGHT_NAMES)


def vanilla_update(fn):
    """vanilla_update: w − learning_rate·dw, for the default and a given learning rate."""
    _check_rule(fn, "vanilla_update", ref.vanilla_update, [{}, {"learning_rate": 0.05}],
                hint=f"w ← w − learning_rate·dw with learning_rate {ref.VANILLA_DEFAULTS['learning_rate']} by default")


def momentum_update(fn):
    """momentum_update: one step, then several with the velocity carried in config, per weight."""
    _check_rule(fn, "momentum_update", ref.momentum_update, [{}, {"learning_rate": 0.05, "momentum": 0.5}],
                hint="velocity ← momentum·velocity − learning_rate·dw; w ← w + velocity, velocity starting at 0")


def adam_update(fn):
    """adam_update: one step, then several with m, v and t carried in config, bias-corrected by step count."""
    _check_rule(fn, "adam_update", ref.adam_update, [{}, {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}],
                hint="t ← t + 1; m ← β1·m + (1 − β1)·dw; v ← β2·v + (1 − β2)·dw²; "
                     "w ← w − lr·(m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)")


@functools.cache
def _reference_curve(rows, rule, learning_rate=None, epochs=ref.EPOCHS, seed=ref.SEED):
    """The reference loss curve on the first `rows` rows; the same for every student, so computed once."""
    X, y = _data()
    config = {} if learning_rate is None else {"learning_rate": learning_rate}
    return ref.train(X[:rows], y[:rows], ref.UPDATE_RULES[rule], config, epochs, seed)


def warm():
    """Compute what every submission's checks share, e.g. in a grading server before it forks."""
    _data()
    _reference_curve(TRAIN_ROWS, "momentum", TRAIN_LEARNING_RATE, TRAIN_EPOCHS, TRAIN_SEED)
    for rule in ("vanilla", "adam"):
        _reference_curve(DEFAULTS_ROWS, rule)


def train(fn):
    """train, with reference graph and update rules: the reference loss curves, decreasing, Adam below vanilla."""
    require_function(fn, "train")
    X, y = _data()
    with substituted(fn, forward_propagation=ref.forward_propagation,
                     backward_propagation=ref.backward_propagation, sigmoid=ref.sigmoid):
        config = {"learning_rate": TRAIN_LEARNING_RATE}
        losses = call_quietly(fn, X[:TRAIN_ROWS], y[:TRAIN_ROWS], ref.momentum_update, config, TRAIN_EPOCHS, TRAIN_SEED)
        expect(config == {"learning_rate": TRAIN_LEARNING_RATE}, "train changed the config dict it was given; copy it first")
        expect_close(f"train(X[:{TRAIN_ROWS}], y[:{TRAIN_ROWS}], momentum_update, {config}, epochs={TRAIN_EPOCHS}, "
                     f"seed={TRAIN_SEED})", losses,
                     _reference_curve(TRAIN_ROWS, "momentum", TRAIN_LEARNING_RATE, TRAIN_EPOCHS, TRAIN_SEED),
                     hint="w = np.random.default_rng(seed).normal(0, 0.01, 9); for each epoch, for each row in "
                          "order: forward, backward, one update; the epoch's loss is the mean of the per-row losses "
                          "computed before each update")
        # The default settings (epochs, seed, no config) on the first 100 rows: exact against the reference at a
        # tenth of the full run's cost; Adam already ends ~10x below vanilla there, as on the full data.
        final = {}
        for name in ("vanilla", "adam"):
            rule = ref.UPDATE_RULES[name]
            curve = np.asarray(call_quietly(fn, X[:DEFAULTS_ROWS], y[:DEFAULTS_ROWS], rule), dtype=np.float64)
            expect_close(f"train(X[:{DEFAULTS_ROWS}], y[:{DEFAULTS_ROWS}], {name}_update) at the default settings",
                         curve, _reference_curve(DEFAULTS_ROWS, name),
                         hint=f"defaults: epochs={ref.EPOCHS}, seed={ref.SEED}, config={{}}")
            expect(curve[-1] < curve[0], f"train with {name}: the loss did not go down ({curve[0]:.3g} → {curve[-1]:.3g})")
            final[name] = curve[-1]
        expect(final["adam"] < final["vanilla"], f"at the default settings Adam should end below vanilla: {final}")
