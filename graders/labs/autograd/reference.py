"""Reference training runs of the autograd lab, in float arithmetic (the engine's reference pass is
graders/labs/autograd/expressions.py)."""


def train_linear(x_data, y_data, w=1.0, b=-1.0, learning_rate=0.01, epochs=10):
    """Per-sample gradient descent on (w·x + b − y)², in float arithmetic; (epoch mean losses, w, b)."""
    losses = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(x_data, y_data):
            error = w * x + b - y
            total += error * error
            w, b = w - learning_rate * 2.0 * error * x, b - learning_rate * 2.0 * error
        losses.append(total / len(x_data))
    return losses, w, b


def train_quadratic(x_data, y_data, w1=1.0, w2=1.0, learning_rate=0.0012, epochs=100):
    """Per-sample gradient descent on (w2·x² + w1·x − y)²; (epoch mean losses, w1, w2)."""
    losses = []
    for _ in range(epochs):
        total = 0.0
        for x, y in zip(x_data, y_data):
            error = w2 * x * x + w1 * x - y
            total += error * error
            w1, w2 = w1 - learning_rate * 2.0 * error * x, w2 - learning_rate * 2.0 * error * x * x
        losses.append(total / len(x_data))
    return losses, w1, w2
