"""The course data file, loaded only after its sha256 matches data/PROVENANCE.md."""
import hashlib
import pickle
from pathlib import Path

import numpy as np

DATA_SHA256 = "a0a45d280cae625d470edaf2e30382d8cd38f90ba1ee1ed4617ef2f7e4aa678c"
DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "data.pkl"


def load_data(path=DATA_PATH):
    """Return (X, y) from data.pkl: X is (506, 5) float64, y is (506,) float64."""
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DATA_SHA256:
        raise ValueError(f"{path}: sha256 {digest} is not the course data file ({DATA_SHA256})")
    data = np.asarray(pickle.loads(raw), dtype=np.float64)
    return data[:, :5], data[:, -1]
