"""Numerically stable pieces the reference implementations share."""

import math

import numpy as np


def sigmoid(z):
    """Logistic function for scalars and arrays; exp is only taken of non-positive numbers."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    out = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out[()] if out.ndim == 0 else out


def sigmoid_float(z):
    """The same for one Python float, with the math module (fast in per-sample loops)."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
