"""Shared utilities below every other package of the project: reading the shipped configs, the one
output path for progress and printed lines, the commands' examples, and the data shipped inside the
project. It imports nothing of justrl/, data_prep/ or reward_fns/ (tests/cli/test_layers.py), so
the trainer glue and the data builders can both lean on it without leaning on each other."""
