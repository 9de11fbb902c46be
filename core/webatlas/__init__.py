"""Public web atlas: a static, offline HTML folder (choropleth, search, profiles, download).

Modules
-------
geometry  simplified SVG paths of the areas (one shared path set)
writer    the HTML/JS/CSS/CSV files of the atlas
"""
