"""The network: what it is, before any training.

- :mod:`.activations`: the one table of activations (both vocabularies, their
  Keras names, which leave a network linear, which read back exactly);
- :mod:`.spec`: the one definition of the network (layer sizes, activations,
  dtype, initial weights) and the Keras model built from it;
- :mod:`.numpy_forward`: the same network's outputs on NumPy, for
  scikit-learn's activations (prediction, and the stacked epochs' table of
  activations);
- :mod:`.inputs`: the rows as the training back-ends take them (dense or
  sparse, chunked, gathered);
- :mod:`.kernel_cache`: TensorFlow's eager kernel cache, cleared once the
  Keras models built have declared enough new variable shapes;
- :mod:`.polynomial`: a fitted network of square and linear units read back
  as the polynomial it computes.

It imports only :mod:`sklearn_fitfn._quiet`; everything else imports it.
"""
