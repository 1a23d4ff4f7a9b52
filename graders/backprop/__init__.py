"""The backprop lab: a 9-weight computational graph, its gradients and three optimizers."""
