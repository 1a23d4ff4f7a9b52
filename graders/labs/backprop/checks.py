"""Hidden checks of the backprop lab, judged outside the student's process (see graders/judging.py).

Each check has the name of the function it grades and takes (student, rng): it calls the notebook's function on
inputs drawn from rng, and compares the plain values that come back with graders/labs/backprop/reference.py here.
Every function is graded with the grader's own versions of what it calls (`answers=`), so one bug costs points
once, and the notebook never holds the reference or an expected value.
"""

import functools

import numpy as np

from graders.labs.backprop import published, reference as ref
from graders.labs.backprop.data import load_data
from graders.judging import (
    HARD_CODED,
    Fail,
    ProtocolError,
    Refused,
    answer_array,
    answer_number,
    as_float,
    describe_error,
    expect,
    expect_close,
    numeric,
    part,
    parts,
    require_own,
    same,
)
from graders.sandbox.codec import Answer

GRADED = (
    "sigmoid",
    "forward_propagation",
    "backward_propagation",
    "gradient_checking",
    "vanilla_update",
    "momentum_update",
    "adam_update",
    "train",
)
PUBLISHED_W = np.full(9, published.FORWARD_WEIGHT)
WEIGHT_NAMES = [f"w{i}" for i in range(1, 10)]
RANDOM_ROWS = 5
TRAIN_ROWS, TRAIN_LEARNING_RATE, TRAIN_EPOCHS = 20, 0.02, 3  # every call of the graph is answered by the grader:
NO_CONFIG_ROWS, NO_CONFIG_EPOCHS = 5, 2  # ~200 calls, ~0.06 s in the sandbox
# Every hint a student reads, hidden or visible: the notebook's visible checks hold a copy of this dict, written
# by `python -m graders embed` (tests/test_notebooks.py fails when it is stale).
HINTS = {
    "sigmoid formula": "sigmoid(z) = 1 / (1 + e^(−z))",
    "sigmoid elementwise": "work elementwise on arrays and keep their shape; a number in, a number out",
    "sigmoid overflow": "take exp only of non-positive numbers: 1 / (1 + e^(−z)) for z ≥ 0, e^z / (1 + e^z) for z < 0",
    "sigmoid both branches": "exp overflowed for z = +1000 too: np.where(condition, a, b) computes a and b for every "
    "z, so the branch meant for z < 0 still sees e^1000; compute e = np.exp(-np.abs(z)) once "
    "and build both branches from it",
    "forward uses sigmoid": "part 3 goes through your sigmoid: sigmoid(sin(w3·f3)·(w4·f4 + w5·f5) + w8)",
    "forward": {
        "exp": "part 1 is exp((w1·f1 + w2·f2)² + w6)",
        "tanh": "part 2 is tanh(exp + w7)",
        "sigmoid": "part 3 is sigmoid(sin(w3·f3)·(w4·f4 + w5·f5) + w8)",
        "loss": "loss is (y − y')² with y' = tanh + w9·sigmoid",
        "dy_pred": "dy_pred is dL/dy' = −2·(y − y')",
    },
    "unchanged": "leave the arguments as they were: work on a copy",
    "backward": {
        "dw1": "dL/dw1 = dy_pred·(1 − tanh²)·exp·2(w1·f1 + w2·f2)·f1",
        "dw2": "dL/dw2 = dy_pred·(1 − tanh²)·exp·2(w1·f1 + w2·f2)·f2",
        "dw3": "dL/dw3 = dy_pred·w9·σ(1 − σ)·(w4·f4 + w5·f5)·cos(w3·f3)·f3",
        "dw4": "dL/dw4 = dy_pred·w9·σ(1 − σ)·sin(w3·f3)·f4",
        "dw5": "dL/dw5 = dy_pred·w9·σ(1 − σ)·sin(w3·f3)·f5",
        "dw6": "dL/dw6 = dy_pred·(1 − tanh²)·exp",
        "dw7": "dL/dw7 = dy_pred·(1 − tanh²)",
        "dw8": "dL/dw8 = dy_pred·w9·σ(1 − σ)",
        "dw9": "dL/dw9 = dy_pred·σ",
    },
    "backward reads forward_dict": "use the values in forward_dict (exp, tanh, sigmoid, dy_pred) instead of "
    "recomputing them from x and w",
    "gradient checking ratio": "‖dW − dW_approx‖₂ / (‖dW‖₂ + ‖dW_approx‖₂) over all nine weights: one number",
    "gradient checking copy": "work on a copy, e.g. np.array(w, dtype=float): w may be a list or an array",
    "gradient checking differences": "central differences (L(w + eps·e_i) − L(w − eps·e_i)) / (2·eps), one weight "
    "at a time, with the x, y and eps you are given",
    "gradient checking backward": "compare against the gradients of backward_propagation (called by that name), not "
    "a copy of them",
    "every weight": "every weight must be updated: loop over all nine, or better, work on whole arrays",
    "in place": "return a new array (w - step), do not change w or dw in place (w -= step)",
    "vanilla": "w ← w − learning_rate·dw, with learning_rate 0.01 by default",
    "momentum": "velocity ← momentum·velocity − learning_rate·dw; w ← w + velocity; the velocity starts at 0 and is "
    "kept in config",
    "momentum per weight": "one velocity is shared by all nine weights; keep one per weight (an array like w)",
    "momentum rate inside": "the learning rate belongs inside the velocity: velocity ← momentum·velocity − "
    "learning_rate·dw, then w ← w + velocity (not w ← w − learning_rate·velocity)",
    "momentum carry": "the velocity must carry over from the previous call: read it from config (0 when absent) and "
    "store the new one back in config",
    "adam": "t ← t + 1; m ← β1·m + (1 − β1)·dw; v ← β2·v + (1 − β2)·dw²; w ← w − lr·(m / (1 − β1^t)) / "
    "(√(v / (1 − β2^t)) + ε)",
    "adam per weight": "one m and one v are shared by all nine weights; keep them per weight (arrays like w)",
    "adam bias correction": "no bias correction: divide m by (1 − β1^t) and v by (1 − β2^t)",
    "adam step count": "bias correction must use the number of updates so far (t = 1, 2, 3, … kept in config), not "
    "a fixed number or the epoch",
    "adam epsilon": "epsilon goes outside the square root: m̂ / (√v̂ + ε)",
    "train": "w = np.random.default_rng(seed).normal(0, 0.01, 9) (not np.random.seed); for each epoch, for each row "
    "in order: forward, backward, one update; the epoch's loss is the mean of the per-row losses computed "
    "before each update",
    "train copy": "start from a copy: config = dict(config or {}) (an update rule may store its state in the dict "
    "it is handed)",
    "train array": "return the epoch losses as a numpy array: np.array(epoch_losses)",
    "train no config": "config=None means an empty config: the update rule's defaults",
    "train keeps state": "keep the config the rule returns, it carries the rule's state to the next step: "
    "w, config = update_rule(w, dw, config)",
}
# The grader's answers to the notebook's calls take only what the lab passes: a student's code chooses the arguments.
HYPER_PARAMETERS = ("learning_rate", "momentum", "beta1", "beta2", "epsilon")


