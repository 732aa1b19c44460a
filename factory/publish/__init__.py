"""Publishing the index: to a git branch (GitHub Pages), large wheels as release assets.

``publisher`` (the one entry point: attempts, races, the report), ``git`` (the cache
repository, fetch, commit, push), ``merge`` (the local wheelhouse into the published
one, removals), ``releases`` (GitHub's release API with retries), ``site`` (size limits,
the site directory for the Pages workflow).
"""

from .publisher import PublishOptions, PublishReport, publish

__all__ = ["PublishOptions", "PublishReport", "publish"]
