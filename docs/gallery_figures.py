"""The docs gallery's image scraper: the package draws with matplotlib's
object API, never through pyplot, so sphinx-gallery's own scraper would find
no figure in the examples."""


def figures_of_the_example(block, block_vars, gallery_conf):
    """Show the matplotlib Figures an example holds, as sphinx-gallery shows
    pyplot's: the package's figures never go through pyplot, so the default
    scraper would find none. Each Figure is shown once, after the block that
    made it, and the first becomes the example's thumbnail."""
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    shown = block_vars.setdefault("fitfn_figures_shown", set())
    paths = []
    for value in list(block_vars["example_globals"].values()):
        if isinstance(value, Figure) and id(value) not in shown:
            shown.add(id(value))
            path = next(block_vars["image_path_iterator"])
            value.savefig(path, dpi=100)
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])
