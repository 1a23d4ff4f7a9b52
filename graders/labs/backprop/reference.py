"""Reference implementation of the backprop lab, written independently of the notebook's solution.

Scalar graph code uses the math module on Python floats: it is exact to the published values and
about ten times faster per call than numpy scalars, which keeps the hidden tests cheap.
"""

import math

import numpy as np

from graders.numerics import sigmoid, sigmoid_float  # noqa: F401  (sigmoid is the reference the checks swap in)

# Hyper-parameters at "the default settings" of the lab; the notebook documents the same numbers.
EPOCHS = 20
SEED = 0
INIT_STD = 0.01
VANILLA_DEFAULTS = {"learning_rate": 0.01}
MOMENTUM_DEFAULTS = {"learning_rate": 0.01, "momentum": 0.9}
ADAM_DEFAULTS = {"learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
FORWARD_KEYS = ("exp", "tanh", "sigmoid", "loss", "dy_pred")
GRADIENT_KEYS = tuple(f"dw{i}" for i in range(1, 10))


def forward_propagation(x, y, w):
    """Forward pass through the graph; returns the published keys plus the intermediates backward needs."""
    f1, f2, f3, f4, f5 = (float(v) for v in x)
    w1, w2, w3, w4, w5, w6, w7, w8, w9 = (float(v) for v in w)
    y = float(y)
    linear12 = w1 * f1 + w2 * f2
    part1 = math.exp(linear12 * linear12 + w6)
    part2 = math.tanh(part1 + w7)
    sin3 = math.sin(w3 * f3)
    linear45 = w4 * f4 + w5 * f5
    part3 = sigmoid_float(sin3 * linear45 + w8)
    y_pred = part2 + w9 * part3
    residual = y - y_pred
    return {
        "exp": part1,
        "tanh": part2,
        "sigmoid": part3,
        "loss": residual * residual,
        "dy_pred": -2.0 * residual,
        "y_pred": y_pred,
        "linear12": linear12,
        "sin3": sin3,
        "linear45": linear45,
    }


def backward_propagation(x, y, w, forward_dict):
    """Chain rule from dL/dy' back to each weight, reusing forward_dict's values."""
    f1, f2, f3, f4, f5 = (float(v) for v in x)
    w3, w9 = float(w[2]), float(w[8])
    fd = forward_dict
    # Recompute intermediates not among the published keys, so any forward dict with those keys works.
    linear12 = float(w[0]) * f1 + float(w[1]) * f2
    linear45 = float(w[3]) * f4 + float(w[4]) * f5
    sin3 = math.sin(w3 * f3)
    grad_tanh_in = fd["dy_pred"] * (1.0 - fd["tanh"] ** 2)
    grad_exp_in = grad_tanh_in * fd["exp"]
    grad_sigmoid_in = fd["dy_pred"] * w9 * fd["sigmoid"] * (1.0 - fd["sigmoid"])
    return {
        "dw1": grad_exp_in * 2.0 * linear12 * f1,
        "dw2": grad_exp_in * 2.0 * linear12 * f2,
        "dw3": grad_sigmoid_in * linear45 * math.cos(w3 * f3) * f3,
        "dw4": grad_sigmoid_in * sin3 * f4,
        "dw5": grad_sigmoid_in * sin3 * f5,
        "dw6": grad_exp_in,
        "dw7": grad_tanh_in,
        "dw8": grad_sigmoid_in,
        "dw9": fd["dy_pred"] * fd["sigmoid"],
    }


def gradient_vector(gradients):
    """The dict dw1..dw9 as a float64 vector in weight order."""
    return np.array([gradients[k] for k in GRADIENT_KEYS], dtype=np.float64)


def numerical_gradient(x, y, w, eps, forward=forward_propagation):
    """Central differences of the loss, one weight at a time, on a private copy of w."""
    probe = np.array(w, dtype=np.float64)
    approx = np.empty(probe.size)
    for i in range(probe.size):
        original = probe[i]
        probe[i] = original + eps
        loss_plus = forward(x, y, probe)["loss"]
        probe[i] = original - eps
        loss_minus = forward(x, y, probe)["loss"]
        probe[i] = original
        approx[i] = (loss_plus - loss_minus) / (2.0 * eps)
    return approx


def gradient_checking(x, y, w, eps=1e-7, forward=forward_propagation, backward=backward_propagation):
    """‖dW − dW_approx‖₂ / (‖dW‖₂ + ‖dW_approx‖₂) for the given forward and backward."""
    analytic = gradient_vector(backward(x, y, w, forward(x, y, w)))
    approx = numerical_gradient(x, y, w, eps, forward)
    return float(np.linalg.norm(analytic - approx) / (np.linalg.norm(analytic) + np.linalg.norm(approx)))


def vanilla_update(w, dw, config):
    cfg = {**VANILLA_DEFAULTS, **config}
    return w - cfg["learning_rate"] * dw, cfg


def momentum_update(w, dw, config):
    cfg = {**MOMENTUM_DEFAULTS, **config}
    velocity = cfg["momentum"] * cfg.get("velocity", 0.0) - cfg["learning_rate"] * dw
    cfg["velocity"] = velocity
    return w + velocity, cfg


def adam_update(w, dw, config):
    cfg = {**ADAM_DEFAULTS, **config}
    t = cfg.get("t", 0) + 1
    m = cfg["beta1"] * cfg.get("m", 0.0) + (1.0 - cfg["beta1"]) * dw
    v = cfg["beta2"] * cfg.get("v", 0.0) + (1.0 - cfg["beta2"]) * dw * dw
    m_hat = m / (1.0 - cfg["beta1"] ** t)
    v_hat = v / (1.0 - cfg["beta2"] ** t)
    cfg.update(t=t, m=m, v=v)
    return w - cfg["learning_rate"] * m_hat / (np.sqrt(v_hat) + cfg["epsilon"]), cfg


UPDATE_RULES = {"vanilla": vanilla_update, "momentum": momentum_update, "adam": adam_update}


def initial_weights(seed=SEED):
    """The lab's initialisation: nine draws from N(0, 0.01²) of numpy's default_rng(seed)."""
    return np.random.default_rng(seed).normal(0.0, INIT_STD, 9)


def train(
    X, y, update_rule, config=None, epochs=EPOCHS, seed=SEED, forward=forward_propagation, backward=backward_propagation
):
    """Per-sample updates in row order; returns the mean loss of each epoch (losses before each update)."""
    w = initial_weights(seed)
    config = dict(config or {})
    epoch_losses = np.empty(epochs)
    for epoch in range(epochs):
        total = 0.0
        for xi, yi in zip(X, y):
            fd = forward(xi, yi, w)
            dw = gradient_vector(backward(xi, yi, w, fd))
            w, config = update_rule(w, dw, config)
            total += fd["loss"]
        epoch_losses[epoch] = total / len(y)
    return epoch_losses
