"""The one definition of the network.

:class:`NetworkSpec` resolves the hyperparameters (input width, hidden
layers, their activations, output width, dtype) once, validates them, and
gives everything else its network: the starting weights, the compiled
engine's forward and backward pass, and the Keras model. The two passes and
the Keras model are tested against each other (tests/test_spec.py), so a new
activation or layer option is added here and nowhere else.

The spec is an immutable named tuple of plain values: TensorFlow keys the
compiled engine's traced functions on its values, so equal specs share one
trace.
"""

from numbers import Integral
from typing import NamedTuple

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError

from .._quiet.tensorflow import keras, tf
from .activations import POSITIVE_INPUT_ACTIVATIONS, activation_function, canonical_activation
from .inputs import matmul
from .kernel_cache import note_variable_shapes

#: What ``dtype`` may be.
DTYPES = ("float32", "float64")


def invalid_parameter(owner, name, requirement, value):
    """scikit-learn's error for a parameter, naming it and what it must be."""
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {requirement}; got {value!r}."
    )


#: The name a saved Keras model gives the log unit's function.
KERAS_LOG_NAME = "sklearn_fitfn>log"


def keras_log(x):
    """The log unit in a Keras model: ``keras.ops.log`` (Keras has no log
    activation of its own)."""
    return keras.ops.log(x)


def _register_keras_log():
    """Register :func:`keras_log` with Keras as ``sklearn_fitfn>log``, so that a
    saved model names it: once, and only when a network with log units is
    built (a process that never asks for log units keeps Keras's registry as
    it was)."""
    if KERAS_LOG_NAME not in keras.saving.get_custom_objects():
        keras.saving.register_keras_serializable(package="sklearn_fitfn", name="log")(keras_log)


