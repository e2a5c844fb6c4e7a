"""Dedup: Documents -> the same Documents with cluster fields, and `clusters` rows.

`transform` holds the Beam composites; the pure modules: `minhash` (shingles, signatures, band
keys), `components` (connected components on packed int64 edge arrays), `decide` (exact groups,
verified clusters, the representative), `index` (the index rows incremental runs dedup against).
"""

from transforms.exports import lazy_exports

__all__ = ["DeduplicateDocuments", "IndexKeptDocuments", "BucketEdges", "ConnectedComponents", "CLUSTERS_TAG"]
__getattr__ = lazy_exports(__name__, "transform", __all__)
