"""Utilities: ``lamina.utils.data`` (datasets, samplers, DataLoader)."""
