"""Hidden checks of the MLP lab, judged outside the student's process (see graders/judging.py).

Inputs are random shapes, batch sizes and values drawn from rng; gradients are compared with the reference's
(itself tested against finite differences in tests/test_mlp.py). Every function is graded with the grader's own
versions of the lab functions it calls (`answers=`), and the grader counts those calls: network_backward must run
the forward pass once, on the whole batch.
"""

import numpy as np

from graders.judging import (
    Fail,
    Refused,
    answer_array,
    answer_number,
    describe_error,
    expect,
    expect_close,
    numeric,
    part,
    parts,
    same,
)
from graders.labs.mlp import reference as ref

GRADED = (
    "sigmoid",
    "sigmoid_derivative",
    "tanh_derivative",
    "mse_loss",
    "mse_gradient",
    "glorot_uniform",
    "layer_forward",
    "network_forward",
    "network_backward",
    "gradient_step",
    "train",
)
PIECES = GRADED[:-1]
SIZES = [(3, 4, 2), (2, 5, 3, 1), (4, 1), (2, 3, 3, 2)]
# Every hint a student reads, hidden or visible (the visible checks hold a copy: graders/visible.py).
HINTS = {
    "sigmoid overflow": "take exp only of non-positive numbers: for z < 0 use e^z / (1 + e^z)",
    "sigmoid formula": "σ(z) = 1 / (1 + e^(−z)), elementwise",
    "sigmoid_derivative": "σ'(z) = σ(z)(1 − σ(z)) with σ evaluated at the input z (z(1 − z) is the formula for the "
    "output)",
    "tanh_derivative": "tanh'(z) = 1 − tanh(z)² with tanh evaluated at the input z",
    "mse_loss": "np.mean((Y_hat - Y) ** 2): the mean over all elements",
    "mse_gradient": "2·(Y_hat − Y) / (number of elements): the loss is a mean, so its gradient is divided too",
    "mse_gradient sum": "this is the gradient of the sum of squared errors, but the loss is their mean: divide by "
    "Y.size",
    "glorot_uniform": "rng.uniform(-bound, bound, size=(n_in, n_out)) with bound = sqrt(6 / (n_in + n_out))",
    "layer_forward": "Z_in = X @ W + b, then the layer's activation",
    "layer_forward cache": "keep 'input', 'z_in' and 'z_out' on the layer dict: the backward pass reads them",
    "network_forward": "feed each layer's output to the next with layer_forward, once per layer, in order",
    "transposes": "dW = Z_out(previous)ᵀ · Δ, db = Δ summed over the batch, Δ(previous) = (Δ · Wᵀ) ⊙ σ'(Z_in(previous))",
    "weights untouched": "compute every gradient first and change no weight: gradient_step does that",
    "whole batch": "the whole batch at once, with matrix products: no Python loop over samples",
    "gradient_step": "W ← W − learning_rate·dW and b ← b − learning_rate·db, in every layer",
    "gradient_step in place": "update the layers of the network you are given (layer['W'] = ... or -=) and return that "
    "network: train relies on the update",
    "train": "network = make_network(sizes, np.random.default_rng(seed)); each epoch: record the loss of the forward "
    "pass, then network_backward and gradient_step",
    "train defaults": "keep the given signature: sizes=(2, 5, 3, 1), epochs=2500, learning_rate=0.25, seed=0",
}


# The grader's answers to the notebook's calls take only what the lab passes: a student's code chooses the arguments.


def _array(value, what, axes=None):
    array = answer_array(value, what)
    if axes is not None and array.ndim != axes:
        raise Refused(f"{what} must have {axes} axes, not shape {array.shape}")
    return array


def _layer(layer, what="layer"):
    """The layer dict itself (the grader's versions store input, z_in and z_out on it), its W and b checked."""
    if type(layer) is not dict or layer.get("activation") not in ("tanh", "sigmoid"):
        raise Refused(f"{what} must be a dict with 'W', 'b' and an activation 'tanh' or 'sigmoid'")
    layer["W"], layer["b"] = _array(layer.get("W"), f"{what}['W']", 2), _array(layer.get("b"), f"{what}['b']", 1)
    if layer["b"].shape != layer["W"].shape[1:]:
        raise Refused(f"{what}: b of shape {layer['b'].shape} does not fit W of shape {layer['W'].shape}")
    return layer