def _answer_sigmoid(z):
    return ref.sigmoid(answer_number(z, "z") if np.ndim(z) == 0 else answer_array(z, "z"))


def _answer_forward(x, y, w):
    return ref.forward_propagation(answer_array(x, "x", (5,)), answer_number(y, "y"), answer_array(w, "w", (9,)))


def _answer_backward(x, y, w, forward_dict):
    if type(forward_dict) is not dict:
        raise Refused(f"forward_dict must be a dict, not {type(forward_dict).__name__}")
    return ref.backward_propagation(
        answer_array(x, "x", (5,)),
        answer_number(y, "y"),
        answer_array(w, "w", (9,)),
        {k: answer_number(forward_dict.get(k), f"forward_dict['{k}']") for k in ref.FORWARD_KEYS},
    )


def _answer_update(rule):
    """rule answered for the notebook: w and dw nine numbers, the config's numbers checked, its other keys kept."""

    def answered(w, dw, config):
        if type(config) is not dict:
            raise Refused(f"config must be a dict, not {type(config).__name__}")
        checked = dict(config)
        for key in HYPER_PARAMETERS:
            if key in checked:
                checked[key] = answer_number(checked[key], f"config['{key}']")
        for key in ("velocity", "m", "v"):
            if key in checked:
                value = checked[key]
                checked[key] = answer_number(value, key) if np.ndim(value) == 0 else answer_array(value, key, (9,))
        if "t" in checked:
            checked["t"] = int(answer_number(checked["t"], "config['t']", limit=1e7))
        return rule(answer_array(w, "w", (9,)), answer_array(dw, "dw", (9,)), checked)

    return answered


