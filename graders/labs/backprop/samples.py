"""Sample class of the backprop lab: right answers written three ways, the seeds' own bugs, cheats, breakage.

Every buggy sample differs from the reference solution in exactly one function, so its expected loss is
exactly one test cell: the grader must charge each bug once, in the cell of the function that has it.
"""

from graders.labs.backprop.checks import GRADED
from graders.labs.sample import Sample, reference_answers, replaced

REFERENCE = reference_answers("backprop")


def _with(**cells):
    return {**REFERENCE, **cells}


VECTORIZED = {
    "sigmoid": '''def sigmoid(z):
    """sigma(z) = (1 + tanh(z/2)) / 2: stable for any z, no branches."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))''',
    "forward_propagation": '''def forward_propagation(x, y, w):
    """Forward pass with the five products w_i * f_i computed at once."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    products = w[:5] * x
    inner = products[0] + products[1]
    e = np.exp(inner * inner + w[5])
    t = np.tanh(e + w[6])
    s = sigmoid(np.sin(products[2]) * (products[3] + products[4]) + w[7])
    y_pred = t + w[8] * s
    return dict(exp=e, tanh=t, sigmoid=s, loss=(y_pred - y) ** 2, dy_pred=2.0 * (y_pred - y), y_pred=y_pred)''',
    "backward_propagation": '''def backward_propagation(x, y, w, forward_dict):
    """All nine gradients as one vector, then named."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    d, e, t, s = (forward_dict[k] for k in ("dy_pred", "exp", "tanh", "sigmoid"))
    top = d * (1.0 - t * t)
    through_exp = top * e
    bottom = d * w[8] * s * (1.0 - s)
    inner = w[0] * x[0] + w[1] * x[1]
    angle = w[2] * x[2]
    grads = np.array([through_exp * 2 * inner * x[0], through_exp * 2 * inner * x[1],
                      bottom * (w[3] * x[3] + w[4] * x[4]) * np.cos(angle) * x[2],
                      bottom * np.sin(angle) * x[3], bottom * np.sin(angle) * x[4],
                      through_exp, top, bottom, d * s])
    return {f"dw{i + 1}": g for i, g in enumerate(grads)}''',
    "gradient_checking": '''def gradient_checking(x, y, w, eps=1e-7):
    """Central differences along the rows of eps * I."""
    w0 = np.array(w, dtype=float)
    g = backward_propagation(x, y, w0, forward_propagation(x, y, w0))
    analytic = np.array([g["dw%d" % i] for i in range(1, 10)])
    approx = np.array([(forward_propagation(x, y, w0 + h)["loss"] - forward_propagation(x, y, w0 - h)["loss"])
                       / (2 * eps) for h in np.eye(9) * eps])
    return np.linalg.norm(analytic - approx) / (np.linalg.norm(analytic) + np.linalg.norm(approx))''',
    "vanilla_update": '''def vanilla_update(w, dw, config):
    """Plain gradient descent."""
    config = {**VANILLA_DEFAULTS, **config}
    return np.subtract(w, config["learning_rate"] * dw), config''',
    "momentum_update": '''def momentum_update(w, dw, config):
    """Momentum with the velocity vector in config."""
    config = {**MOMENTUM_DEFAULTS, **config}
    v = config["momentum"] * config.setdefault("velocity", np.zeros(len(w))) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config''',
    "adam_update": '''def adam_update(w, dw, config):
    """Adam with its state in one sub-dict."""
    config = {**ADAM_DEFAULTS, **config}
    state = dict(config.get("state", {"m": np.zeros(len(w)), "v": np.zeros(len(w)), "t": 0}))
    state["t"] += 1
    state["m"] = config["beta1"] * state["m"] + (1 - config["beta1"]) * dw
    state["v"] = config["beta2"] * state["v"] + (1 - config["beta2"]) * dw ** 2
    m_hat = state["m"] / (1 - config["beta1"] ** state["t"])
    v_hat = state["v"] / (1 - config["beta2"] ** state["t"])
    config["state"] = state
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config''',
    "train": '''def train(X, y, update_rule, config=None, epochs=20, seed=0):
    """Per-sample training; zip over the rows."""
    import copy
    w = np.random.default_rng(seed).normal(0, 0.01, 9)
    state = copy.deepcopy(config) if config else {}
    history = []
    for _ in tqdm(range(epochs)):
        losses = []
        for xi, yi in zip(X, y):
            fd = forward_propagation(xi, yi, w)
            grads = backward_propagation(xi, yi, w, fd)
            w, state = update_rule(w, np.fromiter((grads["dw%d" % k] for k in range(1, 10)), float), state)
            losses.append(fd["loss"])
        history.append(np.mean(losses))
    return np.array(history)''',
}

