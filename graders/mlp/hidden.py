"""Hidden checks of the MLP lab; each has the name of the function it grades (see graders/backprop/hidden.py).

Gradients are compared with central finite differences on random shapes and batch sizes; every function is
graded with the reference versions of the ones it calls.
"""
import warnings

import numpy as np

from graders.checking import call_quietly, expect, expect_close, require_function, substituted
from graders.mlp import reference as ref

NAMES = ("sigmoid", "sigmoid_derivative", "tanh_derivative", "mse_loss", "mse_gradient", "glorot_uniform",
         "layer_forward", "network_forward", "network_backward", "gradient_step")
SHAPES = [((3, 4, 2), 1), ((2, 5, 3, 1), 5), ((4, 1), 7), ((2, 3, 3, 2), 4)]  # (layer sizes, batch size)
TRANSPOSES = "dW = Z_out(previous)ᵀ · Δ, db = Δ summed over the batch, Δ(previous) = (Δ · Wᵀ) ⊙ σ'(Z_in(previous))"


def _reference(fn, name):
    """Rebind every lab function but `name` in fn's notebook to the reference."""
    return substituted(fn, **{n: getattr(ref, n) for n in NAMES if n != name})


def _finite_difference(f, x, h=1e-6):
    x, grad = np.array(x, dtype=np.float64), np.zeros(np.shape(x))
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        up = f(x)
        x[index] = original - h
        down = f(x)
        x[index] = original
        grad[index] = (up - down) / (2 * h)
    return grad


def sigmoid(fn):
    """sigmoid: arrays of any shape, and ±1000 without an overflow warning."""
    require_function(fn, "sigmoid")
    z = np.random.default_rng(1).normal(0, 4, (3, 5))
    expect_close("sigmoid(3×5 array)", call_quietly(fn, z), ref.sigmoid(z), rtol=1e-12, atol=1e-15)
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        extreme = fn(np.array([-1000.0, 0.0, 1000.0]))
    expect(not caught, "sigmoid overflowed at -1000\n  hint: for z < 0 use e^z / (1 + e^z)")
    expect_close("sigmoid([-1000, 0, 1000])", extreme, [0.0, 0.5, 1.0])


def _derivative(fn, name, function, hint):
    require_function(fn, name)
    with _reference(fn, name):
        z = np.random.default_rng(2).normal(0, 2, (4, 3))
        got = call_quietly(fn, z)
        elementwise_difference = (function(z + 1e-6) - function(z - 1e-6)) / 2e-6
        expect_close(f"{name}(4×3 array) against finite differences", got, elementwise_difference,
                     rtol=1e-7, atol=1e-9, hint=hint)
        expect_close(f"{name}(4×3 array)", got, getattr(ref, name)(z), rtol=1e-10, atol=1e-15, hint=hint)


def sigmoid_derivative(fn):
    """sigmoid_derivative: σ'(z) at the pre-activation z, against finite differences."""
    _derivative(fn, "sigmoid_derivative", ref.sigmoid,
                "σ'(z) = σ(z)(1 − σ(z)) with σ evaluated at the input z (z(1 − z) is the formula for the output)")


def tanh_derivative(fn):
    """tanh_derivative: 1 − tanh(z)² at the pre-activation z, against finite differences."""
    _derivative(fn, "tanh_derivative", np.tanh,
                "tanh'(z) = 1 − tanh(z)² with tanh evaluated at the input z")


def mse_loss(fn):
    """mse_loss: the mean of the squared errors over every sample and output."""
    require_function(fn, "mse_loss")
    rng = np.random.default_rng(3)
    for shape in ((5, 1), (7, 3)):
        Y, Y_hat = rng.normal(size=shape), rng.normal(size=shape)
        expect_close(f"mse_loss on {shape}", call_quietly(fn, Y, Y_hat), ref.mse_loss(Y, Y_hat), rtol=1e-12,
                     hint="np.mean((Y_hat - Y) ** 2): the mean over all elements")


