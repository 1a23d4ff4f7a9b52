"""Sample class of the MLP lab: right answers written differently and the classic backpropagation bugs."""

from graders.labs.mlp.checks import GRADED
from graders.labs.sample import Sample, reference_answers, replaced

REFERENCE = reference_answers("mlp")


def _with(**cells):
    return {**REFERENCE, **cells}


ALTERNATIVE = {
    "sigmoid": '''def sigmoid(z):
    """(1 + tanh(z/2)) / 2: stable without branches."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))''',
    "mse_gradient": '''def mse_gradient(Y, Y_hat):
    """Through np.subtract and the element count."""
    return np.subtract(Y_hat, Y) * (2.0 / np.size(Y))''',
    "network_backward": '''def network_backward(network, X, Y):
    """einsum for the weight gradients, a list filled from the back."""
    delta = mse_gradient(Y, network_forward(network, X))
    gradients = [None] * len(network)
    for index in range(len(network) - 1, -1, -1):
        layer = network[index]
        delta = delta * activation_functions(layer["activation"])[1](layer["z_in"])
        gradients[index] = {"W": np.einsum("ni,nj->ij", layer["input"], delta), "b": np.sum(delta, axis=0)}
        delta = np.einsum("nj,ij->ni", delta, layer["W"])
    return gradients''',
    "gradient_step": '''def gradient_step(network, gradients, learning_rate):
    """In place, with -= on copies the network owns."""
    for layer, gradient in zip(network, gradients):
        layer["W"] = layer["W"].copy()
        layer["b"] = layer["b"].copy()
        layer["W"] -= learning_rate * gradient["W"]
        layer["b"] -= learning_rate * gradient["b"]
    return network''',
}

BUGS = {
    "bug-missing-transpose": (
        "network_backward",
        replaced(REFERENCE["network_backward"], 'delta @ layer["W"].T', 'delta @ layer["W"]'),
    ),
    "bug-gradient-for-sum-not-mean": ("mse_gradient", replaced(REFERENCE["mse_gradient"], " / Y.size", "")),
    "bug-sigmoid-derivative-on-output": (
        "sigmoid_derivative",
        replaced(
            REFERENCE["sigmoid_derivative"], "    s = sigmoid(z)\n    return s * (1.0 - s)", "    return z * (1.0 - z)"
        ),
    ),
    "bug-bias-gradient-not-summed": (
        "network_backward",
        replaced(REFERENCE["network_backward"], '"b": delta.sum(axis=0)', '"b": delta[0]'),
    ),
    "bug-updates-before-backward-ends": (
        "network_backward",
        replaced(
            REFERENCE["network_backward"],
            '        delta = delta @ layer["W"].T\n',
            '        layer["W"] = layer["W"] - 0.25 * gradients[-1]["W"]  # update now, propagate with the new W\n'
            '        delta = delta @ layer["W"].T\n',
        ),
    ),
}

# Right answers the helper's honest students wrote: keyword calls, a debugging forward pass on the whole batch, train
# returning its pair as a list.
KEYWORDS_AND_DEBUGGING = {
    "network_forward": '''def network_forward(network, X):
    """Layer by layer, by keyword."""
    for layer in network:
        X = layer_forward(layer=layer, X=X)
    return X''',
    "network_backward": '''def network_backward(network, X, Y):
    """Prints the loss first (a second forward pass, on the whole batch), then the batched backward pass."""
    print("loss before backward:", mse_loss(Y, network_forward(network, X)))
    delta = mse_gradient(Y=Y, Y_hat=network_forward(network, X))
    gradients = []
    for layer in reversed(network):
        delta = delta * activation_functions(layer["activation"])[1](layer["z_in"])
        gradients.append({"W": layer["input"].T @ delta, "b": delta.sum(axis=0)})
        delta = delta @ layer["W"].T
    return gradients[::-1]''',
}
KEYWORDS_AND_DEBUGGING["train"] = replaced(
    REFERENCE["train"], "    return network, losses\n", "    return [network, losses]\n"
)