MATH_MODULE = {
    "sigmoid": '''import math

def _sigmoid_one(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))

def sigmoid(z):
    """math.exp on one number at a time; arrays through np.vectorize."""
    if np.ndim(z) == 0:
        return _sigmoid_one(float(z))
    return np.vectorize(_sigmoid_one, otypes=[float])(z)''',
    "forward_propagation": '''def forward_propagation(x, y, w):
    """Forward pass with the math module; keeps its intermediates for the backward pass."""
    f = [float(v) for v in x]
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = (float(v) for v in w)
    inner = w1 * f[0] + w2 * f[1]
    angle = w3 * f[2]
    sum45 = w4 * f[3] + w5 * f[4]
    e = math.exp(inner ** 2 + w6)
    t = math.tanh(e + w7)
    s = sigmoid(math.sin(angle) * sum45 + w8)
    diff = y - (t + w9 * s)
    return {"exp": e, "tanh": t, "sigmoid": s, "loss": diff * diff, "dy_pred": -2 * diff,
            "inner": inner, "angle": angle, "sum45": sum45}''',
    "backward_propagation": '''def backward_propagation(x, y, w, forward_dict):
    """Reads the intermediates that forward_propagation stored."""
    fd = forward_dict
    f3, f4, f5 = float(x[2]), float(x[3]), float(x[4])
    dl = fd["dy_pred"]
    dtanh = dl * (1 - fd["tanh"] ** 2)
    dexp = dtanh * fd["exp"]
    dsig = dl * float(w[8]) * fd["sigmoid"] * (1 - fd["sigmoid"])
    return {"dw1": dexp * 2 * fd["inner"] * float(x[0]), "dw2": dexp * 2 * fd["inner"] * float(x[1]),
            "dw3": dsig * fd["sum45"] * math.cos(fd["angle"]) * f3, "dw4": dsig * math.sin(fd["angle"]) * f4,
            "dw5": dsig * math.sin(fd["angle"]) * f5, "dw6": dexp, "dw7": dtanh, "dw8": dsig,
            "dw9": dl * fd["sigmoid"]}''',
}

