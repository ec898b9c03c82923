"""Explanation and reports: text rendering, how/why-not/what-if, the rule graph."""