# What the task text pins, broken one sentence at a time (each costs its own cell).
PINNED = {
    "bug-backward-loops-over-samples": (
        "network_backward",
        "no Python loop over samples",
        '''def network_backward(network, X, Y):
    """One sample at a time, the gradients summed: right values, a Python loop over the batch."""
    gradients = [{"W": np.zeros_like(layer["W"]), "b": np.zeros_like(layer["b"])} for layer in network]
    for i in range(len(X)):
        delta = mse_gradient(Y[i:i + 1], network_forward(network, X[i:i + 1])) / len(X)
        for index in range(len(network) - 1, -1, -1):
            layer = network[index]
            delta = delta * activation_functions(layer["activation"])[1](layer["z_in"])
            gradients[index]["W"] += layer["input"].T @ delta
            gradients[index]["b"] += delta.sum(axis=0)
            delta = delta @ layer["W"].T
    return gradients''',
    ),
    "bug-backward-loops-over-rows": (
        "network_backward",
        "computed for the whole batch with matrix products",
        '''def network_backward(network, X, Y):
    """One batched forward pass, then the rows one by one: right values, a Python loop over the batch."""
    out = network_forward(network, X)
    gradients = [{"W": np.zeros_like(layer["W"]), "b": np.zeros_like(layer["b"])} for layer in network]
    for i in range(len(X)):
        delta = 2.0 * (out[i:i + 1] - Y[i:i + 1]) / Y.size
        for index in range(len(network) - 1, -1, -1):
            layer = network[index]
            delta = delta * activation_functions(layer["activation"])[1](layer["z_in"][i:i + 1])
            gradients[index]["W"] += layer["input"][i:i + 1].T @ delta
            gradients[index]["b"] += delta[0]
            delta = delta @ layer["W"].T
    return gradients''',
    ),
    "bug-gradient-step-returns-a-copy": (
        "gradient_step",
        "gradient_step does that, in place, and returns the same network",
        replaced(
            REFERENCE["gradient_step"],
            """    for layer, gradient in zip(network, gradients):
        layer["W"] = layer["W"] - learning_rate * gradient["W"]
        layer["b"] = layer["b"] - learning_rate * gradient["b"]
    return network""",
            """    return [{**layer, "W": layer["W"] - learning_rate * gradient["W"], "b": layer["b"] - learning_rate * gradient["b"]}
            for layer, gradient in zip(network, gradients)]""",
        ),
    ),
    "bug-glorot-uses-normal": (
        "glorot_uniform",
        "rng.uniform(-bound, bound, size=(n_in, n_out))",
        replaced(
            REFERENCE["glorot_uniform"],
            "rng.uniform(-bound, bound, size=(n_in, n_out))",
            "rng.normal(0.0, bound, size=(n_in, n_out))",
        ),
    ),
    "bug-layer-forward-forgets-its-cache": (
        "layer_forward",
        "layer_forward also keeps input, z_in and z_out on it",
        replaced(
            REFERENCE["layer_forward"],
            """    layer["input"] = X
    layer["z_in"] = X @ layer["W"] + layer["b"]
    layer["z_out"] = function(layer["z_in"])
    return layer["z_out"]""",
            '    return function(X @ layer["W"] + layer["b"])',
        ),
    ),
    "bug-mse-loss-sums-the-outputs": (
        "mse_loss",
        "The loss is mean((Y_hat − Y)²) over all entries",
        replaced(REFERENCE["mse_loss"], "np.mean((Y_hat - Y) ** 2)", "np.mean(np.sum((Y_hat - Y) ** 2, axis=1))"),
    ),
    "bug-train-records-the-loss-after-the-step": (
        "train",
        "then each epoch records the loss of the forward pass, computes the gradients and takes one step",
        replaced(
            REFERENCE["train"],
            "        losses[epoch] = mse_loss(Y, network_forward(network, X))\n"
            "        gradient_step(network, network_backward(network, X, Y), learning_rate)\n",
            "        gradient_step(network, network_backward(network, X, Y), learning_rate)\n"
            "        losses[epoch] = mse_loss(Y, network_forward(network, X))\n",
        ),
    ),
}
# A bug in one part of the gradient costs that part's point only (graders/labs/mlp/checks.py GRADIENT_PARTS).
PARTIAL = {"bug-bias-gradient-not-summed": {"test_network_backward": 2}}


def _charged(student, cell):
    return {"partial": PARTIAL[student]} if student in PARTIAL else {"loses": (f"test_{cell}",)}


SAMPLES = [
    Sample("reference-solution", "the instructor's solution", REFERENCE),
    Sample("correct-alternative", "sigmoid via tanh, einsum gradients, in-place steps", _with(**ALTERNATIVE)),
    Sample(
        "correct-keywords-and-debugging",
        "keyword calls, a debugging forward pass, train's pair as a list",
        _with(**KEYWORDS_AND_DEBUGGING),
    ),
    *[
        Sample(student, f"a classic bug in {cell}", _with(**{cell: source}), **_charged(student, cell))
        for student, (cell, source) in BUGS.items()
    ],
    *[
        Sample(student, f"breaks what the text pins: {pinned}", _with(**{cell: source}), loses=(f"test_{cell}",))
        for student, (cell, pinned, source) in PINNED.items()
    ],
    Sample(
        "unanswered",
        "the release as handed out",
        loses=tuple(f"test_{name}" for name in GRADED),
    ),
]
