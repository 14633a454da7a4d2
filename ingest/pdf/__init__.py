"""Layout-aware extraction of guideline PDFs into Markdown-like text with page offsets.

`extract_pdf(path)` reads the text layer with PDFium (pypdfium2) and rebuilds what a reader sees:

1. Characters -> spans -> lines and segments, from glyph boxes and baselines (`reader`, `layout`);
   spaces are decided from glyph gaps, ligatures and soft hyphens normalised.
2. Running headers, footers, page numbers and watermarks dropped: text that comes back, digits
   masked, at the same height on many pages. A page number found there labels the page when the
   PDF has no page-label dictionary.
3. Columns found from empty vertical strips that recur across the document; each page is read
   band by band, column by column, with titles, wide tables and box borders kept in place.
4. Lines -> paragraphs, list items and tables (`blocks`); line-end hyphens joined or kept by the
   document's own vocabulary (`words`).
5. Roles (`structure`): headings ranked by font size and weight against the body text (`#`..`####`),
   recommendations with their strength (`### Recommendation 4` + `Strength: ...`), and parts that
   must never be quoted (references, contents, acknowledgements, declarations, abbreviations,
   search strategies, indexes) left out of the text and listed per page.

Every failure of the file (encrypted, no text layer, truncated or damaged) is a `LoaderError` that
says what to do.
"""

from ingest.pdf.extract import PdfExtraction, PdfPage, extract_pdf

__all__ = ["PdfExtraction", "PdfPage", "extract_pdf"]
