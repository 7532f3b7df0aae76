"""Model package: data, training, evaluation, serving."""