def _network(network):
    if type(network) is not list or not 0 < len(network) <= 20:
        raise Refused("network must be a list of layers")
    layers = [_layer(layer, f"layer {i + 1}") for i, layer in enumerate(network)]
    if any(a["W"].shape[1] != b["W"].shape[0] for a, b in zip(layers, layers[1:])):
        raise Refused("the network's layers do not fit one another")
    return network


def _batch(X, inputs, what="X"):
    X = _array(X, what, 2)
    if X.shape[1] != inputs:
        raise Refused(f"{what} has {X.shape[1]} columns for {inputs} inputs")
    return X


def _elementwise(function):
    return lambda z: function(answer_number(z, "z") if np.ndim(z) == 0 else _array(z, "z"))


def _paired(function):
    def answered(Y, Y_hat):
        Y, Y_hat = _array(Y, "Y"), _array(Y_hat, "Y_hat")
        if Y.shape != Y_hat.shape:
            raise Refused(f"Y {Y.shape} and Y_hat {Y_hat.shape} differ in shape")
        return function(Y, Y_hat)

    return answered


def _layer_forward(layer, X):
    layer = _layer(layer)
    return ref.layer_forward(layer, _batch(X, layer["W"].shape[0]))


def _network_forward(network, X):
    network = _network(network)
    return ref.network_forward(network, _batch(X, network[0]["W"].shape[0]))


def _network_backward(network, X, Y):
    network = _network(network)
    X = _batch(X, network[0]["W"].shape[0])
    Y = _array(Y, "Y", 2)
    if Y.shape != (len(X), network[-1]["W"].shape[1]):
        raise Refused(f"Y of shape {Y.shape} does not fit the batch and the output layer")
    return ref.network_backward(network, X, Y)


def _gradient_step(network, gradients, learning_rate):
    network = _network(network)
    if type(gradients) is not list or len(gradients) != len(network) or not all(type(g) is dict for g in gradients):
        raise Refused("gradients must be one {'W', 'b'} dict per layer")
    checked = [{"W": _array(g.get("W"), "dW"), "b": _array(g.get("b"), "db")} for g in gradients]
    if any(g["W"].shape != l["W"].shape or g["b"].shape != l["b"].shape for g, l in zip(checked, network)):
        raise Refused("gradients do not fit the network's weights")
    return ref.gradient_step(network, checked, answer_number(learning_rate, "learning_rate"))


def _glorot_uniform(n_in, n_out, rng):
    """The reference draw, for sizes a check could ask for (a student's code picks them: the grader's memory)."""
    if not (type(n_in) is int and type(n_out) is int and 0 < n_in * n_out <= 100_000):
        raise Refused(f"glorot_uniform({n_in!r}, {n_out!r}): sizes this lab never needs")
    return ref.glorot_uniform(n_in, n_out, rng)


ACTIVATIONS = ("sigmoid", "sigmoid_derivative", "tanh_derivative")
# What each graded function may call, answered by the grader: never a function whose reference holds the graded one
# (network_forward's holds layer_forward's, so layer_forward is graded without it).
CALLS = {
    "sigmoid_derivative": ("sigmoid",),
    "tanh_derivative": (),
    "mse_gradient": (),
    "layer_forward": ACTIVATIONS,
    "network_forward": ("layer_forward", *ACTIVATIONS),
    "network_backward": ("network_forward", "layer_forward", "mse_loss", "mse_gradient", *ACTIVATIONS),
    "train": PIECES,
}


def _answers(graded, **extra):
    """The grader's versions of what `graded` may call (CALLS), with `extra` in place of some."""
    reference = {
        "sigmoid": _elementwise(ref.sigmoid),
        "sigmoid_derivative": _elementwise(ref.sigmoid_derivative),
        "tanh_derivative": _elementwise(ref.tanh_derivative),
        "mse_loss": _paired(ref.mse_loss),
        "mse_gradient": _paired(ref.mse_gradient),
        "glorot_uniform": _glorot_uniform,
        "layer_forward": _layer_forward,
        "network_forward": _network_forward,
        "network_backward": _network_backward,
        "gradient_step": _gradient_step,
    }
    return {**{name: reference[name] for name in CALLS[graded]}, **extra}


def _random_network(sizes, rng):
    network = ref.make_network(sizes, rng)
    for layer in network:  # non-zero biases, so a bias bug shows
        layer["b"] = rng.normal(0, 0.5, layer["b"].shape)
    return network


def _copy(network):
    return [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in layer.items()} for layer in network]


