"""justrl: JustRL and JustTinker recipes on veRL; the glue between Hydra, veRL, rewards and Slurm."""