REFERENCE = {
    "sigmoid": _answer_sigmoid,
    "forward_propagation": _answer_forward,
    "backward_propagation": _answer_backward,
}


def _answers(*names):
    return {name: REFERENCE[name] for name in names}


@functools.cache
def _data():
    """X, y loaded once per process, read-only."""
    X, y = load_data()
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _cases(rng):
    """(label, x, y, w): the published point, then rows and weights drawn from rng."""
    X, y = _data()
    yield "the published point", X[0], y[0], PUBLISHED_W
    for row in rng.choice(len(y), RANDOM_ROWS, replace=False):
        w = rng.normal(0.0, 0.5, 9)
        yield f"row {row} with w = {np.array2string(w, precision=3)}", X[row], y[row], w


def _not_hard_coded(name, label, values, published_values, decimals=None):
    """Fail, marked for review, when an answer at another input is still exactly the published one."""

    def rounded(value):
        number = numeric(value)
        if number is None or number.shape != ():
            return None
        return round(float(number), decimals) if decimals else float(number)

    if label != "the published point" and all(rounded(values.get(k)) == v for k, v in published_values.items()):
        raise Fail(f"{name} returns the published values at {label} too", HARD_CODED)


def _unchanged(outcome, index, original, name, label):
    expect(
        np.array_equal(numeric(outcome.args[index]), original, equal_nan=True),
        f"{name} changed w at {label}\n  hint: {HINTS['unchanged']}",
    )


def sigmoid(student, rng):
    """sigmoid: published value, arrays keep their shape, no overflow warning at ±1000."""
    got = student.call("sigmoid", 2).returned("sigmoid(2)")
    expect_close("sigmoid(2)", got, published.SIGMOID_AT_2, rtol=1e-12, hint=HINTS["sigmoid formula"])
    half = numeric(student.call("sigmoid", 0.5).returned("sigmoid(0.5)"))
    expect(
        half is not None and half.ndim == 0,
        f"sigmoid(0.5) gave shape {np.shape(half)}, not a number\n  hint: {HINTS['sigmoid elementwise']}",
    )
    grid = rng.uniform(-30.0, 30.0, (4, 6))
    expect_close(
        "sigmoid(4×6 array)",
        student.call("sigmoid", grid).returned("sigmoid(4×6 array)"),
        ref.sigmoid(grid),
        rtol=1e-12,
        hint=HINTS["sigmoid elementwise"],
    )
    extremes = {
        "-1000": -1000.0,
        "1000": 1000.0,
        "an array from -1000 to 1000": np.array([-1000.0, -745.0, -0.0, 745.0, 1000.0]),
    }
    outcomes = {label: student.call("sigmoid", z) for label, z in extremes.items()}
    # exp overflowing for z = +1000 means a branch meant for z < 0 was computed there too (np.where computes both)
    hint = HINTS["sigmoid both branches"] if outcomes["1000"].warnings else HINTS["sigmoid overflow"]
    for label, outcome in outcomes.items():
        if outcome.error and outcome.error["type"] in ("OverflowError", "FloatingPointError"):
            raise Fail(describe_error(f"sigmoid({label})", outcome.error, HINTS["sigmoid overflow"]))
        got = outcome.returned(f"sigmoid({label})")
        expect(not outcome.warnings, f"sigmoid({label}) warned: {outcome.warnings[:1]}\n  hint: {hint}")
        expect_close(f"sigmoid({label})", got, ref.sigmoid(extremes[label]), rtol=1e-12, hint=hint)