def mse_gradient(fn):
    """mse_gradient: the derivative of the (mean) loss, against finite differences of mse_loss."""
    require_function(fn, "mse_gradient")
    rng = np.random.default_rng(4)
    for shape in ((5, 1), (7, 3), (1, 1)):
        Y, Y_hat = rng.normal(size=shape), rng.normal(size=shape)
        got = np.asarray(call_quietly(fn, Y, Y_hat), dtype=np.float64)
        expected = _finite_difference(lambda v: ref.mse_loss(Y, v), Y_hat)
        hint = "2·(Y_hat − Y) / (number of elements): the loss is a mean, so its gradient is divided too"
        if got.shape == expected.shape and Y.size > 1 and np.allclose(got, expected * Y.size, rtol=1e-6):
            hint = "this is the gradient of the sum of squared errors, but the loss is their mean: " + hint
        expect_close(f"mse_gradient on {shape} against finite differences of mse_loss", got, expected, rtol=1e-6,
                     atol=1e-9, hint=hint)


def glorot_uniform(fn):
    """glorot_uniform: shape, the ±√(6/(n_in + n_out)) bound, and the documented draw from rng."""
    require_function(fn, "glorot_uniform")
    for n_in, n_out in ((2, 5), (5, 3), (300, 200)):
        got = np.asarray(call_quietly(fn, n_in, n_out, np.random.default_rng(11)), dtype=np.float64)
        bound = np.sqrt(6.0 / (n_in + n_out))
        expect(got.shape == (n_in, n_out), f"glorot_uniform({n_in}, {n_out}) has shape {got.shape}")
        expect(np.all(np.abs(got) <= bound), f"glorot_uniform({n_in}, {n_out}) exceeds the bound ±{bound:.4f}")
        expect_close(f"glorot_uniform({n_in}, {n_out}, default_rng(11))", got,
                     ref.glorot_uniform(n_in, n_out, np.random.default_rng(11)),
                     hint="rng.uniform(-bound, bound, size=(n_in, n_out)) with bound = sqrt(6 / (n_in + n_out))")


def _random_network(sizes, seed):
    network = ref.make_network(sizes, np.random.default_rng(seed))
    for layer in network:  # non-zero biases, so a bias bug shows
        layer["b"] = np.random.default_rng(seed + 1).normal(0, 0.5, layer["b"].shape)
    return network


def layer_forward(fn):
    """layer_forward: activation(X·W + b) for both activations, with input, z_in and z_out kept on the layer."""
    require_function(fn, "layer_forward")
    with _reference(fn, "layer_forward"):
        for sizes, batch in SHAPES:
            for layer in _random_network(sizes, batch):
                X = np.random.default_rng(batch).normal(size=(batch, layer["W"].shape[0]))
                expected = ref.layer_forward(dict(layer), X)
                got = call_quietly(fn, layer, X)
                expect_close(f"layer_forward ({layer['activation']}, X {X.shape})", got, expected, rtol=1e-12,
                             hint="Z_in = X @ W + b, then the layer's activation")
                for key in ("input", "z_in", "z_out"):
                    expect(key in layer, f"layer_forward must keep '{key}' on the layer for the backward pass")
                expect_close("layer['z_in'] after layer_forward", layer["z_in"], X @ layer["W"] + layer["b"])


def network_forward(fn):
    """network_forward: every layer in order, each through layer_forward."""
    require_function(fn, "network_forward")
    with _reference(fn, "network_forward"):
        for sizes, batch in SHAPES:
            network = _random_network(sizes, batch)
            X = np.random.default_rng(batch).normal(size=(batch, sizes[0]))
            expected = ref.network_forward(_random_network(sizes, batch), X)
            expect_close(f"network_forward, sizes {sizes}, batch {batch}", call_quietly(fn, network, X), expected,
                         rtol=1e-12, hint="feed each layer's output to the next with layer_forward")
            expect(all("z_in" in layer for layer in network), "network_forward must go through layer_forward")


