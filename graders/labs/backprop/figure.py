"""The backprop lab's computational-graph figure, drawn to PNG and embedded in the notebook's markdown.

The image is a data URI in the markdown (`![alt](data:image/png;base64,…)`), the form Colab itself writes for a
pasted image: Colab does not render markdown attachments (googlecolab/colabtools#3836), JupyterLab renders both.
So the figure travels inside the .ipynb, shows before anything runs and costs nothing at grading time.
`python -m graders embed` re-embeds it; tests/test_notebooks.py checks the embedded copy is what this code draws.
"""

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

GRAPH_CELL_ID = "graph_description"
IMAGE = re.compile(r"!\[([^\]]*)\]\((?:attachment:[^)]*|data:image/png;base64,[A-Za-z0-9+/=]*)\)")

NODES = {  # name: (x, y, label)
    "f1": (0, 6, "$f_1$"),
    "f2": (0, 5, "$f_2$"),
    "f3": (0, 3, "$f_3$"),
    "f4": (0, 2, "$f_4$"),
    "f5": (0, 1, "$f_5$"),
    "m1": (1.4, 6, r"$\times w_1$"),
    "m2": (1.4, 5, r"$\times w_2$"),
    "m3": (1.4, 3, r"$\times w_3$"),
    "m4": (1.4, 2, r"$\times w_4$"),
    "m5": (1.4, 1, r"$\times w_5$"),
    "a12": (2.8, 5.5, "$+$"),
    "sin": (2.8, 3, r"$\sin$"),
    "a45": (2.8, 1.5, "$+$"),
    "sq": (4.2, 5.5, r"$(\cdot)^2$"),
    "mul": (4.2, 2.25, r"$\times$"),
    "a6": (5.6, 5.5, "$+w_6$"),
    "a8": (5.6, 2.25, "$+w_8$"),
    "exp": (7.0, 5.5, r"$\exp$"),
    "sig": (7.0, 2.25, r"$\sigma$"),
    "a7": (8.4, 5.5, "$+w_7$"),
    "m9": (8.4, 2.25, r"$\times w_9$"),
    "tanh": (9.8, 5.5, r"$\tanh$"),
    "ypred": (11.2, 4, "$+$ → $y'$"),
    "loss": (12.9, 4, "$L=(y-y')^2$"),
}
EDGES = [
    ("f1", "m1"),
    ("f2", "m2"),
    ("f3", "m3"),
    ("f4", "m4"),
    ("f5", "m5"),
    ("m1", "a12"),
    ("m2", "a12"),
    ("m3", "sin"),
    ("m4", "a45"),
    ("m5", "a45"),
    ("a12", "sq"),
    ("sin", "mul"),
    ("a45", "mul"),
    ("sq", "a6"),
    ("mul", "a8"),
    ("a6", "exp"),
    ("a8", "sig"),
    ("exp", "a7"),
    ("sig", "m9"),
    ("a7", "tanh"),
    ("tanh", "ypred"),
    ("m9", "ypred"),
    ("ypred", "loss"),
]
PARTS = [
    ("part 1", 1.0, 4.7, 6.6, 1.8, "#dbe9f6"),
    ("part 2", 7.9, 4.7, 2.6, 1.8, "#e2f0d9"),
    ("part 3", 2.3, 0.6, 5.5, 3.1, "#fbe5d6"),
]


def computational_graph_png():
    """The graph as base64 PNG: inputs on the left, the three parts shaded, the loss on the right."""
    with plt.rc_context({"font.family": "DejaVu Sans"}):
        fig, ax = plt.subplots(figsize=(12, 4.2))
        for label, x0, y0, width, height, colour in PARTS:
            ax.add_patch(plt.Rectangle((x0, y0), width, height, color=colour, zorder=0))
            ax.text(x0 + width - 0.1, y0 + 0.1, label, fontsize=10, ha="right", va="bottom", style="italic")
        for start, end in EDGES:
            (x0, y0, _), (x1, y1, _) = NODES[start], NODES[end]
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops=dict(arrowstyle="->", shrinkA=14, shrinkB=14, color="#555555"),
            )
        for x0, y0, label in NODES.values():
            ax.text(
                x0,
                y0,
                label,
                ha="center",
                va="center",
                fontsize=11,
                bbox=dict(boxstyle="round,pad=0.35", facecolor="white", edgecolor="#333333"),
            )
        ax.set_xlim(-0.5, 14.0)
        ax.set_ylim(0.4, 6.7)
        ax.axis("off")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def embed_graph(notebook):
    """Put the freshly drawn graph into the image of the notebook's graph cell, as a data URI; returns the notebook."""
    cell = next(c for c in notebook.cells if c.get("id") == GRAPH_CELL_ID)
    uri = f"data:image/png;base64,{computational_graph_png()}"
    cell.source, images = IMAGE.subn(lambda image: f"![{image[1]}]({uri})", cell.source)
    if images != 1:
        raise ValueError(f"the cell {GRAPH_CELL_ID} must hold exactly one image, not {images}")
    cell.pop("attachments", None)
    return notebook
