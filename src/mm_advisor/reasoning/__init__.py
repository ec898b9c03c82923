"""Reasoning over a knowledge base: the experta engine, the fast evaluator, the decision, the
consultation, the interview planner, scenario tests and the invariant checker."""
