"""The formula a network learned, in the user's own units.

:meth:`MLPFunctionRegressor.to_polynomial` gives the polynomial of the
network's own inputs. Fitted inside a pipeline, those are scaled inputs, and
its outputs scaled targets: :func:`to_polynomial` takes the whole model
(a Pipeline, a TransformedTargetRegressor, or both, with StandardScaler) and
gives the polynomial of the original X, in the original units of y.
:func:`to_formula` gives whichever the network computes: the polynomial of
square and identity units, or the :class:`Ratio` of two polynomials of log
units under an exponential unit.
"""

from numbers import Real

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._network.polynomial import Polynomial, Ratio, format_polynomial, term_order

__all__ = ["to_formula", "to_polynomial", "format_polynomial", "Ratio"]


def _scaled_inputs(scaler, inputs):
    """``inputs`` after a fitted StandardScaler: ``(x - mean) / scale``."""
    mean = scaler.mean_ if scaler.with_mean else np.zeros(len(inputs))
    scale = scaler.scale_ if scaler.with_std else np.ones(len(inputs))
    return [(x + Polynomial.constant(-m)).scaled(1.0 / s) for x, m, s in zip(inputs, mean, scale)]


def _network_inputs(n_features, scalers):
    """What the network's inputs are in the user's X: the variables, through
    each StandardScaler in turn."""
    inputs = [Polynomial.variable(i) for i in range(n_features)]
    for scaler in scalers:
        inputs = _scaled_inputs(scaler, inputs)
    return inputs


def _unwrap(model):
    """The estimator inside ``model``, the StandardScalers before it, and the
    one on the target (or None)."""
    target = None
    if isinstance(model, TransformedTargetRegressor):
        check_is_fitted(model)
        target = model.transformer_
        if not isinstance(target, StandardScaler) or model.func is not None:
            raise ValueError(
                "to_polynomial reads a TransformedTargetRegressor whose transformer is a "
                f"StandardScaler; this one has {model.transformer!r}"
            )
        model = model.regressor_
    scalers = []
    if isinstance(model, Pipeline):
        *steps, (_, model) = model.steps
        for name, step in steps:
            if step == "passthrough" or step is None:
                continue
            if not isinstance(step, StandardScaler):
                raise ValueError(
                    f"to_polynomial reads pipelines of StandardScaler steps and the "
                    f"estimator; step {name!r} is {type(step).__name__}"
                )
            scalers.append(step)
    if not hasattr(model, "_polynomials"):
        raise ValueError(
            f"to_polynomial needs a fitted MLPFunctionRegressor inside; got {type(model).__name__}"
        )
    check_is_fitted(model)
    return model, scalers, target


def _target_units(target, n_outputs):
    mean = target.mean_ if target.with_mean else np.zeros(n_outputs)
    scale = target.scale_ if target.with_std else np.ones(n_outputs)
    return mean, scale


def _check_tol(tol):
    if not (isinstance(tol, Real) and 0 <= tol < np.inf):
        raise ValueError(f"tol must be a finite number >= 0; got {tol!r}")


def to_formula(model, tol=1e-6):
    """The formula a fitted model computes, in its input's and target's own units.

    A network of square and identity units computes a polynomial, given as
    :func:`to_polynomial` gives it; a layer of log units under one
    exponential unit computes a ratio of polynomials, given as a
    :class:`Ratio` whose denominator's leading term (highest degree first, as
    :func:`format_polynomial` writes it) has coefficient 1.

    Parameters
    ----------
    model : MLPFunctionRegressor, Pipeline or TransformedTargetRegressor
        As for :func:`to_polynomial`.
    tol : float, default=1e-6
        Terms whose coefficient is no larger than this are left out.

    Returns
    -------
    dict, list of dict, or Ratio

    Raises
    ------
    ValueError
        For another kind of model or step, or a network that computes
        neither.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fitfn import MLPFunctionRegressor
    >>> from sklearn_fitfn.formula import format_polynomial, to_formula
    >>> X = np.random.default_rng(0).uniform(1, 2, size=(200, 3))
    >>> net = MLPFunctionRegressor(hidden_layer_sizes=(2, 1), activation=("log", "exponential"),
    ...                            solver="lbfgs", random_state=0)
    >>> format_polynomial(to_formula(net.fit(X, X[:, 0] / (X[:, 1] + X[:, 2])), tol=1e-6), digits=4)
    'y = (1·x0) / (1·x1 + 1·x2)'
    """
    _check_tol(tol)
    estimator, scalers, target = _unwrap(model)
    if not estimator._computes_ratio():
        return to_polynomial(model, tol)
    n_features = estimator.n_features_in_
    inputs = _network_inputs(n_features, scalers)
    numerator, denominator = estimator._ratio(inputs)
    if target is not None:
        (mean,), (scale,) = _target_units(target, 1)
        numerator = numerator.scaled(scale) + denominator.scaled(mean)
    # The same ratio with the denominator's leading term (highest degree first,
    # as format_polynomial writes it) of coefficient 1; terms below a millionth
    # of the largest are round-off, never the one to divide by.
    below = denominator.exponents(n_features)
    size = max(abs(c) for c in below.values())
    leading = min((p for p, c in below.items() if abs(c) > 1e-6 * size), key=term_order)
    return Ratio(
        numerator.scaled(1 / below[leading]).exponents(n_features, tol),
        denominator.scaled(1 / below[leading]).exponents(n_features, tol),
    )


def to_polynomial(model, tol=1e-6):
    """The polynomial a fitted model computes, in its input's and target's own units.

    Parameters
    ----------
    model : MLPFunctionRegressor, Pipeline or TransformedTargetRegressor
        A fitted estimator of square and identity units, alone or behind
        StandardScaler steps, possibly inside a TransformedTargetRegressor
        whose transformer is a StandardScaler (as
        :func:`sklearn_fitfn.experiments.build_pipeline` builds it).
    tol : float, default=1e-6
        Terms whose coefficient is no larger than this are left out.

    Returns
    -------
    dict or list of dict
        From exponent tuples (one exponent per input feature) to coefficients;
        one dict per output when y has several.

    Raises
    ------
    ValueError
        For another kind of model or step, or a network that is not a polynomial.

    Examples
    --------
    >>> from sklearn_fitfn.datasets import make_products
    >>> from sklearn_fitfn.experiments import build_pipeline
    >>> from sklearn_fitfn.formula import format_polynomial, to_polynomial
    >>> X, y = make_products(1000, random_state=0)
    >>> model = build_pipeline("square", (2,), solver="lbfgs").fit(X, y)
    >>> format_polynomial(to_polynomial(model, tol=1e-3), digits=4)
    'y = 1·x0·x1'
    """
    _check_tol(tol)
    estimator, scalers, target = _unwrap(model)
    n_features = estimator.n_features_in_
    inputs = _network_inputs(n_features, scalers)
    outputs = estimator._polynomials(inputs)
    if target is not None:
        mean, scale = _target_units(target, len(outputs))
        outputs = [p.scaled(s) + Polynomial.constant(m) for p, m, s in zip(outputs, mean, scale)]
    terms = [p.exponents(n_features, tol) for p in outputs]
    return terms[0] if len(terms) == 1 else terms
