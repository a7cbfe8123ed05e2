"""Land-change accounting: what an analyst reports of a change map.

:mod:`.estimators` holds the stratified estimators of Olofsson et al. (2014), "Good practices for
estimating area and assessing accuracy of land change" (Remote Sensing of Environment 148: 42-57):
accuracies and error-adjusted areas with their confidence intervals, from a sample of the map labelled
against reference data.
"""
