"""Layout-aware extraction of guideline PDFs into Markdown-like text with page offsets.

`extract_pdf(path)` reads the text layer with PDFium (pypdfium2) and rebuilds what a reader sees:

1. Characters -> spans (`reader`): glyph boxes and baselines, styles per text object, spaces decided
   from glyph gaps, ligatures and soft hyphens normalised; pages whose text runs sideways are
   read in their own direction.
2. Spans -> lines and segments (`lines`); running headers, footers, page numbers and watermarks
   dropped (`margins`): text that comes back, digits masked, at the same height on many pages. A
   page number found there labels the page when the PDF has no page-label dictionary.
3. Columns found from empty vertical strips that recur across the document; each page read band
   by band, column by column, with titles, wide tables and box borders kept in place (`layout`).
4. Lines -> paragraphs, list items and tables (`blocks`, `tables`); line-end hyphens joined or kept
   by the document's own vocabulary (`words`).
5. Roles (`structure`): headings ranked by font size and weight against the body text (`#`..`####`),
   recommendations with their strength (`### Recommendation 4` + `Strength: ...`), and parts that
   must never be quoted (references, contents, acknowledgements, declarations, abbreviations,
   search strategies, indexes) left out of the text and listed per page. `extract` puts it
   together and writes the text with each page's offset.

Every failure of the file (encrypted, no text layer, truncated or damaged) is a `LoaderError` that
says what to do.
"""

from ingest.pdf.extract import PdfExtraction, PdfPage, extract_pdf

__all__ = ["PdfExtraction", "PdfPage", "extract_pdf"]
