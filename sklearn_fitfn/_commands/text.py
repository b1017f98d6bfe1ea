"""Numbers and networks written for people, in tables, figures and reports.

Here, apart from the experiment, so that the figures need no TensorFlow.
"""


def format_rmse(value):
    """An error for people to read: ``75,198.1``, or ``2.3e-09`` when tiny.

    Parameters
    ----------
    value : float

    Returns
    -------
    str

    Examples
    --------
    >>> from sklearn_fitfn._commands.text import format_rmse
    >>> format_rmse(75198.06), format_rmse(2.3e-9)
    ('75,198.1', '2.3e-09')
    """
    return f"{value:.1e}" if 0 < abs(value) < 0.05 else f"{value:,.1f}"


def format_architecture(hidden_layer_sizes):
    """Write hidden layer sizes as people do: ``(64, 64)``, ``(16)``.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int

    Returns
    -------
    str

    Examples
    --------
    >>> from sklearn_fitfn._commands.text import format_architecture
    >>> format_architecture((64, 64))
    '(64, 64)'
    """
    return "(" + ", ".join(map(str, hidden_layer_sizes)) + ")"
