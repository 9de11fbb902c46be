"""Planning priorities: typology clustering, cluster profiles, hot spots and priority ranking.

Modules
-------
weights     spatial weights (contiguity, k nearest, distance band), row-standardised
hotspots    local Moran's I and Getis-Ord Gi* with conditional permutation inference and FDR
clustering  k-means / Ward / Gaussian mixture typologies, choice of k, bootstrap stability
profiles    cluster profiles (means, spread, R²) and generated bilingual names
ranking     priority levels 1–4 with reasons and robustness
table       decision table export (CSV/XLSX with German column names)
"""
