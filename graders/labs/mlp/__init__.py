"""The MLP lab: vectorized, batched backpropagation for a small network, in numpy."""

POSITION = 3
PLOT_CELL = "plots"  # the decision boundary and loss curve the hand-graded answer is about
FIGURE_CELLS = ()  # markdown cells carrying a drawn figure
