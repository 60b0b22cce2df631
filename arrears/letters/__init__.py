"""Demand letters (催款函) as PDFs: the facts a letter states, its HTML, batched WeasyPrint
rendering in worker processes, the archive and the mail-house batch."""
