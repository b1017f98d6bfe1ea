"""The polynomial a network of square and identity units computes, and the
ratio of polynomials a network of log units under an exponential unit does.

A layer's pre-activation is a linear combination of the layer below's
polynomials, an identity unit keeps it, and a square unit multiplies it by
itself: so the output is a polynomial of the inputs, of degree 2 to the
number of square layers. It is expanded here term by term, exactly (up to
floating-point round-off), from the network's weights.
"""

import math
from collections import defaultdict
from typing import NamedTuple

import numpy as np

from .activations import POLYNOMIAL_ACTIVATIONS


class Polynomial:
    """A polynomial as a dict from monomials to coefficients.

    A monomial is the sorted tuple of the features it multiplies, with
    repetition: ``()`` is the constant, ``(0, 0)`` is x0², ``(0, 1)`` x0·x1.
    """

    def __init__(self, terms=None):
        self.terms = dict(terms or {})

    @classmethod
    def variable(cls, feature):
        return cls({(feature,): 1.0})

    @classmethod
    def constant(cls, value):
        return cls({(): float(value)})

    def __add__(self, other):
        terms = defaultdict(float, self.terms)
        for monomial, coefficient in other.terms.items():
            terms[monomial] += coefficient
        return Polynomial(terms)

    def scaled(self, factor):
        return Polynomial({m: c * factor for m, c in self.terms.items()})

    def __mul__(self, other):
        terms = defaultdict(float)
        for left, a in self.terms.items():
            for right, b in other.terms.items():
                terms[tuple(sorted(left + right))] += a * b
        return Polynomial(terms)

    def exponents(self, n_features, tol=0.0):
        """``{(e_0, ..., e_{n-1}): coefficient}``, the terms of magnitude
        ``tol`` and below left out."""
        result = {}
        for monomial, coefficient in self.terms.items():
            if abs(coefficient) > tol:
                powers = [0] * n_features
                for feature in monomial:
                    powers[feature] += 1
                result[tuple(powers)] = float(coefficient)
        return result


def linear_combinations(polynomials, kernel, bias):
    """``Σᵢ kernel[i, j] · polynomials[i] + bias[j]`` for every column j."""
    outputs = []
    for column in range(kernel.shape[1]):
        total = Polynomial.constant(bias[column])
        for polynomial, weight in zip(polynomials, kernel[:, column]):
            if weight != 0:
                total = total + polynomial.scaled(float(weight))
        outputs.append(total)
    return outputs


