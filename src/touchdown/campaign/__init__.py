"""Monte Carlo campaigns: dispersions, local and Dask runners, statistics, figures, site maps."""
