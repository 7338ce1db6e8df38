"""Support for the Slurm tests: a real Slurm (munged, slurmctld, slurmd) on localhost."""
