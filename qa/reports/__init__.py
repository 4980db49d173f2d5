"""Reports rendered from the JSON results of CONTRACTS.md: one self-contained HTML file and JUnit XML.

Both read the results *dict* (``Report.to_dict()`` or a saved results file), so a report can be
rendered long after the run, from any producer of ``audio-qa.report/1``. Every string in the
results (file names, lyrics, tags, exception text) is untrusted and is escaped, never interpreted.
"""

from qa.reports.html import render_html, write_html
from qa.reports.junit import render_junit, write_junit

__all__ = ["render_html", "write_html", "render_junit", "write_junit"]
