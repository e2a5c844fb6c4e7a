"""Driver side of corpusbeam: options, config loading, graph construction and running."""