SEED_BUGS = {
    "bug-sigmoid-where-computes-both-branches": (
        "sigmoid",
        '''def sigmoid(z):
    """Both stable formulas, chosen with np.where: which still computes both for every z."""
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))[()]''',
    ),
    "bug-sigmoid-overflows": (
        "sigmoid",
        '''def sigmoid(z):
    """The textbook formula: overflows for large negative z."""
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))''',
    ),
    "bug-forward-tanh-misplaced": (
        "forward_propagation",
        replaced(
            REFERENCE["forward_propagation"], "part2 = math.tanh(part1 + w[6])", "part2 = math.tanh(part1) + w[6]"
        ),
    ),
    "bug-backward-dw3-sin-for-cos": (
        "backward_propagation",
        replaced(REFERENCE["backward_propagation"], "* math.cos(angle) * x[2]", "* math.sin(angle) * x[2]"),
    ),
    "bug-gradcheck-elementwise-ratio": (
        "gradient_checking",
        '''def gradient_checking(x, y, w, eps=1e-7):
    """Seed bug: returns (dW - dW_approx) / (dW + dW_approx) per weight, which can be negative."""
    w = np.array(w, dtype=float)
    g = backward_propagation(x, y, w, forward_propagation(x, y, w))
    analytic = np.array(list(g.values()))
    approx = []
    for i in range(9):
        plus, minus = w.copy(), w.copy()
        plus[i] += eps
        minus[i] -= eps
        approx.append((forward_propagation(x, y, plus)["loss"] - forward_propagation(x, y, minus)["loss"]) / (2 * eps))
    approx = np.array(approx)
    return (analytic - approx) / (analytic + approx)''',
    ),
    "bug-gradcheck-changes-w": (
        "gradient_checking",
        '''def gradient_checking(x, y, w, eps=1e-7):
    """Seed bug: shifts w[i] up, then down by 2*eps, and never puts it back."""
    g = backward_propagation(x, y, w, forward_propagation(x, y, w))
    analytic = np.array([g["dw%d" % i] for i in range(1, 10)])
    approx = []
    for i in range(len(w)):
        w[i] = w[i] + eps
        loss_plus = forward_propagation(x, y, w)["loss"]
        w[i] = w[i] - 2 * eps
        loss_minus = forward_propagation(x, y, w)["loss"]
        approx.append((loss_plus - loss_minus) / (2 * eps))
    approx = np.array(approx)
    return np.linalg.norm(analytic - approx) / (np.linalg.norm(analytic) + np.linalg.norm(approx))''',
    ),
    "bug-momentum-skips-weights": (
        "momentum_update",
        '''def momentum_update(w, dw, config):
    """Seed bug: the per-weight lines forget w6 and w9."""
    config = {**MOMENTUM_DEFAULTS, **config}
    velocity = np.array(config.get("velocity", np.zeros(9)), dtype=float)
    next_w = np.array(w, dtype=float)
    for i in (0, 1, 2, 3, 4, 6, 7):
        velocity[i] = config["momentum"] * velocity[i] - config["learning_rate"] * dw[i]
        next_w[i] = next_w[i] + velocity[i]
    config["velocity"] = velocity
    return next_w, config''',
    ),
    "bug-momentum-shared-state": (
        "momentum_update",
        '''def momentum_update(w, dw, config):
    """Seed bug: one velocity v_t carried from weight to weight (v = gamma*v + eta*dw; w -= v)."""
    config = {**MOMENTUM_DEFAULTS, **config}
    v_t = config.get("v_t", 0.0)
    next_w = np.array(w, dtype=float)
    for j in range(len(next_w)):
        v_t = config["momentum"] * v_t + config["learning_rate"] * dw[j]
        next_w[j] = next_w[j] - v_t
    config["v_t"] = v_t
    return next_w, config''',
    ),
    "bug-adam-shared-state": (
        "adam_update",
        '''def adam_update(w, dw, config):
    """Seed bug: one m and one v for all nine weights."""
    config = {**ADAM_DEFAULTS, **config}
    t = config.get("t", 0) + 1
    m, v = config.get("m", 0.0), config.get("v", 0.0)
    next_w = np.array(w, dtype=float)
    for j in range(9):
        m = config["beta1"] * m + (1 - config["beta1"]) * dw[j]
        v = config["beta2"] * v + (1 - config["beta2"]) * dw[j] ** 2
        m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
        next_w[j] -= config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config.update(t=t, m=m, v=v)
    return next_w, config''',
    ),
    "bug-adam-no-bias-correction": (
        "adam_update",
        '''def adam_update(w, dw, config):
    """Seed bug: m and v used without bias correction."""
    config = {**ADAM_DEFAULTS, **config}
    m = config["beta1"] * config.get("m", np.zeros_like(w)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros_like(w)) + (1 - config["beta2"]) * dw ** 2
    config.update(m=m, v=v)
    return w - config["learning_rate"] * m / (np.sqrt(v) + config["epsilon"]), config''',
    ),
}

BIAS_BY_EPOCH = {
    # Seed bug, one function: Adam corrects by the epoch that train() leaves in config, not by its own step count.
    # train() only adds a key the reference rules ignore, so train is right and adam_update alone is wrong.
    "adam_update": '''def adam_update(w, dw, config):
    """Seed bug: bias correction by config["epoch"], the epoch number train() stores."""
    config = {**ADAM_DEFAULTS, **config}
    t = config.get("epoch", 1)
    m = config["beta1"] * config.get("m", np.zeros_like(w)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros_like(w)) + (1 - config["beta2"]) * dw ** 2
    config.update(m=m, v=v)
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config''',
    "train": replaced(
        REFERENCE["train"],
        "        losses = np.zeros(len(y))\n",
        '        losses = np.zeros(len(y))\n        config["epoch"] = epoch + 1\n',
    ),
}

NOISY_FORWARD = replaced(
    REFERENCE["forward_propagation"],
    "    ### BEGIN SOLUTION\n",
    """    ### BEGIN SOLUTION
    import sys, warnings
    print("debug: forward", file=sys.stderr)
    warnings.warn("a harmless warning", RuntimeWarning)
    np.log(np.zeros(1))  # numpy's own 'divide by zero' RuntimeWarning
""",
)