def _counted(log, function):
    def answered(*args):
        log.append(args)
        return function(*args)

    return answered


def _forward(student, x, y, w, label, calls):
    outcome = student.call("forward_propagation", x, y, w, answers={"sigmoid": _counted(calls, _answer_sigmoid)})
    result = outcome.returned(f"forward_propagation at {label}")
    _unchanged(outcome, 2, w, "forward_propagation", label)
    expect(type(result) is dict, f"forward_propagation must return a dict, got {type(result).__name__}")
    missing = [k for k in ref.FORWARD_KEYS if k not in result]
    expect(not missing, f"forward_propagation's dict lacks the keys {missing} (extra keys are fine)")
    return result


def forward_propagation(student, rng):
    """forward_propagation: published values, then other rows and random weights against the reference."""
    uncalled = []
    for label, x, y, w in _cases(rng):
        calls = []
        result = _forward(student, x, y, w, label, calls)
        expected = ref.forward_propagation(x, y, w)
        _not_hard_coded("forward_propagation", label, result, published.FORWARD)
        rtol = 1e-12 if label == "the published point" else 1e-10
        for key in ref.FORWARD_KEYS:
            value = as_float(f"forward_propagation['{key}'] at {label}", result[key])
            expect_close(
                f"forward_propagation['{key}'] at {label}", value, expected[key], hint=HINTS["forward"][key], rtol=rtol
            )
        uncalled += [] if calls else [label]
    expect(
        not uncalled,
        f"forward_propagation at {uncalled[0] if uncalled else ''} did not call sigmoid\n  hint: "
        f"{HINTS['forward uses sigmoid']}",
    )


def _forward_dict_for_backward(student, x, y, w):
    """The reference forward values, plus whatever extra keys the student's own forward adds."""
    expected = ref.forward_propagation(x, y, w)
    own = student.call("forward_propagation", x, y, w, answers=_answers("sigmoid"))
    extra = own.value if own.error is None and type(own.value) is dict else {}
    return {**expected, **extra, **{k: expected[k] for k in ref.FORWARD_KEYS}}


# Independent paths of the graph, one point each: a slip on one path costs that path only.
PATHS = {
    "the tanh path (dw1, dw2, dw6, dw7)": ("dw1", "dw2", "dw6", "dw7"),
    "the sigmoid path (dw3, dw4, dw5, dw8)": ("dw3", "dw4", "dw5", "dw8"),
    "the output weight (dw9)": ("dw9",),
}
SHIFT_TAIL = np.array(published.FORWARD_SHIFT)  # moves exp, tanh, sigmoid and y', not w1…w5's sums nor w9


def _backward_cases(rng):
    """(label, x, y, w, the w forward_dict is computed at): the published point, random rows and weights, and one
    forward_dict from other w6…w9 than w, which only a backward that reads forward_dict gets right."""
    yield from ((label, x, y, w, w) for label, x, y, w in _cases(rng))
    X, y = _data()
    while True:  # a point where reading and recomputing differ on every path (a saturated tanh would hide one)
        row = int(rng.integers(len(y)))
        w = rng.normal(0.0, 0.5, 9)
        if _reading_matters(X[row], y[row], w):
            break
    yield (
        f"row {row}, forward_dict given for other w6, w7, w8 (read it, do not recompute it)",
        X[row],
        y[row],
        w,
        w + SHIFT_TAIL,
    )


def _reading_matters(x, y, w):
    read = ref.backward_propagation(x, y, w, ref.forward_propagation(x, y, w + SHIFT_TAIL))
    recomputed = ref.backward_propagation(x, y, w, ref.forward_propagation(x, y, w))
    return not any(
        np.allclose([read[k] for k in keys], [recomputed[k] for k in keys], rtol=1e-3, atol=1e-6)
        for keys in PATHS.values()
    )