def _counted(log, kind, function):
    """function, answering for the notebook, with each call logged as (kind, its inputs X, the weights' shape)."""

    def answered(network_or_layer, X):
        first = network_or_layer[0] if kind == "network" and network_or_layer else network_or_layer
        log.append((kind, X, np.shape(first.get("W")) if type(first) is dict else None))
        return function(network_or_layer, X)

    return answered


def sigmoid(student, rng):
    """sigmoid: arrays of any shape, and ±1000 without an overflow warning."""
    z = rng.normal(0, 4, (3, 5))
    expect_close(
        "sigmoid(3×5 array)",
        student.call("sigmoid", z).returned("sigmoid(3×5 array)"),
        ref.sigmoid(z),
        rtol=1e-12,
        atol=1e-15,
        hint=HINTS["sigmoid formula"],
    )
    outcome = student.call("sigmoid", np.array([-1000.0, 0.0, 1000.0]))
    extreme = outcome.returned("sigmoid([-1000, 0, 1000])")
    expect(
        not outcome.warnings,
        f"sigmoid overflowed at -1000 ({outcome.warnings[0] if outcome.warnings else ''})"
        f"\n  hint: {HINTS['sigmoid overflow']}",
    )
    expect_close("sigmoid([-1000, 0, 1000])", extreme, [0.0, 0.5, 1.0])


def _derivative(student, rng, name, hint):
    z = rng.normal(0, 2, (4, 3))
    got = student.call(name, z, answers=_answers(name)).returned(f"{name}(4×3 array)")
    expect_close(f"{name}(4×3 array)", got, getattr(ref, name)(z), rtol=1e-10, atol=1e-15, hint=hint)


def sigmoid_derivative(student, rng):
    """sigmoid_derivative: σ'(z) at the pre-activation z."""
    _derivative(student, rng, "sigmoid_derivative", HINTS["sigmoid_derivative"])


def tanh_derivative(student, rng):
    """tanh_derivative: 1 − tanh(z)² at the pre-activation z."""
    _derivative(student, rng, "tanh_derivative", HINTS["tanh_derivative"])


def mse_loss(student, rng):
    """mse_loss: the mean of the squared errors over every sample and output."""
    for shape in ((5, 1), (7, 3)):
        Y, Y_hat = rng.normal(size=shape), rng.normal(size=shape)
        got = student.call("mse_loss", Y, Y_hat).returned(f"mse_loss on {shape}")
        expect_close(f"mse_loss on {shape}", got, ref.mse_loss(Y, Y_hat), rtol=1e-12, hint=HINTS["mse_loss"])


def mse_gradient(student, rng):
    """mse_gradient: the derivative of the (mean) loss."""
    for shape in ((5, 1), (7, 3), (1, 1)):
        Y, Y_hat = rng.normal(size=shape), rng.normal(size=shape)
        got = numeric(
            student.call("mse_gradient", Y, Y_hat, answers=_answers("mse_gradient")).returned(
                f"mse_gradient on {shape}"
            )
        )
        expected = ref.mse_gradient(Y, Y_hat)
        summed = got is not None and got.shape == expected.shape and Y.size > 1 and np.allclose(got, expected * Y.size)
        hint = HINTS["mse_gradient sum"] if summed else HINTS["mse_gradient"]
        expect_close(f"mse_gradient on {shape}", got, expected, rtol=1e-10, atol=1e-15, hint=hint)


def glorot_uniform(student, rng):
    """glorot_uniform: shape, the ±√(6/(n_in + n_out)) bound, and the documented draw from rng."""
    for n_in, n_out in ((2, 5), (5, 3), (60, 40)):
        seed = int(rng.integers(2**31))
        outcome = student.call("glorot_uniform", n_in, n_out, np.random.default_rng(seed))
        got = numeric(outcome.returned(f"glorot_uniform({n_in}, {n_out}, rng)"))
        bound = np.sqrt(6.0 / (n_in + n_out))
        expect(
            got is not None and got.shape == (n_in, n_out),
            f"glorot_uniform({n_in}, {n_out}) has shape {None if got is None else got.shape}",
        )
        expect(
            np.all(np.abs(got) <= bound),
            f"glorot_uniform({n_in}, {n_out}) exceeds the bound ±{bound:.4f}\n  hint: {HINTS['glorot_uniform']}",
        )
        expect_close(
            f"glorot_uniform({n_in}, {n_out}, rng)",
            got,
            ref.glorot_uniform(n_in, n_out, np.random.default_rng(seed)),
            hint=HINTS["glorot_uniform"],
        )


