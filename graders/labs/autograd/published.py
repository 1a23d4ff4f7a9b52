"""Numbers published with the original PyTorch lab (float32); checks compare at SEED_RTOL, which float64 meets."""

SEED_RTOL = 1e-5  # float64 reproduces every number below to within 1.3e-6

POLYNOMIAL = {"dy/dx": 7.0, "dy/du": 4.0, "dy/dv": 1.0}  # y = 2x³ + x at x = 1; y = uv + u² at u = 1, v = 2

LINEAR_DATA = ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
LINEAR_START = {"w": 1.0, "b": -1.0, "learning_rate": 0.01, "epochs": 10}
LINEAR = {
    "first_loss": 8.035331726074219,
    "last_loss": 0.04233689606189728,
    "w": 2.1490650177001953,
    "prediction_at_4": 8.151883125305176,
}

QUADRATIC_DATA = ([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 6.0, 15.0, 28.0, 45.0])
QUADRATIC_START = {"w1": 1.0, "w2": 1.0, "learning_rate": 0.0012, "epochs": 100}
QUADRATIC = {"first_loss": 19.670841217041016, "last_loss": 0.7306660413742065}