def _gradients(student, label, x, y, w, at):
    outcome = student.call(
        "backward_propagation",
        x,
        y,
        w,
        _forward_dict_for_backward(student, x, y, at),
        answers=_answers("sigmoid", "forward_propagation"),
    )
    result = outcome.returned(f"backward_propagation at {label}")
    _unchanged(outcome, 2, w, "backward_propagation", label)
    expect(type(result) is dict, f"backward_propagation must return a dict, got {type(result).__name__}")
    missing = [k for k in ref.GRADIENT_KEYS if k not in result]
    expect(not missing, f"backward_propagation's dict lacks the keys {missing}")
    return {k: as_float(f"backward_propagation['{k}'] at {label}", result[k]) for k in ref.GRADIENT_KEYS}


def _path_right(label, got, expected, keys, published_point, shifted):
    tolerance = 0.5 * 10.0**-published.BACKWARD_DECIMALS
    for key in keys:
        hint = HINTS["backward reads forward_dict"] if shifted else HINTS["backward"][key]
        if published_point:
            expect_close(
                f"backward_propagation['{key}'] at {label} (published to 6 dp)",
                got[key],
                published.BACKWARD[key],
                rtol=0.0,
                atol=tolerance + 1e-12,
                hint=hint,
            )
        else:
            expect_close(f"backward_propagation['{key}'] at {label}", got[key], expected[key], hint=hint)


def backward_propagation(student, rng):
    """backward_propagation, fed reference forward values: the published gradients, the reference at other rows and
    weights, and forward_dict's values used; one point per path of the graph."""
    results = []
    for label, x, y, w, at in _backward_cases(rng):
        got = _gradients(student, label, x, y, w, at)
        _not_hard_coded("backward_propagation", label, got, published.BACKWARD, published.BACKWARD_DECIMALS)
        results.append((label, got, ref.backward_propagation(x, y, w, ref.forward_propagation(x, y, at)), at is not w))
    failures = {}
    for path, keys in PATHS.items():
        failures[path] = next(
            (
                message
                for label, got, expected, shifted in results
                if (message := part(_path_right, label, got, expected, keys, label == "the published point", shifted))
            ),
            None,
        )
    return parts(failures)


def _wrong_backward(x, y, w, forward_dict):
    """A backward pass with a classic slip: the sign of its largest gradient flipped. Whatever the point, that puts
    the norm ratio at |dw_k| / ‖dW‖ ≥ 1/3, far above what any correct backward gives."""
    grads = _answer_backward(x, y, w, forward_dict)
    largest = max(grads, key=lambda k: abs(grads[k]))
    return {**grads, largest: -grads[largest]}