def layer_forward(student, rng):
    """layer_forward: activation(X·W + b) for both activations, with input, z_in and z_out kept on the layer."""
    for sizes in SIZES:
        batch = int(rng.integers(1, 8))
        for layer in _random_network(sizes, rng):
            X = rng.normal(size=(batch, layer["W"].shape[0]))
            label = f"layer_forward ({layer['activation']}, X {X.shape})"
            outcome = student.call("layer_forward", layer, X, answers=_answers("layer_forward"))
            expected = ref.layer_forward(dict(layer), X)
            expect_close(label, outcome.returned(label), expected, rtol=1e-12, hint=HINTS["layer_forward"])
            kept = outcome.args[0]
            for key in ("input", "z_in", "z_out"):
                expect(
                    type(kept) is dict and key in kept,
                    f"layer_forward did not keep '{key}' on the layer\n  hint: {HINTS['layer_forward cache']}",
                )
            expect_close(
                "layer['z_in'] after layer_forward",
                kept["z_in"],
                X @ layer["W"] + layer["b"],
                hint=HINTS["layer_forward cache"],
            )
            expect_close("layer['input'] after layer_forward", kept["input"], X, hint=HINTS["layer_forward cache"])


def network_forward(student, rng):
    """network_forward: every layer in order, each through layer_forward."""
    for sizes in SIZES:
        batch = int(rng.integers(1, 8))
        network = _random_network(sizes, rng)
        X = rng.normal(size=(batch, sizes[0]))
        calls = []
        label = f"network_forward, sizes {sizes}, batch {batch}"
        got = student.call(
            "network_forward",
            network,
            X,
            answers=_answers("network_forward", layer_forward=_counted(calls, "layer", _layer_forward)),
        ).returned(label)
        expect_close(label, got, ref.network_forward(_copy(network), X), rtol=1e-12, hint=HINTS["network_forward"])
        expect(
            [shape for _, _, shape in calls] == [layer["W"].shape for layer in network],
            f"network_forward called layer_forward {len(calls)} times for {len(network)} layers\n  hint: "
            f"{HINTS['network_forward']}",
        )


def _backward(student, network, X, Y, label):
    """The gradients network_backward returns, and the lines of notebook code it ran; Fail on any misbehaviour."""
    forwards = []
    answers = _answers(
        "network_backward",
        network_forward=_counted(forwards, "network", _network_forward),
        layer_forward=_counted(forwards, "layer", _layer_forward),
    )
    outcome = student.call("network_backward", network, X, Y, answers=answers, count_lines=True)
    if outcome.error is not None:  # a shape error here is nearly always a missing transpose
        raise Fail(describe_error(label, outcome.error, HINTS["transposes"])) from None
    gradients = outcome.returned(label)
    after = outcome.args[0]
    expect(
        type(after) is list
        and all(
            type(a) is dict
            and np.array_equal(numeric(a.get("W")), layer["W"])
            and np.array_equal(numeric(a.get("b")), layer["b"])
            for a, layer in zip(after, network)
        ),
        f"network_backward changed the weights\n  hint: {HINTS['weights untouched']}",
    )
    parts = [len(inputs) for _, inputs, _ in forwards if len(inputs) != len(X)]
    expect(
        not parts,
        f"network_backward ran the forward pass on {len(parts)} parts of a batch of {len(X)} (of "
        f"{sorted(set(parts))} samples)\n  hint: {HINTS['whole batch']}",
    )
    expect(
        type(gradients) is list and len(gradients) == len(network),
        f"network_backward must return one {{'W', 'b'}} dict per layer ({len(network)})",
    )
    return gradients, outcome.lines


# Independent parts of the gradient, one point each: the output layer's W and b, the hidden layers' W and b.
GRADIENT_PARTS = {
    "the output layer's dW": (-1, "W"),
    "the output layer's db": (-1, "b"),
    "the hidden layers' dW": ("hidden", "W"),
    "the hidden layers' db": ("hidden", "b"),
}


