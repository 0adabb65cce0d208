"""Metrics: the numbers we report, each named by its protocol."""