def gradient_checking(student, rng):
    """gradient_checking: one non-negative number, small for a right backward, large for a wrong one; w kept."""
    X, y = _data()
    helpers = _answers("sigmoid", "forward_propagation", "backward_propagation")
    outcome = student.call(
        "gradient_checking", X[0], y[0], list(published.GRADCHECK_W), published.GRADCHECK_EPS, answers=helpers
    )
    result = numeric(outcome.returned("gradient_checking"))
    expect(
        result is not None and result.shape == (),
        f"gradient_checking must return one number, got "
        f"{'shape ' + str(result.shape) if result is not None else 'something else'}\n  hint: "
        f"{HINTS['gradient checking ratio']}",
    )
    value = as_float("gradient_checking at the published point", result)
    expect(
        same(outcome.args[2], published.GRADCHECK_W),
        f"gradient_checking changed the w it was given (a list here)\n  hint: {HINTS['gradient checking copy']}",
    )
    expect(
        value >= 0.0,
        f"gradient_checking returned {value}; a ratio of norms is never negative\n  hint: "
        f"{HINTS['gradient checking ratio']}",
    )
    expect(
        value < published.GRADCHECK_BOUND,
        f"gradient_checking with a correct backward returned {value:.3e}, not < {published.GRADCHECK_BOUND:g}"
        f"\n  hint: {HINTS['gradient checking differences']}",
    )

    for row in rng.choice(len(y), 2, replace=False):
        w = rng.normal(0.0, 0.3, 9)
        label = f"row {row}, eps = 1e-3"
        outcome = student.call("gradient_checking", X[row], y[row], w, 1e-3, answers=helpers)
        got = as_float(f"gradient_checking at {label}", outcome.returned(f"gradient_checking at {label}"))
        expect(
            np.array_equal(numeric(outcome.args[2]), w),
            f"gradient_checking changed w at {label}\n  hint: {HINTS['gradient checking copy']}",
        )
        expect_close(
            f"gradient_checking at {label}",
            got,
            ref.gradient_checking(X[row], y[row], w, 1e-3),
            rtol=1e-4,
            hint=HINTS["gradient checking differences"],
        )

        wrong_label = f"gradient_checking with a wrong backward at row {row}"
        outcome = student.call(
            "gradient_checking", X[row], y[row], w, 1e-7, answers={**helpers, "backward_propagation": _wrong_backward}
        )
        wrong = as_float(wrong_label, outcome.returned(wrong_label))
        expected_wrong = ref.gradient_checking(X[row], y[row], w, 1e-7, backward=_wrong_backward)
        expect(
            wrong > 1e-3,
            f"gradient_checking handed a wrong backward_propagation at row {row} returned "
            f"{wrong:.3e}, not ~{expected_wrong:.2e}\n  hint: {HINTS['gradient checking backward']}",
        )
        expect_close(wrong_label, wrong, expected_wrong, rtol=1e-6, hint=HINTS["gradient checking ratio"])


# --- update rules ---------------------------------------------------------------------------------------------


def _shared_state_momentum(w, dw, config):
    """Seed bug: one velocity number carried from weight to weight."""
    cfg = {**ref.MOMENTUM_DEFAULTS, **config}
    velocity, new_w = cfg.get("velocity", 0.0), np.array(w, dtype=np.float64)
    for j in range(new_w.size):
        velocity = cfg["momentum"] * velocity - cfg["learning_rate"] * dw[j]
        new_w[j] += velocity
    cfg["velocity"] = velocity
    return new_w, cfg


def _rate_outside_velocity(w, dw, config):
    """A classic alternative that differs once the learning rate changes: v ← μv + dw; w ← w − ηv."""
    cfg = {**ref.MOMENTUM_DEFAULTS, **config}
    velocity = cfg["momentum"] * cfg.get("velocity", 0.0) + dw
    cfg["velocity"] = velocity
    return w - cfg["learning_rate"] * velocity, cfg


def _velocity_restarts(w, dw, config):
    """The velocity never carried: each step behaves like the first."""
    cfg = {**ref.MOMENTUM_DEFAULTS, **config}
    velocity = -cfg["learning_rate"] * dw
    cfg["velocity"] = velocity
    return w + velocity, cfg


def _shared_state_adam(w, dw, config):
    """Seed bug: one m and one v carried from weight to weight."""
    cfg = {**ref.ADAM_DEFAULTS, **config}
    t = cfg.get("t", 0) + 1
    m, v, new_w = cfg.get("m", 0.0), cfg.get("v", 0.0), np.array(w, dtype=np.float64)
    for j in range(new_w.size):
        m = cfg["beta1"] * m + (1 - cfg["beta1"]) * dw[j]
        v = cfg["beta2"] * v + (1 - cfg["beta2"]) * dw[j] ** 2
        new_w[j] -= (
            cfg["learning_rate"]
            * (m / (1 - cfg["beta1"] ** t))
            / (np.sqrt(v / (1 - cfg["beta2"] ** t)) + cfg["epsilon"])
        )
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
        (_shared_state_momentum, HINTS["momentum per weight"]),
        (_rate_outside_velocity, HINTS["momentum rate inside"]),
        (_velocity_restarts, HINTS["momentum carry"]),
    ],
    "adam_update": [
        (_shared_state_adam, HINTS["adam per weight"]),
        (_adam_variant(False, False), HINTS["adam bias correction"]),
        (_adam_variant(True, True, frozen_t=True), HINTS["adam step count"]),
        (_adam_variant(True, True, eps_inside=True), HINTS["adam epsilon"]),
    ],
}


