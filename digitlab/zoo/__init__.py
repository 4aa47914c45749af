"""The zoo: the registry, training configs, Keras builders, the numpy forward pass."""
