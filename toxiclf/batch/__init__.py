"""Batch scoring: the toxiclf-predict CLI and its Ray Data engine, row for row the same."""
