"""The lab (not installed): experiment plans, the runner, one-question studies and their reports."""
