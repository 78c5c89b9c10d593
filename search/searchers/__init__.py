"""Search algorithms besides the controller, each a `SpaceSearcher` (search/tune_searcher.py), and the
registry that builds any of them by its `search.algorithm` name (`make_searcher`)."""

from search.searchers.registry import ALGORITHMS, make_searcher

__all__ = ["ALGORITHMS", "make_searcher"]
