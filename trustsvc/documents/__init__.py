"""Documents: typesetting a page and the content-addressed store sealed documents are kept in.

Typesetting, from the bottom: ``fonts`` and ``subsets`` (the CJK font, its subsets),
``pdfpage`` (the PDF/A-2b page writer), ``textwriter`` (a page's text object),
``paragraphs`` (a license's text set to a width) and ``linebreak`` (the other pages'),
``qr`` (the verification QR code and block), ``render`` (the license page's layout),
``raster`` (a page as PNG, for previews).

May import: ``db`` (the store's records) and the top-level helpers. Knows nothing of
license types, seals or the library: it is handed what to draw.
"""
