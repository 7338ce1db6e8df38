"""Builders that turn public datasets into veRL parquet files."""
