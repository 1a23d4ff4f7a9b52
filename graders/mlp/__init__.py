"""The MLP lab: vectorized, batched backpropagation for a small network, in numpy."""
