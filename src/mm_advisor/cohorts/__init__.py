"""Cohorts: many consultations at once (batch), and what a rule change would change (impact)."""
