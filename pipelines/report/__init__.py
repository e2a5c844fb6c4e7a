"""Reading a finished run: `outputs` (open a run's folder), `html` (report.html), `charts` (its SVG
charts), `inspect` (the `corpusbeam inspect` summaries). The driver uses `html` after a run; the
CLI's `report` and `inspect` commands use the rest."""