def _model_steps(rule, w0, gradients, config, overrides):
    """The weights after each step of a rule computed here (the reference, or a model of a known bug)."""
    w, cfg, trajectory = np.array(w0), dict(config), []
    for dw, override in zip(gradients, overrides):
        w, cfg = rule(w, dw, {**cfg, **override})
        w = np.asarray(w, dtype=np.float64)
        trajectory.append(w)
    return trajectory


def _student_steps(student, name, w0, gradients, config, overrides):
    """The weights after each step of the notebook's rule, carrying the config it returns (overrides[k] merged in
    before step k); Fail on misuse."""
    result = student.probe("optimizer_steps", name, w0, gradients, config, overrides)
    try:
        require_own(name, result["function"])
        trajectory = []
        for step, record in enumerate(result["steps"], start=1):
            if "raised" in record:
                raise Fail(describe_error(f"{name} (step {step})", record["raised"]))
            expect(not record["mutated"], f"{name} changed its w or dw argument in place\n  hint: {HINTS['in place']}")
            expect(
                "returned" not in record,
                f"{name} must return (next_w, config), got {type(record.get('returned')).__name__}",
            )
            expect(
                type(record["config"]) is dict,
                f"{name} must return its state as a dict, got {type(record['config']).__name__}",
            )
            weights = numeric(record["w"])
            expect(
                weights is not None and weights.shape == (9,),
                f"{name} must return nine weights, got {np.shape(weights) if weights is not None else record['w']!r}",
            )
            trajectory.append(weights)
    except (KeyError, TypeError) as exc:
        raise ProtocolError(f"the optimizer probe's record is malformed ({exc})") from None
    expect(len(trajectory) == len(gradients), f"{name} stopped after {len(trajectory)} of {len(gradients)} steps")
    return trajectory


def _diagnose(name, got, w0, gradients, config, overrides):
    """The message of the known bug whose model reproduces the student's weights, or ''."""
    for model, message in KNOWN_BUGS.get(name, []):
        modelled = _model_steps(model, w0, gradients, config, overrides)
        if all(np.allclose(a, b, rtol=1e-9, atol=1e-15) for a, b in zip(got, modelled)):
            return message
    return ""


def _check_rule(student, rng, name, reference_rule, configs, hint):
    w0 = rng.normal(0.0, 0.1, 9)
    # Gradients of different sizes and signs per weight and per step, none zero.
    gradients = [rng.normal(0.0, 1.0, 9) * np.logspace(-2, 1, 9) + 0.01 for _ in range(6)]
    rates = [{"learning_rate": float(rate)} for rate in rng.uniform(0.005, 0.05, len(gradients))]
    runs = [(config, [{}] * len(gradients), f"config {dict(config) or 'defaults'}") for config in configs]
    runs.append((configs[-1], rates, f"config {configs[-1]}, the learning rate changed before each step"))
    for config, overrides, shown in runs:
        got = _student_steps(student, name, w0, gradients, config, overrides)
        expected = _model_steps(reference_rule, w0, gradients, config, overrides)
        frozen = [f"w{i + 1}" for i in range(9) if got[0][i] == w0[i]]
        expect(
            not frozen,
            f"{name} ({shown}) did not update {', '.join(frozen)} although their gradients are not "
            f"zero\n  hint: {HINTS['every weight']}",
        )
        for step, (g, e) in enumerate(zip(got, expected), start=1):
            if not np.allclose(g, e, rtol=1e-10, atol=1e-15):
                diagnosis = _diagnose(name, got, w0, gradients, config, overrides)
                expect(not diagnosis, f"{name} ({shown}), weights after step {step}: {diagnosis}")
                expect_close(
                    f"{name}: weights after step {step} of {len(got)}, state carried in config ({shown})",
                    g,
                    e,
                    hint=hint,
                    labels=WEIGHT_NAMES,
                )


