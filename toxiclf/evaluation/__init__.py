"""Evaluation: metrics with intervals, comparisons, baselines, audits, functional suites, benchmarks, reports."""
