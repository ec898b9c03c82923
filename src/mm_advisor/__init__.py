"""mm-advisor: an explainable rule-based advisor for MicroMasters and master's degrees."""

__version__ = "0.4.0"