def network_polynomials(weights, activations, inputs):
    """The polynomials of a network's outputs, in terms of ``inputs``.

    Parameters
    ----------
    weights : list of ndarray
        ``[kernel, bias, ...]``, input to output.
    activations : sequence of str
        Keras names of the hidden layers' activations, each in
        :data:`POLYNOMIAL_ACTIVATIONS`.
    inputs : list of Polynomial
        What the network's inputs are: the variables themselves, or, behind a
        scaler, linear polynomials of them.

    Returns
    -------
    list of Polynomial
        One per output.
    """
    check_expansion_size([w.shape[1] for w in weights[0::2]], activations, len(inputs))
    layer = list(inputs)
    for index in range(len(weights) // 2):
        layer = linear_combinations(layer, np.asarray(weights[2 * index]), weights[2 * index + 1])
        if index < len(activations) and activations[index] == "square":
            layer = [p * p for p in layer]
    return layer


#: The layers a network that reads back as a ratio has: log units, then one
#: exponential unit (see :mod:`sklearn_fitfn._training.rational_start`).
RATIO_ACTIVATIONS = ("log", "exponential")

#: Linear forms a ratio's read-back multiplies at most (a power of k counts k):
#: the terms of a product of k forms in n inputs grow as n^k.
MAX_RATIO_DEGREE = 4

#: How far from an integer an exponential unit's weight on a log unit may be
#: and still count as that integer power.
_POWER_TOLERANCE = 1e-6


class Ratio(NamedTuple):
    """A ratio of two polynomials, each as ``to_polynomial`` gives one: a dict
    from exponent tuples to coefficients."""

    numerator: dict
    denominator: dict


def check_ratio_network(activations, out_activation, n_outputs, owner):
    """Raise ValueError unless the network reads back as a ratio of polynomials."""
    if tuple(activations) != RATIO_ACTIVATIONS or out_activation != "identity" or n_outputs != 1:
        raise ValueError(
            f"{owner} computes a ratio of polynomials with a layer of log units under one "
            "exponential unit, a linear output and one target; this network has "
            f"activations {tuple(activations)}, a {out_activation} output and {n_outputs} "
            "target(s)."
        )


def network_ratio(weights, inputs):
    """The numerator and denominator polynomials of a log-exponential network.

    ``y = c·exp(Σⱼ vⱼ·log zⱼ + e) + d = c·eᵉ·Πⱼ zⱼ^vⱼ + d`` for the log
    units' linear forms ``zⱼ``: a ratio of polynomials when every ``vⱼ`` is
    an integer (to :data:`_POWER_TOLERANCE`), the positive powers above the
    line and the negative ones below, with ``d`` brought over the line.

    Parameters
    ----------
    weights : list of ndarray
        ``[kernel, bias, ...]`` of the three layers.
    inputs : list of Polynomial

    Returns
    -------
    numerator, denominator : Polynomial

    Raises
    ------
    ValueError
        When a power is not an integer.
    """
    forms = linear_combinations(inputs, np.asarray(weights[0]), weights[1])
    powers, e = np.asarray(weights[2])[:, 0], float(weights[3][0])
    c, d = float(weights[4][0, 0]), float(weights[5][0])
    rounded = np.round(powers)
    if np.any(np.abs(powers - rounded) > _POWER_TOLERANCE * np.maximum(1, np.abs(powers))):
        raise ValueError(
            f"The exponential unit's weights on the log units are {powers.tolist()}, not "
            "integers: the network computes a product of powers, not a ratio of polynomials."
        )
    degree = int(np.abs(rounded).sum())
    if degree > MAX_RATIO_DEGREE:
        raise ValueError(
            f"Expanding this ratio would multiply {degree} linear forms (powers "
            f"{rounded.astype(int).tolist()}), more than the {MAX_RATIO_DEGREE} allowed: "
            "read back a smaller network."
        )
    numerator, denominator = Polynomial.constant(c * np.exp(e)), Polynomial.constant(1.0)
    for form, power in zip(forms, rounded.astype(int)):
        for _ in range(abs(power)):
            if power > 0:
                numerator = numerator * form
            else:
                denominator = denominator * form
    return numerator + denominator.scaled(d), denominator


#: Term products an expansion may take: squaring a unit of ``T`` terms takes
#: ``T²``, and 5e7 of them take about a minute in Python.
MAX_EXPANSION_WORK = 50_000_000


def check_expansion_size(widths, activations, n_inputs):
    """Raise ValueError, before any work, when expanding the network would
    take more than :data:`MAX_EXPANSION_WORK` term products: a unit's
    polynomial of degree ``d`` in ``n`` inputs has up to ``C(n + d, d)``
    terms, and each square layer doubles the degree."""
    degree, work = 1, 0
    for width, activation in zip(widths, activations):
        if activation == "square":
            terms = math.comb(n_inputs + degree, degree)
            work += width * terms**2
            degree *= 2
    if work > MAX_EXPANSION_WORK:
        raise ValueError(
            f"Expanding this network into a polynomial would take about {work:.2g} term "
            f"products (square layers of widths {list(widths[: len(activations)])} on "
            f"{n_inputs} inputs reach degree {degree}, up to "
            f"{math.comb(n_inputs + degree, degree):,} terms per output), more than the "
            f"{MAX_EXPANSION_WORK:.0e} allowed: read back a smaller network."
        )


def check_polynomial_network(activations, out_activation, owner):
    """Raise ValueError unless the network computes a polynomial."""
    others = sorted(set(activations) - set(POLYNOMIAL_ACTIVATIONS))
    if others or out_activation != "identity":
        what = f"{', '.join(others)} units" if others else "an exponential output (Poisson loss)"
        raise ValueError(
            f"{owner} computes a polynomial only with square and identity units and a "
            f"linear output; this network has {what}."
        )


def term_order(powers):
    """The sort key of a term, by its exponents: highest degree first, and
    within a degree by the first feature's power (x0² before x0·x1 before x1²)."""
    return (-sum(powers), powers[::-1])


def format_polynomial(exponents, names=None, digits=6):
    """A polynomial as people write it: ``"y = 1·x0·x1 + 2·x0 - 3"``.

    Parameters
    ----------
    exponents : dict, list of dict or Ratio
        From exponent tuples to coefficients, as ``to_polynomial`` gives them;
        a list (one per output) is written one output a line, ``y[0] = ...``;
        a :class:`Ratio` as ``y = (...) / (...)``.
    names : sequence of str, optional
        The inputs' names (default ``x0``, ``x1``, ...).
    digits : int, default=6
        Significant digits of each coefficient.

    Returns
    -------
    str
    """
    if isinstance(exponents, Ratio):
        above, below = (format_polynomial(part, names, digits)[4:] for part in exponents)
        return f"y = ({above}) / ({below})"
    if isinstance(exponents, (list, tuple)):
        return "\n".join(
            f"y[{output}]" + format_polynomial(terms, names, digits)[1:]
            for output, terms in enumerate(exponents)
        )
    superscripts = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

    def monomial(powers):
        factors = []
        for feature, power in enumerate(powers):
            if power:
                name = names[feature] if names is not None else f"x{feature}"
                factors.append(name + (str(power).translate(superscripts) if power > 1 else ""))
        return "·".join(factors)

    ordered = sorted(exponents.items(), key=lambda item: term_order(item[0]))
    text = ""
    for powers, coefficient in ordered:
        sign = "-" if coefficient < 0 else "+"
        size = f"{abs(coefficient):.{digits}g}"
        term = size if not any(powers) else f"{size}·{monomial(powers)}"
        text += f" {sign} {term}" if text else (f"-{term}" if sign == "-" else term)
    return "y = " + (text or "0")
