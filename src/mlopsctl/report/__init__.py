"""Evidence people can look at: one self-contained HTML page (inline CSS and SVG, no scripts, no fetches) for a
verification and for a load test. Pure: plain data in (the results as `-o json` shows them), text out."""
