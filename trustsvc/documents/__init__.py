"""Documents: typesetting a page (fonts, subsets, line breaking, the PDF/A-2b page
writer, the license layout) and the content-addressed store sealed documents are kept in.

May import: ``db`` (the store's records) and the top-level helpers. Knows nothing of
license types, seals or the library: it is handed what to draw.
"""
