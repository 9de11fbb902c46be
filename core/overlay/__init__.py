"""Vector overlay engine: bring layers onto planning areas.

- ``interpolate``: polygon → polygon transfer (areal interpolation; extensive, intensive,
  rates with their base, dasymetric with an ancillary layer), with ``covered_share``.
- ``grid``: Zensus-style grid tables (cell centres) or grid polygons → areas, exact split of
  boundary cells, secret/suppressed values reported as such.
- ``points``: counts, capacity sums, categories and supply ratios per area.
- ``accessibility``: nearest-facility distance and 2SFCA, population-weighted per area.
- ``privacy``: rates carrying their base, small-base flags, suppression for export.
"""