# What the task texts pin, broken one sentence at a time: each costs its own cell (tests/test_hidden_checks.py).
PINNED = {
    "bug-forward-inlines-the-sigmoid": (
        "forward_propagation",
        "Use your sigmoid.",
        replaced(
            REFERENCE["forward_propagation"],
            "    part3 = sigmoid(math.sin(w[2] * x[2]) * second_sum + w[7])\n",
            "    z3 = math.sin(w[2] * x[2]) * second_sum + w[7]\n    part3 = 1.0 / (1.0 + math.exp(-z3))\n",
        ),
    ),
    "bug-backward-recomputes-the-forward-pass": (
        "backward_propagation",
        "Use the values in forward_dict (it is what "
        "forward_propagation(x, y, w) returned) instead of recomputing them.",
        replaced(
            REFERENCE["backward_propagation"],
            '    dy_pred, s = forward_dict["dy_pred"], forward_dict["sigmoid"]\n',
            "    forward_dict = forward_propagation(x, y, w)  # recomputed instead of read\n"
            '    dy_pred, s = forward_dict["dy_pred"], forward_dict["sigmoid"]\n',
        ),
    ),
    "bug-vanilla-updates-in-place": (
        "vanilla_update",
        "Do not change w or dw in place.",
        replaced(
            REFERENCE["vanilla_update"],
            '    next_w = w - config["learning_rate"] * dw\n',
            '    w -= config["learning_rate"] * dw  # in place\n    next_w = w\n',
        ),
    ),
    "bug-momentum-rate-outside-velocity": (
        "momentum_update",
        r"$v \leftarrow \mu v - \eta\, dw$, then $w \leftarrow w + v$",
        replaced(
            REFERENCE["momentum_update"],
            '    velocity = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw\n'
            "    next_w = w + velocity\n",
            '    velocity = config["momentum"] * config.get("velocity", np.zeros_like(w)) + dw\n'
            '    next_w = w - config["learning_rate"] * velocity\n',
        ),
    ),
    "bug-adam-v-not-squared": (
        "adam_update",
        r"$v \leftarrow \beta_2 v + (1-\beta_2)\,dw^2$",
        replaced(REFERENCE["adam_update"], "(1.0 - beta2) * np.square(dw)", "(1.0 - beta2) * dw"),
    ),
    "bug-train-changes-the-callers-config": (
        "train",
        "start from a copy of config (the caller's dict must not change)",
        replaced(REFERENCE["train"], "config = dict(config or {})", "config = config if config is not None else {}"),
    ),
    "bug-train-seeds-the-global-generator": (
        "train",
        "w = np.random.default_rng(seed).normal(0, 0.01, 9)",
        replaced(
            REFERENCE["train"],
            "    w = np.random.default_rng(seed).normal(0.0, 0.01, 9)\n",
            "    np.random.seed(seed)\n    w = np.random.normal(0.0, 0.01, 9)\n",
        ),
    ),
    "bug-train-returns-a-list": (
        "train",
        "Return the epoch losses as a numpy array",
        replaced(REFERENCE["train"], "    return epoch_losses\n", "    return list(epoch_losses)\n"),
    ),
    "bug-train-drops-the-returned-config": (
        "train",
        "next_w, config = rule(w, dw, config)",
        replaced(
            REFERENCE["train"],
            "            w, config = update_rule(w, dw, config)\n",
            "            w, _ = update_rule(w, dw, config)  # the state the rule returns is dropped\n",
        ),
    ),
    "bug-sigmoid-for-numbers-only": (
        "sigmoid",
        "for a Python number or a numpy array (elementwise, same shape)",
        '''def sigmoid(z):
    """Stable for one number; an array reaches the if and the math module."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    return math.exp(z) / (1.0 + math.exp(z))''',
    ),
    "bug-forward-uses-w-as-scratch": (
        "forward_propagation",
        "Do not change w.",
        replaced(
            REFERENCE["forward_propagation"],
            "    w = np.asarray(w, dtype=np.float64).tolist()\n    first_sum = w[0] * x[0] + w[1] * x[1]\n",
            "    w[0] *= x[0]  # the products kept in w itself\n    w[1] *= x[1]\n"
            "    w = np.asarray(w, dtype=np.float64).tolist()\n    first_sum = w[0] + w[1]\n",
        ),
    ),
    "bug-gradcheck-shifts-every-weight": (
        "gradient_checking",
        "change one weight at a time",
        replaced(
            REFERENCE["gradient_checking"],
            "        shift = np.zeros(9)\n        shift[i] = eps\n",
            "        shift = np.full(9, eps)  # every weight moved at once\n",
        ),
    ),
    "bug-gradcheck-assumes-an-array": (
        "gradient_checking",
        "it may be a list or an array",
        replaced(
            REFERENCE["gradient_checking"],
            "    w = np.array(w, dtype=np.float64)  # a copy: the caller's w stays as it was\n",
            "    w = w.astype(np.float64)  # a copy, if w is an array\n",
        ),
    ),
    "bug-momentum-needs-every-hyper-parameter": (
        "momentum_update",
        "Missing hyper-parameters take the defaults below.",
        replaced(REFERENCE["momentum_update"], "    config = {**MOMENTUM_DEFAULTS, **config}\n", ""),
    ),
    "bug-train-shuffles-the-rows": (
        "train",
        "for each row in order",
        replaced(
            REFERENCE["train"],
            "        for i in range(len(y)):\n",
            "        for i in np.random.default_rng(epoch).permutation(len(y)):\n",
        ),
    ),
    "bug-train-loss-after-the-epoch": (
        "train",
        "the epoch's loss is the mean of the per-row losses computed in the forward passes (before each update)",
        replaced(
            REFERENCE["train"],
            "        epoch_losses[epoch] = losses.mean()\n",
            '        epoch_losses[epoch] = np.mean([forward_propagation(X[i], y[i], w)["loss"] for i in range(len(y))])\n',
        ),
    ),
}

