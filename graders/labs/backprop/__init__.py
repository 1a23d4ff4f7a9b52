"""The backprop lab: a 9-weight computational graph, its gradients and three optimizers."""

POSITION = 1
PLOT_CELL = "optimizer_comparison"  # the cell whose figure the hand-graded answer is about
FIGURE_CELLS = ("graph_description",)  # markdown cells carrying a drawn figure (figure.py GRAPH_CELL_ID)


def embed(notebook):
    """The computational-graph figure and data/data.pkl, embedded so the notebook runs uploaded alone."""
    from graders.labs.backprop.data import embed_data
    from graders.labs.backprop.figure import embed_graph

    return embed_data(embed_graph(notebook))