def network_backward(fn):
    """network_backward: every gradient against finite differences, batched, weights untouched."""
    require_function(fn, "network_backward")
    calls = []

    def counted_layer_forward(layer, X):
        calls.append(len(X))
        return ref.layer_forward(layer, X)

    with _reference(fn, "network_backward"), substituted(fn, layer_forward=counted_layer_forward):
        for sizes, batch in SHAPES:
            network = _random_network(sizes, 7 * batch)
            X = np.random.default_rng(batch).normal(size=(batch, sizes[0]))
            Y = np.random.default_rng(batch + 50).uniform(size=(batch, sizes[-1]))
            before = [(layer["W"].copy(), layer["b"].copy()) for layer in network]
            calls.clear()
            try:
                gradients = call_quietly(fn, network, X, Y)
            except AssertionError as exc:  # a shape error here is nearly always a missing transpose
                raise AssertionError(f"{exc}\n  hint: {TRANSPOSES}") from None
            expect(all(np.array_equal(layer["W"], W) and np.array_equal(layer["b"], b)
                       for layer, (W, b) in zip(network, before)),
                   "network_backward changed the weights; compute every gradient first, update in gradient_step")
            expect(len(calls) <= len(network), f"network_backward ran layer_forward {len(calls)} times for "
                   f"{len(network)} layers: use the whole batch at once, no Python loop over samples")
            expect(isinstance(gradients, list) and len(gradients) == len(network),
                   f"network_backward must return one {{'W', 'b'}} dict per layer ({len(network)})")
            for index, (layer, gradient) in enumerate(zip(network, gradients)):
                for key in ("W", "b"):
                    def loss_at(value, index=index, key=key):
                        probe = [dict(l) for l in network]
                        probe[index] = {**probe[index], key: value}
                        return ref.mse_loss(Y, ref.network_forward(probe, X))
                    expected = _finite_difference(loss_at, layer[key])
                    got = gradient.get(key) if isinstance(gradient, dict) else None
                    expect(got is not None and np.shape(got) == expected.shape,
                           f"layer {index + 1} '{key}' gradient: expected shape {expected.shape}, got "
                           f"{None if got is None else np.shape(got)}\n  hint: {TRANSPOSES}")
                    expect_close(f"layer {index + 1} d loss/d{key} (sizes {sizes}, batch {batch})", got, expected,
                                 rtol=1e-5, atol=1e-9, hint=TRANSPOSES)


def gradient_step(fn):
    """gradient_step: W ← W − lr·dW and b ← b − lr·db in every layer."""
    require_function(fn, "gradient_step")
    network = _random_network((3, 4, 2), 5)
    gradients = [{"W": np.full(layer["W"].shape, 0.5), "b": np.full(layer["b"].shape, -2.0)} for layer in network]
    expected = [(layer["W"] - 0.1 * 0.5, layer["b"] + 0.1 * 2.0) for layer in network]
    result = call_quietly(fn, network, gradients, 0.1)
    updated = result if isinstance(result, list) else network
    for index, (layer, (W, b)) in enumerate(zip(updated, expected)):
        expect_close(f"layer {index + 1} W after gradient_step(lr=0.1)", layer["W"], W, hint="W − learning_rate·dW")
        expect_close(f"layer {index + 1} b after gradient_step(lr=0.1)", layer["b"], b, hint="b − learning_rate·db")


def train(fn):
    """train: the reference run for a few epochs, then below the target loss on the five points at the defaults."""
    require_function(fn, "train")
    with _reference(fn, "train"), substituted(fn, make_network=ref.make_network):
        result = call_quietly(fn, ref.X_FIVE, ref.Y_FIVE, (2, 4, 1), 30, 0.5, 3)
        expect(isinstance(result, tuple) and len(result) == 2, "train must return (network, epoch_losses)")
        _, expected = ref.train(ref.X_FIVE, ref.Y_FIVE, (2, 4, 1), 30, 0.5, 3)
        expect_close("train(X, Y, sizes=(2, 4, 1), epochs=30, learning_rate=0.5, seed=3) losses", result[1], expected,
                     hint="network = make_network(sizes, np.random.default_rng(seed)); each epoch: record the loss "
                          "of the forward pass, then network_backward and gradient_step")
        _, losses = call_quietly(fn, ref.X_FIVE, ref.Y_FIVE)
        final = float(np.asarray(losses)[-1])
        expect(final < ref.TARGET_LOSS, f"train at the defaults ended at loss {final:.4g}, not below {ref.TARGET_LOSS}")