class NetworkSpec(NamedTuple):
    """A multilayer perceptron: dense hidden layers and a linear or exponential output.

    Parameters
    ----------
    n_inputs : int
        Input width.
    hidden_layer_sizes : tuple of int
        Units of each hidden layer; empty for a linear model.
    activations : tuple of str
        Keras name of each hidden layer's activation.
    n_outputs : int
        Output width.
    dtype : {"float32", "float64"}
        Dtype of the weights and of every computation.
    out_activation : {"identity", "exp"}
        The output layer's activation, with MLPRegressor's names; it also
        chooses the compiled engine's loss, as MLPRegressor pairs them: half
        the squared error for ``"identity"``, half the Poisson deviance for
        ``"exp"`` (``loss="poisson"``).
    """

    n_inputs: int
    hidden_layer_sizes: tuple
    activations: tuple
    n_outputs: int
    dtype: str
    out_activation: str = "identity"

    @classmethod
    def from_params(
        cls,
        hidden_layer_sizes,
        activation,
        dtype,
        n_inputs,
        n_outputs,
        *,
        out_activation="identity",
        owner="MLPFunctionRegressor",
    ):
        """Resolve and validate the estimator's hyperparameters.

        Parameters
        ----------
        hidden_layer_sizes : int or sequence of int
        activation : str or sequence of str
            One name for every hidden layer, or one per layer, in scikit-learn's
            or Keras's vocabulary.
        dtype : {"float32", "float64"}
            The data's, once validated (the estimator's ``dtype`` constraint
            checks the parameter).
        n_inputs, n_outputs : int
        out_activation : {"identity", "exp"}
        owner : str
            The estimator named in error messages.

        Raises
        ------
        InvalidParameterError
            Naming the parameter that is wrong, and how.
        """
        sizes = hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in sizes):
            raise invalid_parameter(
                owner, "hidden_layer_sizes", "positive integers only", hidden_layer_sizes
            )

        names = [activation] * len(sizes) if isinstance(activation, str) else list(activation)
        try:
            keras_names = tuple(canonical_activation(n) for n in names)
            if len(names) != len(sizes):
                raise ValueError(f"{len(names)} names for {len(sizes)} hidden layers")
        except ValueError as problem:
            raise invalid_parameter(
                owner,
                "activation",
                f"one activation name or one per hidden layer ({problem})",
                activation,
            ) from None
        return cls(
            int(n_inputs),
            tuple(int(s) for s in sizes),
            keras_names,
            int(n_outputs),
            str(dtype),
            out_activation,
        )

    @property
    def layer_units(self):
        """Widths from input to output: ``[n_inputs, *hidden, n_outputs]``."""
        return [self.n_inputs, *self.hidden_layer_sizes, self.n_outputs]

    # -- starting point --------------------------------------------------------

    def initial_weights(self, random_state):
        """Draw starting weights exactly as scikit-learn's MLP does.

        Uniform on ``±sqrt(factor / (fan_in + fan_out))`` with factor 6, or 2
        next to a logistic layer; kernel then bias for each layer, in order,
        from the same ``RandomState``. With the same seed and data, the
        starting point is ``MLPRegressor``'s.

        Parameters
        ----------
        random_state : numpy.random.RandomState

        Returns
        -------
        list of ndarray
            ``[kernel_0, bias_0, kernel_1, bias_1, ...]``.
        """
        units = self.layer_units
        weights = []
        for index, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
            # The output layer takes the factor of the layer feeding it.
            neighbour = (
                self.activations[min(index, len(self.activations) - 1)]
                if self.activations
                else None
            )
            factor = 2.0 if neighbour == "sigmoid" else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            kernel = random_state.uniform(-bound, bound, (fan_in, fan_out))
            bias = random_state.uniform(-bound, bound, fan_out)
            weights += [kernel.astype(self.dtype), bias.astype(self.dtype)]
        return weights

    def check_positive_inputs(self, weights, X, owner):
        """Raise ValueError when a unit defined for positive inputs only (a
        log unit) sees zero or less on a row of ``X`` under ``weights``."""
        if not set(self.activations) & POSITIVE_INPUT_ACTIVATIONS:
            return
        hidden = X
        for layer, activation in enumerate(self.activations):
            z = np.asarray(hidden @ weights[2 * layer]) + weights[2 * layer + 1]
            if activation in POSITIVE_INPUT_ACTIVATIONS:
                rows = int(np.count_nonzero(np.any(~(z > 0), axis=1)))
                if rows:
                    raise ValueError(
                        f"{owner}: the {activation} units of hidden layer {layer} need positive "
                        f"inputs, and see zero or less (or NaN) on {rows} of the {z.shape[0]} "
                        "training rows with the starting weights. Log units start from the "
                        "least-squares ratio with hidden_layer_sizes=(2, 1), "
                        "activation=('log', 'exponential') and solver='lbfgs', on rows where "
                        "the ratio's numerator and denominator each keep one sign."
                    )
            hidden = np.asarray(activation_function(activation)(tf.constant(z)))

    # -- the compiled engine's passes ------------------------------------------

    def forward(self, params, X):
        """The network's output for flat ``[kernel, bias, ...]`` tensors; X may be sparse."""
        hidden = X
        for layer in range(len(params) // 2):
            hidden = tf.nn.bias_add(matmul(hidden, params[2 * layer]), params[2 * layer + 1])
            if layer < len(self.activations):
                hidden = activation_function(self.activations[layer])(hidden)
        return tf.exp(hidden) if self.out_activation == "exp" else hidden

    def loss_and_gradients(self, params, X, y, w, alpha):
        """MLPRegressor's loss on ``(X, y, w)`` and its gradient, by backpropagation.

        The loss is ``(½ Σᵢ wᵢ meanⱼ rᵢⱼ² + ½ alpha Σ ‖kernel‖²) / Σᵢ wᵢ`` with
        ``r`` the residuals; with an exponential output, the half Poisson
        deviance ``Σᵢ wᵢ Σⱼ (yᵢⱼ log(yᵢⱼ / ŷᵢⱼ) - yᵢⱼ + ŷᵢⱼ)`` takes the
        squares' place, and the output's error is ``ŷ - y`` as for squares
        (the exponential is the Poisson deviance's canonical link). The
        layers' gradients are written out as
        scikit-learn writes them; only each activation's derivative comes from
        TensorFlow's autodiff. A step then holds about two thirds of the
        operations of a ``GradientTape`` over the whole network, which matters
        because a step of a small network costs per operation, not per multiply.

        Parameters
        ----------
        params : list of Tensor
            ``[kernel, bias, ...]``, input to output.
        X, y, w : Tensor
            Inputs (a Tensor or a SparseTensor), 2-D targets and sample weights.
        alpha : Tensor
            L2 penalty.

        Returns
        -------
        loss : Tensor
        gradients : list of Tensor
            One per entry of ``params``.
        """
        kernels, biases = params[0::2], params[1::2]
        layer_inputs, activated = [], []
        hidden = X
        for layer, (kernel, bias) in enumerate(zip(kernels, biases)):
            layer_inputs.append(hidden)
            hidden = tf.nn.bias_add(matmul(hidden, kernel), bias)
            if layer < len(self.activations):
                with tf.GradientTape() as tape:
                    tape.watch(hidden)
                    before = hidden
                    hidden = activation_function(self.activations[layer])(before)
                activated.append((tape, before, hidden))
        weight_sum = tf.reduce_sum(w)
        penalty = tf.add_n([tf.reduce_sum(tf.square(kernel)) for kernel in kernels])
        if self.out_activation == "exp":
            predicted = tf.exp(hidden)
            residual = predicted - y
            deviance = tf.reduce_sum(tf.math.xlogy(y, y / predicted) + residual, axis=1)
            loss = (tf.reduce_sum(w * deviance) + 0.5 * alpha * penalty) / weight_sum
            delta = residual * tf.expand_dims(w / weight_sum, 1)
        else:
            residual = hidden - y
            squared = tf.reduce_mean(tf.square(residual), axis=1)
            loss = (0.5 * tf.reduce_sum(w * squared) + 0.5 * alpha * penalty) / weight_sum
            n_outputs = tf.cast(tf.shape(y)[1], X.dtype)
            delta = residual * tf.expand_dims(w / (n_outputs * weight_sum), 1)
        decay = alpha / weight_sum
        gradients = [None] * len(params)
        for layer in reversed(range(len(kernels))):
            gradients[2 * layer] = (
                matmul(layer_inputs[layer], delta, transpose_a=True) + decay * kernels[layer]
            )
            gradients[2 * layer + 1] = tf.reduce_sum(delta, axis=0)
            if layer > 0:
                tape, before, after = activated[layer - 1]
                upstream = tf.matmul(delta, kernels[layer], transpose_b=True)
                delta = tape.gradient(after, before, output_gradients=upstream)
        return loss, gradients

    def stacked_forward(self, params, X):
        """:meth:`forward` for ``K`` networks of this spec at once: params and
        a dense X ``[K, rows, in]`` with a leading axis of members."""
        hidden = X
        for layer in range(len(params) // 2):
            hidden = tf.matmul(hidden, params[2 * layer]) + params[2 * layer + 1][:, None, :]
            if layer < len(self.activations):
                hidden = activation_function(self.activations[layer])(hidden)
        return tf.exp(hidden) if self.out_activation == "exp" else hidden

    def stacked_loss_and_gradients(self, params, X, y, w, alpha):
        """:meth:`loss_and_gradients` for ``K`` networks of this spec at once.

        Each tensor has a leading axis of ``K`` members: kernels ``[K, in,
        out]``, biases ``[K, out]``, X ``[K, rows, in]`` (dense), y ``[K,
        rows, outputs]``, w ``[K, rows]``, alpha ``[K]``. The same formulas,
        with batched products; a member whose rows all weigh zero gets a zero
        loss and zero gradients (the caller leaves it unchanged).

        Returns
        -------
        loss : Tensor of shape [K]
        gradients : list of Tensor
            One per entry of ``params``, each with the leading ``K`` axis.
        """
        kernels, biases = params[0::2], params[1::2]
        layer_inputs, activated = [], []
        hidden = X
        for layer, (kernel, bias) in enumerate(zip(kernels, biases)):
            layer_inputs.append(hidden)
            hidden = tf.matmul(hidden, kernel) + bias[:, None, :]
            if layer < len(self.activations):
                with tf.GradientTape() as tape:
                    tape.watch(hidden)
                    before = hidden
                    hidden = activation_function(self.activations[layer])(before)
                activated.append((tape, before, hidden))
        weight_sum = tf.reduce_sum(w, axis=1)
        weight_sum = tf.where(weight_sum > 0, weight_sum, tf.ones_like(weight_sum))
        penalty = tf.add_n([tf.reduce_sum(tf.square(kernel), axis=[1, 2]) for kernel in kernels])
        if self.out_activation == "exp":
            predicted = tf.exp(hidden)
            residual = predicted - y
            deviance = tf.reduce_sum(tf.math.xlogy(y, y / predicted) + residual, axis=2)
            loss = (tf.reduce_sum(w * deviance, axis=1) + 0.5 * alpha * penalty) / weight_sum
            delta = residual * (w / weight_sum[:, None])[:, :, None]
        else:
            residual = hidden - y
            squared = tf.reduce_mean(tf.square(residual), axis=2)
            loss = (0.5 * tf.reduce_sum(w * squared, axis=1) + 0.5 * alpha * penalty) / weight_sum
            n_outputs = tf.cast(tf.shape(y)[2], X.dtype)
            delta = residual * (w / (n_outputs * weight_sum[:, None]))[:, :, None]
        decay = (alpha / weight_sum)[:, None, None]
        gradients = [None] * len(params)
        for layer in reversed(range(len(kernels))):
            gradients[2 * layer] = (
                tf.matmul(layer_inputs[layer], delta, transpose_a=True) + decay * kernels[layer]
            )
            gradients[2 * layer + 1] = tf.reduce_sum(delta, axis=1)
            if layer > 0:
                tape, before, after = activated[layer - 1]
                upstream = tf.matmul(delta, kernels[layer], transpose_b=True)
                delta = tape.gradient(after, before, output_gradients=upstream)
        return loss, gradients

    # -- the Keras model ---------------------------------------------------------

    def keras_model(self, weights=None):
        """Build the network as a Keras functional model of Keras's own layers.

        Dense layers carry Keras's activations; a square layer is a linear
        Dense layer followed by Keras's ``Multiply`` of its output with
        itself, a log layer a linear Dense layer followed by Keras's
        ``Activation`` of :func:`keras_log`. Only built-in layers, so a saved
        model loads in any Keras without this package; one with log units
        names its log function ``sklearn_fitfn>log``, registered with Keras
        when the first network with log units is built, and loads anywhere
        with ``custom_objects={"sklearn_fitfn>log": keras.ops.log}``. The
        layers start at zero (nothing is drawn from Keras's global random
        generator) unless ``weights`` are given.

        Parameters
        ----------
        weights : list of ndarray, optional
            ``[kernel, bias, ...]`` to set.

        Returns
        -------
        keras.Model
        """
        if "log" in self.activations:
            _register_keras_log()
        inputs = keras.Input(shape=(self.n_inputs,), dtype=self.dtype, name="x")
        hidden = inputs
        for index, (units, activation) in enumerate(zip(self.hidden_layer_sizes, self.activations)):
            own = activation in ("square", "log")
            hidden = keras.layers.Dense(
                units,
                activation="linear" if own else activation,
                kernel_initializer="zeros",
                dtype=self.dtype,
                name=f"hidden_{index}",
            )(hidden)
            if activation == "square":
                hidden = keras.layers.Multiply(dtype=self.dtype, name=f"square_{index}")(
                    [hidden, hidden]
                )
            elif activation == "log":
                hidden = keras.layers.Activation(keras_log, dtype=self.dtype, name=f"log_{index}")(
                    hidden
                )
        outputs = keras.layers.Dense(
            self.n_outputs,
            activation="exponential" if self.out_activation == "exp" else "linear",
            kernel_initializer="zeros",
            dtype=self.dtype,
            name="output",
        )(hidden)
        model = keras.Model(inputs, outputs, name="mlp")
        note_variable_shapes((tuple(w.shape) for w in model.weights), self.dtype)
        if weights is not None:
            model.set_weights(weights)
        return model

    def check_model(self, model):
        """Raise ValueError unless ``model`` has this spec's layer widths and dtype."""
        weights = dense_weights(model)
        fitted_units = [weights[0].shape[0]] + [b.shape[0] for b in weights[1::2]]
        if fitted_units != self.layer_units or weights[0].dtype != np.dtype(self.dtype):
            raise ValueError(
                f"Cannot continue training a network of layer sizes {fitted_units} "
                f"and dtype {weights[0].dtype} with layer sizes {self.layer_units} and "
                f"dtype {self.dtype}; set warm_start=False to start afresh."
            )


def dense_layers(model):
    """The model's Dense layers, input to output."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def dense_weights(model):
    """Copies of the model's weights as ``[kernel, bias, ...]`` arrays."""
    weights = []
    for layer in dense_layers(model):
        weights += [layer.kernel.numpy(), layer.bias.numpy()]
    return weights
