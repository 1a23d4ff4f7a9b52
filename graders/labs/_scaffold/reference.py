"""Reference implementation of the __lab__ lab, written independently of the notebook's solution."""

import numpy as np


def softmax(z):
    shifted = np.asarray(z, dtype=np.float64) - np.max(z, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)
