"""The shared analysis layer every rule queries: names, value kinds, loss objects, summaries."""
