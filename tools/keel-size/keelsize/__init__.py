"""keel-size: replay a recording of a heap's calls against keel to size and see the heap."""
