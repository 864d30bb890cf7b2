"""Pictures of a model: PNG grids, animated GIFs, spectrograms, and the HTML report."""
