"""Offline evaluation: generate N samples per benchmark problem, grade them on CPU, tabulate.

Generation (`generate.py`) and grading (`grading.py`) are separate steps joined only by JSONL
files on disk, so the GPU job can be preempted and resumed, and grading can be rerun on a CPU
node with a different verifier without regenerating anything.
"""
