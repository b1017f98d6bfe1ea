"""The formula a network of square units learned, in the user's own units.

:meth:`MLPFunctionRegressor.to_polynomial` gives the polynomial of the
network's own inputs. Fitted inside a pipeline, those are scaled inputs, and
its outputs scaled targets: :func:`to_polynomial` takes the whole model
(a Pipeline, a TransformedTargetRegressor, or both, with StandardScaler) and
gives the polynomial of the original X, in the original units of y.
"""

from numbers import Real

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._network.polynomial import Polynomial, format_polynomial

__all__ = ["to_polynomial", "format_polynomial"]


def _scaled_inputs(scaler, inputs):
    """``inputs`` after a fitted StandardScaler: ``(x - mean) / scale``."""
    mean = scaler.mean_ if scaler.with_mean else np.zeros(len(inputs))
    scale = scaler.scale_ if scaler.with_std else np.ones(len(inputs))
    return [(x + Polynomial.constant(-m)).scaled(1.0 / s) for x, m, s in zip(inputs, mean, scale)]


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
    if not (isinstance(tol, Real) and 0 <= tol < np.inf):
        raise ValueError(f"tol must be a finite number >= 0; got {tol!r}")
    estimator, scalers, target = _unwrap(model)
    n_features = estimator.n_features_in_
    inputs = [Polynomial.variable(i) for i in range(n_features)]
    for scaler in scalers:
        inputs = _scaled_inputs(scaler, inputs)
    outputs = estimator._polynomials(inputs)
    if target is not None:
        mean = target.mean_ if target.with_mean else np.zeros(len(outputs))
        scale = target.scale_ if target.with_std else np.ones(len(outputs))
        outputs = [p.scaled(s) + Polynomial.constant(m) for p, m, s in zip(outputs, mean, scale)]
    terms = [p.exponents(n_features, tol) for p in outputs]
    return terms[0] if len(terms) == 1 else terms
