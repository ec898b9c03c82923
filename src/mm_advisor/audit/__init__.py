"""Audit: the trace document, its verification and replay, the consultation log."""
