"""Console entry points; each module is one command."""
