import matplotlib.image
import pytest

from sklearn_fitfn.experiments import run_experiment
from sklearn_fitfn.plotting import plot_fits, plot_rmse


@pytest.mark.parametrize("function, extrapolate", [("products", None), ("squares", (1001, 2000))])
def test_figures_are_valid_pngs(tmp_path, function, extrapolate):
    result = run_experiment(
        function,
        n_samples=60,
        max_iter=3,
        architectures=[(4,)],
        cv=2,
        extrapolate=extrapolate,
        progress=False,
    )
    for plot, name in [(plot_fits, "fits.png"), (plot_rmse, "rmse.png")]:
        figure = plot(result, tmp_path / name)
        image = matplotlib.image.imread(tmp_path / name)
        assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 500
        assert image.std() > 0.01  # not a blank canvas
        assert len(figure.axes) >= 1
    if extrapolate:
        axes = plot_fits(result).axes[0]
        assert axes.get_xlim()[1] >= 2000  # both ranges are drawn
        assert any("outside" in text.get_text() for text in axes.get_legend().get_texts())
