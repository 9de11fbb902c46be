"""Area profiles (Steckbriefe): one page per planning area for the council (issue 13).

Modules
-------
content   profile content as data: values against city and district, numerator and base,
          small-base marks, suppression, priority, index class, robustness, time series
charts    spine chart, small time series and maps drawn with matplotlib (Agg, no pyplot)
pdf       the A4 profile atlas: cover, overview map, contents, one page per area
"""
