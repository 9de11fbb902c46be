"""Indicators and indices: catalogue, standardisation, composite indices, MSS status and
dynamics, multiple burden, robustness and reasons (issue 4).

Main entry points: ``composite.composite_index`` → ``IndexResult``,
``mss.status_dynamics``, ``burden.multiple_burden``, ``robustness.monte_carlo_robustness``,
``reasons.reasons``, ``catalogue.load_catalogue``.
"""
