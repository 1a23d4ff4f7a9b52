"""The course data file, loaded only after its sha256 matches data/PROVENANCE.md.

The backprop notebook also carries the file inside itself (a locked cell holding it lzma-compressed and
base64-encoded), so that it runs uploaded alone to Colab; `python -m graders embed` writes that cell from
data/data.pkl, and tests/test_notebooks.py checks it decodes to the same bytes.
"""

import base64
import hashlib
import lzma
import pickle
import textwrap
from pathlib import Path

import numpy as np

DATA_SHA256 = "a0a45d280cae625d470edaf2e30382d8cd38f90ba1ee1ed4617ef2f7e4aa678c"
DATA_PATH = Path(__file__).resolve().parents[3] / "data" / "data.pkl"
EMBEDDED_CELL_ID = "embedded_data"
EMBEDDED_NAME = "DATA_PKL_LZMA_BASE64"


def load_data(path=DATA_PATH):
    """Return (X, y) from data.pkl: X is (506, 5) float64, y is (506,) float64."""
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DATA_SHA256:
        raise ValueError(f"{path}: sha256 {digest} is not the course data file ({DATA_SHA256})")
    data = np.asarray(pickle.loads(raw), dtype=np.float64)
    return data[:, :5], data[:, -1]


def embedded_cell_source(path=DATA_PATH):
    """The notebook cell that holds data.pkl: lzma (10 KB instead of 24 KB), base64, 96-character lines."""
    encoded = base64.b64encode(lzma.compress(Path(path).read_bytes(), preset=9 | lzma.PRESET_EXTREME)).decode()
    lines = "\n".join(f'    "{chunk}"' for chunk in textwrap.wrap(encoded, 96))
    return (
        '#@title The course data, embedded (read-only; collapsed on purpose) { display-mode: "form" }\n'
        "# A copy of data.pkl, so this notebook runs on its own (uploaded alone to Colab, say). load_data() below\n"
        "# prefers a data.pkl beside the notebook and checks either against the file's sha256.\n"
        f"{EMBEDDED_NAME} = (\n{lines}\n)"
    )


def decode_embedded(cell_source):
    """The bytes an embedded-data cell holds (what the notebook's load_data decodes)."""
    namespace = {}
    exec(cell_source, namespace)
    return lzma.decompress(base64.b64decode(namespace[EMBEDDED_NAME]))


def embed_data(notebook):
    """Write the embedded-data cell of a notebook from data/data.pkl; returns the notebook."""
    cell = next(c for c in notebook.cells if c.get("id") == EMBEDDED_CELL_ID)
    cell.source = embedded_cell_source()
    return notebook