def _part_right(results, layers, key):
    for label, gradients, expected in results:
        indices = range(len(expected) - 1) if layers == "hidden" else [len(expected) - 1]
        for index in indices:
            gradient = gradients[index]
            got = numeric(gradient.get(key)) if type(gradient) is dict else None
            expect(
                got is not None and got.shape == expected[index][key].shape,
                f"layer {index + 1} '{key}' gradient ({label}): expected shape {expected[index][key].shape}, got "
                f"{None if got is None else got.shape}\n  hint: {HINTS['transposes']}",
            )
            expect_close(
                f"layer {index + 1} d loss/d{key} ({label})",
                got,
                expected[index][key],
                rtol=1e-9,
                atol=1e-12,
                hint=HINTS["transposes"],
            )


def network_backward(student, rng):
    """network_backward: every gradient, batched (one forward pass on the whole batch, as many lines of code for
    any batch size), weights untouched; a point for each of the output and hidden layers' dW and db."""
    results = []
    for sizes in SIZES:
        network = _random_network(sizes, rng)
        lines = {}
        for batch in (2, 7):
            X = rng.normal(size=(batch, sizes[0]))
            Y = rng.uniform(size=(batch, sizes[-1]))
            label = f"sizes {sizes}, batch {batch}"
            gradients, lines[batch] = _backward(student, network, X, Y, f"network_backward ({label})")
            results.append((label, gradients, ref.network_backward(_copy(network), X, Y)))
        expect(
            lines[2] == lines[7],
            f"network_backward ran {lines[2]} lines of your code for a batch of 2 and "
            f"{lines[7]} for a batch of 7 (sizes {sizes})\n  hint: {HINTS['whole batch']}",
        )
    return parts({name: part(_part_right, results, *where) for name, where in GRADIENT_PARTS.items()})


def gradient_step(student, rng):
    """gradient_step: W ← W − lr·dW and b ← b − lr·db in every layer of the network it is given, which it returns."""
    network = _random_network((3, 4, 2), rng)
    rate = float(rng.uniform(0.05, 0.5))
    gradients = [{"W": rng.normal(size=layer["W"].shape), "b": rng.normal(size=layer["b"].shape)} for layer in network]
    outcome = student.call("gradient_step", network, gradients, rate)
    result = outcome.returned(f"gradient_step(lr={rate:.3g})")
    updated = outcome.args[0]
    for index, (layer, gradient) in enumerate(zip(network, gradients)):
        got = updated[index] if type(updated) is list and index < len(updated) and type(updated[index]) is dict else {}
        changed = not np.array_equal(numeric(got.get("W")), layer["W"]) if numeric(got.get("W")) is not None else True
        expect(
            changed, f"gradient_step left the network it was given as it was\n  hint: {HINTS['gradient_step in place']}"
        )
        expect_close(
            f"layer {index + 1} W after gradient_step(lr={rate:.3g})",
            got.get("W"),
            layer["W"] - rate * gradient["W"],
            hint=HINTS["gradient_step"],
        )
        expect_close(
            f"layer {index + 1} b after gradient_step(lr={rate:.3g})",
            got.get("b"),
            layer["b"] - rate * gradient["b"],
            hint=HINTS["gradient_step"],
        )
    expect(
        same(result, updated),
        f"gradient_step returned {type(result).__name__}, not the network it updated\n  "
        f"hint: {HINTS['gradient_step in place']}",
    )


def _shown_kind(value):
    return f"a {type(value).__name__} of {len(value)}" if type(value) in (tuple, list) else type(value).__name__


def train(student, rng):
    """train: the documented defaults, and the reference run on other data and settings, pieces answered."""
    parameters = student.signature("train")
    defaults = {"sizes": ref.SIZES, "epochs": ref.EPOCHS, "learning_rate": ref.LEARNING_RATE, "seed": ref.SEED}
    shown = {k: parameters.get(k) for k in defaults}
    expect(same(shown, defaults), f"train's defaults are {shown}\n  hint: {HINTS['train defaults']}")
    X = rng.normal(size=(6, 2))
    Y = rng.uniform(size=(6, 1))
    sizes, epochs, rate, seed = (2, 4, 1), 30, float(rng.uniform(0.2, 0.6)), int(rng.integers(1000))
    label = f"train(X, Y, sizes={sizes}, epochs={epochs}, learning_rate={rate:.3g}, seed={seed})"
    result = student.call("train", X, Y, sizes, epochs, rate, seed, answers=_answers("train")).returned(label)
    expect(
        type(result) in (tuple, list) and len(result) == 2,
        f"train must return (network, epoch_losses), got {_shown_kind(result)}",
    )
    _, expected = ref.train(X, Y, sizes, epochs, rate, seed)
    expect_close(f"{label} losses", result[1], expected, hint=HINTS["train"])
