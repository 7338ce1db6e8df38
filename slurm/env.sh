# shellcheck shell=bash
# Site settings for justrl's Slurm jobs: edit this file once per cluster. Every job sources it on the
# head node before anything else; `srun` carries the exports to the Ray processes on every node.
# A variable already set in the submitting shell (or by `sbatch --export`) wins over the value here,
# hence the ${VAR:-default} form. The full list of settings is at the top of slurm/ray_on_slurm.sh.

# --- Python environment ------------------------------------------------------------------------
# Shell code that activates the environment with justrl, veRL, vLLM and Ray installed. Empty:
# use the environment the job was submitted from. Default: the repository's .venv, if present.
# export JUSTRL_ACTIVATE="module load cuda/12.4; source /shared/envs/justrl/bin/activate"

# --- Storage (all on a filesystem every node mounts) -------------------------------------------
# Hugging Face models and datasets (the 1.5B backbones are ~3.5 GB each).
export HF_HOME=${HF_HOME:-$HOME/.cache/huggingface}
# Uncomment on clusters without internet once the models are in HF_HOME.
# export HF_HUB_OFFLINE=1
# Data written by justrl-prep (DAPO-Math-17k, benchmarks, SFT data).
# export JUSTRL_DATA_DIR=/shared/justrl/data
# Run directories: checkpoints (~20 GB per save for a 1.5B model with optimizer state), W&B files.
# export JUSTRL_RUNS_DIR=/scratch/$USER/justrl/runs

# --- W&B -----------------------------------------------------------------------------------------
# Online by default (run `wandb login` once, or set WANDB_API_KEY here). On nodes without internet
# use offline: the job prints the `wandb sync` command to upload the run afterwards.
# export WANDB_MODE=offline
# export WANDB_ENTITY=my-team
# The project slurm/eval.sbatch logs its results table to (unset: the eval job does not use W&B;
# training and SFT take theirs from trainer.project_name).
# export WANDB_PROJECT=justrl-eval

# --- NCCL ----------------------------------------------------------------------------------------
export NCCL_DEBUG=${NCCL_DEBUG:-WARN}
# The network interface and InfiniBand adapters NCCL should use (see `ip addr`, `ibv_devices`).
# export NCCL_SOCKET_IFNAME=ib0
# export NCCL_IB_HCA=mlx5
# Without InfiniBand:
# export NCCL_IB_DISABLE=1

# --- Ray -----------------------------------------------------------------------------------------
# Ray's temp dir on every node; it holds Unix sockets, so keep the path short (< 60 characters).
# export JUSTRL_RAY_TMPDIR=/tmp/ray-$SLURM_JOB_ID
# The head's address as the workers see it, when `hostname -I` lists the wrong network first.
# export JUSTRL_RAY_HEAD_IP=$(ip -4 -o addr show ib0 | awk '{print $4}' | cut -d/ -f1)
# Seconds to wait for every node to join before giving up.
# export JUSTRL_RAY_WAIT_TIMEOUT=300
