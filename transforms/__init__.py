"""Worker-side code of corpusbeam.

Modules without a Beam import hold the per-element logic (`records`, `config`, `clean`,
`minhash`, `clustering`, `inputs`); the Beam composites live in `io`, `cleaning`, `dedup` and
`stats`. Nothing is imported here so that importing a pure module stays cheap.
"""
