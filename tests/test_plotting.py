import matplotlib.image

from sklearn_fitfn.experiments import run_experiment
from sklearn_fitfn.plotting import plot_fits, plot_rmse


def test_figures_are_valid_pngs(tmp_path):
    result = run_experiment("products", n_samples=60, max_iter=3, architectures=[(4,)],
                            cv=2, progress=False)  # fmt: skip
    for plot, name in [(plot_fits, "fits.png"), (plot_rmse, "rmse.png")]:
        figure = plot(result, tmp_path / name)
        image = matplotlib.image.imread(tmp_path / name)
        assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 500
        assert image.std() > 0.01  # not a blank canvas
        assert len(figure.axes) >= 1
