"""Worker-side code of corpusbeam, one package per stage in the order data flows:
`read` -> `clean` -> `dedup` -> `write`.

In each stage package, `transform` holds the Beam composites and every other module is plain
typed functions without a Beam import. Shared by every stage: `records` (the record types and
Parquet schemas), `config` (the run profile), `metadata` (dates and sites), `metrics` (counters
and progress), `failures` and `guarded` (a record a step fails on becomes a rejected row), `files`
(folders through Beam's FileSystems).
Nothing is imported here, so importing a pure module stays cheap.
"""
