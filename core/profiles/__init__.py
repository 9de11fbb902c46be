"""Area profiles (Steckbriefe): one page per planning area for the council (issue 13).

Modules
-------
content   profile content as data: values against city and district, numerator and base,
          small-base marks, suppression, priority, index class, robustness, time series
charts    spine chart, small time series and map frames, drawn on a pdfcanvas page
pdfcanvas a small vector PDF writer (standard fonts, paths, marks): milliseconds per page
pdf       the A4 profile atlas: cover, overview map, contents, one page per area
"""