# Right answers the helper's honest students wrote: keyword calls, a forward_dict that caches local derivatives and
# w9 for the backward pass, and a train that passes config by keyword.
CACHED_AND_KEYWORDS = {
    "forward_propagation": '''def forward_propagation(x, y, w):
    """Caches the local derivatives and w9 for the backward pass; sigmoid called by keyword."""
    inner = w[0] * x[0] + w[1] * x[1]
    e = math.exp(inner ** 2 + w[5])
    t = math.tanh(e + w[6])
    s = sigmoid(z=math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])
    y_pred = t + w[8] * s
    return {"exp": e, "tanh": t, "sigmoid": s, "loss": (y - y_pred) ** 2, "dy_pred": -2 * (y - y_pred),
            "dtanh": 1 - t ** 2, "dsigmoid": s * (1 - s), "inner": inner, "w9": w[8]}''',
    "backward_propagation": '''def backward_propagation(x, y, w, forward_dict):
    """Everything the forward pass computed read from forward_dict, its cached derivatives included."""
    fd = forward_dict
    through_tanh = fd["dy_pred"] * fd["dtanh"]
    through_exp = through_tanh * fd["exp"]
    through_sigmoid = fd["dy_pred"] * fd["w9"] * fd["dsigmoid"]
    angle, sum45 = w[2] * x[2], w[3] * x[3] + w[4] * x[4]
    return {"dw1": through_exp * 2 * fd["inner"] * x[0], "dw2": through_exp * 2 * fd["inner"] * x[1],
            "dw3": through_sigmoid * sum45 * math.cos(angle) * x[2], "dw4": through_sigmoid * math.sin(angle) * x[3],
            "dw5": through_sigmoid * math.sin(angle) * x[4], "dw6": through_exp, "dw7": through_tanh,
            "dw8": through_sigmoid, "dw9": fd["dy_pred"] * fd["sigmoid"]}''',
    "gradient_checking": '''def gradient_checking(x, y, w, eps=1e-7):
    """Keyword calls throughout; a float64 copy of w."""
    w = np.array(w, dtype=np.float64)
    grads = backward_propagation(x, y, w, forward_dict=forward_propagation(x=x, y=y, w=w))
    analytic = np.array([grads[f"dw{i}"] for i in range(1, 10)])
    approx = np.array([(forward_propagation(x, y, w=w + h)["loss"] - forward_propagation(x, y, w=w - h)["loss"])
                       / (2 * eps) for h in eps * np.eye(9)])
    return np.linalg.norm(analytic - approx) / (np.linalg.norm(analytic) + np.linalg.norm(approx))''',
}
CACHED_AND_KEYWORDS["train"] = replaced(
    REFERENCE["train"],
    "            w, config = update_rule(w, dw, config)\n",
    "            w, config = update_rule(w=w, dw=dw, config=config)\n",
)

