"""The knowledge base: safe YAML, the fact schema, conditions and rules, answers, invariants, lint."""
