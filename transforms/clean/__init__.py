"""Clean: Documents -> cleaned Documents with metadata, language and quality, or `rejected` rows.

`transform` holds the Beam composites; the pure modules: `document` (one document's steps in
order), `unicode`, `header`, `boilerplate` (furniture lines and the article body), `site_lines`
(a site's template lines), `language`, `quality` (Gopher, C4 and FineWeb rules).
"""

from transforms.exports import lazy_exports

__all__ = ["CleanAndParse", "DropSiteTemplateLines"]
__getattr__ = lazy_exports(__name__, "transform", __all__)