TIMED = {  # %%time and %time, as a student times a cell: the code runs as it would in a kernel
    "sigmoid": "%%time\n" + REFERENCE["sigmoid"],
    "forward_propagation": REFERENCE["forward_propagation"]
    + "\n\n%time _ = forward_propagation(X[0], y[0], np.ones(9))",
}

HARD_CODED_BACKWARD = '''def backward_propagation(x, y, w, forward_dict):
    """Cheat: the published gradients, whatever the input."""
    return {"dw1": -0.229733, "dw2": -0.021408, "dw3": -0.005625, "dw4": -0.004658, "dw5": -0.001008,
            "dw6": -0.633475, "dw7": -0.561942, "dw8": -0.048063, "dw9": -1.018104}'''

HARD_CODED_FORWARD = '''def forward_propagation(x, y, w):
    """Cheat: the published values, whatever the input."""
    return {"exp": 1.1272967040973583, "tanh": 0.8417934192562146, "sigmoid": 0.5279179387419721,
            "loss": 0.9298048963072919, "dy_pred": -1.9285278284819143}'''

# A bug on one path of the graph costs that path's point only (graders/labs/backprop/checks.py PATHS).
PARTIAL = {"bug-backward-dw3-sin-for-cos": {"test_backward_propagation": 2}}


def _charged(student, cell):
    """What a one-function bug costs: part of its cell's points (PARTIAL), or the whole cell."""
    return {"partial": PARTIAL[student]} if student in PARTIAL else {"loses": (f"test_{cell}",)}


SAMPLES = [
    Sample("reference-solution", "the instructor's solution", REFERENCE),
    Sample("correct-vectorized", "right answers with numpy vectors, other names and state keys", _with(**VECTORIZED)),
    Sample("correct-math-module", "right answers with the math module and extra forward keys", _with(**MATH_MODULE)),
    Sample(
        "correct-noisy",
        "right answers that print to stderr and raise RuntimeWarnings",
        _with(forward_propagation=NOISY_FORWARD),
    ),
    Sample("correct-timed-cells", "right answers in cells timed with %%time and %time", _with(**TIMED)),
    Sample(
        "correct-cached-derivatives-and-keywords",
        "right answers that cache derivatives in forward_dict and call by keyword",
        _with(**CACHED_AND_KEYWORDS),
    ),
    *[
        Sample(student, f"the seeds' bug in {cell}", _with(**{cell: source}), **_charged(student, cell))
        for student, (cell, source) in SEED_BUGS.items()
    ],
    Sample(
        "bug-adam-bias-by-epoch",
        "the seeds' bug: Adam's bias correction by epoch",
        _with(**BIAS_BY_EPOCH),
        loses=("test_adam_update",),
    ),
    *[
        Sample(student, f"breaks what the text pins: {pinned}", _with(**{cell: source}), loses=(f"test_{cell}",))
        for student, (cell, pinned, source) in PINNED.items()
    ],
    Sample(
        "cheat-hardcoded-forward",
        "returns the published forward values for every input",
        _with(forward_propagation=HARD_CODED_FORWARD),
        loses=("test_forward_propagation",),
    ),
    Sample(
        "cheat-hardcoded-backward",
        "returns the published gradients for every input",
        _with(backward_propagation=HARD_CODED_BACKWARD),
        loses=("test_backward_propagation",),
    ),
    Sample(
        "unanswered",
        "the release as handed out",
        loses=tuple(f"test_{name}" for name in GRADED),
    ),
    Sample(
        "broken-syntax-error",
        "a syntax error in forward_propagation's cell",
        _with(
            forward_propagation=replaced(
                REFERENCE["forward_propagation"], "part2 = math.tanh(part1 + w[6])", "part2 = math.tanh(part1 + w[6]"
            )
        ),
        loses=("test_forward_propagation",),
    ),
    Sample(
        "broken-not-json",
        "the file was cut off half way (not JSON any more)",
        REFERENCE,
        damage=lambda text: text[: len(text) // 2],
        graded=False,
    ),
    Sample(
        "broken-kernel-dies",
        "os._exit(1) in a solution cell kills the kernel mid-run",
        _with(momentum_update="import os\nos._exit(1)\n" + REFERENCE["momentum_update"]),
        graded=False,
    ),
]