def vanilla_update(student, rng):
    """vanilla_update: w − learning_rate·dw, for the default and a given learning rate."""
    _check_rule(student, rng, "vanilla_update", ref.vanilla_update, [{}, {"learning_rate": 0.05}], HINTS["vanilla"])


def momentum_update(student, rng):
    """momentum_update: one step, then several with the velocity carried in config, per weight."""
    _check_rule(
        student,
        rng,
        "momentum_update",
        ref.momentum_update,
        [{}, {"learning_rate": 0.05, "momentum": 0.5}],
        HINTS["momentum"],
    )


def adam_update(student, rng):
    """adam_update: one step, then several with m, v and t carried in config, bias-corrected by step count."""
    _check_rule(
        student,
        rng,
        "adam_update",
        ref.adam_update,
        [{}, {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}],
        HINTS["adam"],
    )


# --- training -------------------------------------------------------------------------------------------------


def _momentum_in_place(w, dw, config):
    """The reference momentum written cs231n's way: its state stored in the config dict it was given."""
    next_w, state = _answer_update(ref.momentum_update)(w, dw, config)
    config.update(state)
    return next_w, config


def train(student, rng):
    """train, with the grader's graph and update rules: the reference loss curves, the caller's config kept."""
    X, y = _data()
    graph = _answers("sigmoid", "forward_propagation", "backward_propagation")
    rows = np.sort(rng.choice(len(y), TRAIN_ROWS, replace=False))
    seed = int(rng.integers(1000))
    config = {"learning_rate": TRAIN_LEARNING_RATE}
    label = (
        f"train(X[rows], y[rows], momentum_update, {config}, epochs={TRAIN_EPOCHS}, seed={seed}) on {TRAIN_ROWS} rows"
    )
    outcome = student.call(
        "train",
        X[rows],
        y[rows],
        Answer("momentum_update", _momentum_in_place),
        dict(config),
        TRAIN_EPOCHS,
        seed,
        answers=graph,
    )
    losses = outcome.returned(label)
    expected = ref.train(X[rows], y[rows], ref.momentum_update, config, TRAIN_EPOCHS, seed)
    expect_close(label, losses, expected, hint=HINTS["train"])
    expect(type(losses) is np.ndarray, f"train returned a {type(losses).__name__}\n  hint: {HINTS['train array']}")
    expect(same(outcome.args[3], config), f"train changed the config dict it was given\n  hint: {HINTS['train copy']}")

    # A rule that returns its state without storing it in the dict it was handed: only a train that keeps the
    # config the rule returns carries the velocity from one step to the next.
    rows = np.sort(rng.choice(len(y), NO_CONFIG_ROWS, replace=False))
    seed = int(rng.integers(1000))
    label = (
        f"train(X[rows], y[rows], momentum_update, epochs={NO_CONFIG_EPOCHS}, seed={seed}), no config given, "
        f"the rule returning its state"
    )
    losses = student.call(
        "train",
        X[rows],
        y[rows],
        Answer("momentum_update", _answer_update(ref.momentum_update)),
        epochs=NO_CONFIG_EPOCHS,
        seed=seed,
        answers=graph,
    ).returned(label)
    dropped = ref.train(
        X[rows], y[rows], lambda w, dw, cfg: (ref.momentum_update(w, dw, cfg)[0], cfg), None, NO_CONFIG_EPOCHS, seed
    )
    comparable = numeric(losses) is not None and numeric(losses).shape == dropped.shape
    expect_close(
        label,
        losses,
        ref.train(X[rows], y[rows], ref.momentum_update, None, NO_CONFIG_EPOCHS, seed),
        hint=HINTS["train keeps state"]
        if comparable and np.allclose(numeric(losses), dropped, rtol=1e-9)
        else HINTS["train no config"],
    )
    defaults = student.signature("train")
    documented = {"config": None, "epochs": ref.EPOCHS, "seed": ref.SEED}
    shown = {k: defaults.get(k) for k in documented}
    expect(
        same(shown, documented), f"train's defaults are {shown}; the lab's are {documented} (keep the given signature)"
    )
