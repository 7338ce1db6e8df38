# shellcheck shell=bash
# Ray on Slurm for justrl, sourced by slurm/train.sbatch, sft.sbatch and eval.sbatch.
#
# Two ways to launch (JUSTRL_LAUNCH, fixed by each .sbatch):
#   ray       (train, eval) a Ray cluster over the allocation, the command once on the head; veRL's
#             RL trainer and vLLM place their workers through Ray;
#   per-node  (sft) no Ray: the command once on every node (srun, one task a node) with MASTER_ADDR
#             (the first node) and MASTER_PORT exported; each copy starts torchrun for its node's GPUs
#             and finds its node rank in SLURM_NODEID. veRL's SFT trainer is torch.distributed SPMD.
#
# What a job does, in order:
#   1. settings: slurm/env.sh (the file each site edits once), then the defaults below;
#   2. the run directory and W&B run id, from the experiment (or recipe) name and the job id, which a
#      requeue keeps: a requeued job resumes the same run instead of starting a new one;
#   3. the preflight (JUSTRL_CHECK_CMD, e.g. justrl-check) on the head node: a bad config fails in
#      seconds, before any Ray process or GPU is touched;
#   4. ray: a Ray head on the first node and one Ray worker on every other node, each an `srun`
#      step; then a wait until every node has joined with its GPUs (CPUs in the smoke mode), which
#      names the missing node when one does not come;
#   5. ray: the job's command on the head with the overrides; Ray is torn down however the job ends;
#      per-node: one `srun` step running the command on every node; a copy that fails ends the others;
#   6. on USR1 (sbatch --signal=B:USR1@SECONDS, before the time limit) the script touches
#      $JUSTRL_SAVE_REQUEST_FILE (<run dir>/SAVE_AND_EXIT); the trainer sees it, saves a checkpoint and
#      exits; the script then requeues the job (scontrol requeue), which resumes from that checkpoint.
#   7. on TERM (preemption, scancel, scontrol requeue: Slurm signals the job's processes) the same
#      request; then the job requeues itself (preemption, scancel --signal=TERM: TERM reached its
#      steps only) or waits for Slurm's SIGKILL and Slurm's own cancel or requeue: the Ray daemons (and, for JUSTRL_SAVE_ON_TERM=1, the
#      command) run under slurm/save_on_term.py, which keeps Slurm's TERM from them and touches the
#      request instead, so the trainer finishes its step in flight and saves before Slurm's SIGKILL
#      (KillWait, or the partition's GraceTime on preemption: size them to a step plus a save).
#
# Settings (environment variables; a value already in the environment, e.g. from the submitting
# shell or slurm/env.sh, wins over the default shown in brackets):
#   JUSTRL_ROOT               repository root                           [$SLURM_SUBMIT_DIR]
#   JUSTRL_ENV_FILE           site settings, sourced first              [$JUSTRL_ROOT/slurm/env.sh]
#   JUSTRL_ACTIVATE           shell code that activates Python          [source $JUSTRL_ROOT/.venv/bin/activate, if any]
#   JUSTRL_LOG_DIR            per-node Ray logs go to <dir>/<job id>/   [$JUSTRL_ROOT/slurm/logs]
#   JUSTRL_RUNS_DIR           run directories (checkpoints, W&B files)  [$JUSTRL_ROOT/runs]
#   JUSTRL_RUN_ID             continue this run id (a directory under JUSTRL_RUNS_DIR) [<name>-<job id>]
#   JUSTRL_GPUS_PER_NODE      GPUs per node for Ray and veRL             [the allocation's]
#   JUSTRL_CPUS_PER_NODE      CPUs per node for Ray                      [$SLURM_CPUS_ON_NODE]
#   JUSTRL_RAY_CPUS_PER_NODE  CPUs Ray counts on a node (logical: the CPU backend's actors each
#                             take one, more than a small node has cores) [JUSTRL_CPUS_PER_NODE]
#   JUSTRL_RAY_PORT           Ray head (GCS) port                        [20000 + 10 x (job id mod 1000)]
#   JUSTRL_RAY_CLIENT_PORT    Ray client server port                     [JUSTRL_RAY_PORT + 1]
#   JUSTRL_RAY_DASHBOARD_PORT Ray dashboard port (on 127.0.0.1 of the head) [JUSTRL_RAY_PORT + 2]
#   JUSTRL_RAY_AGENT_PORT     dashboard agent port on every node         [JUSTRL_RAY_PORT + 3]
#   JUSTRL_RAY_HEAD_IP        address the workers use to reach the head  [first of `hostname -I` on the head]
#   JUSTRL_RAY_TMPDIR         Ray temp dir on every node (keep it short: Unix socket paths) [/tmp/ray-<job id>]
#   JUSTRL_RAY_START_ARGS     extra `ray start` arguments for every node (word-split) []
#   JUSTRL_RAY_WAIT_TIMEOUT   seconds for every node to join             [300]
#   JUSTRL_MASTER_ADDR        per-node jobs: torch.distributed master    [the first node's name]
#   JUSTRL_MASTER_PORT        per-node jobs: its port                    [JUSTRL_RAY_PORT + 4]
#   JUSTRL_SAVE_TIMEOUT       seconds the command gets to checkpoint after USR1 [time left - 60, else 300]
#   JUSTRL_SAVE_ON_TERM       1: the command checkpoints on TERM too (it honours the save request) [set by each .sbatch]
#   JUSTRL_TERM_WAIT          seconds to wait, saved, for Slurm's SIGKILL after its TERM [3600]
#   JUSTRL_MAX_RESTARTS       no more self-requeues after this many restarts [20]
#   JUSTRL_CHECK_CMD          preflight, run with the overrides; empty skips it [set by each .sbatch]
#   JUSTRL_JOB_CMD            the job's command, run with the overrides  [set by each .sbatch]
#   JUSTRL_CPU_ONLY           1: no GPUs: Ray on CPUs, the real command (e.g. justrl-eval engine.kind=transformers,
#                             justrl-sft --cfg job) [0]
#   JUSTRL_SMOKE              1: CPU only, and instead of JUSTRL_JOB_CMD slurm/smoke_job.py (ray) or
#                             slurm/smoke_node.py (per-node), which print what the command would get [0]
# Ports derive from the job id so that two jobs sharing a node do not collide.
#
# Exported to the command and to every Ray process (the trainer runs inside Ray actors):
#   JUSTRL_RUN_DIR, JUSTRL_RUN_ID, JUSTRL_SAVE_REQUEST_FILE, WANDB_RUN_ID, WANDB_RESUME=allow,
#   WANDB_DIR (default: the run directory), RAY_ADDRESS, RAY_AUTH_MODE/RAY_AUTH_TOKEN (a fresh
#   token a job unless RAY_AUTH_MODE is set: Ray 2.60 heads turn token auth on by themselves when
#   ~/.ray/auth_token exists, and workers then fail to join without one).

JUSTRL_SLURM_LOG_PREFIX="[justrl-slurm]"

log() {
  printf '%s %(%H:%M:%S)T %s\n' "$JUSTRL_SLURM_LOG_PREFIX" -1 "$*"
}

die() {
  local status=$1
  shift
  printf '%s %(%H:%M:%S)T ERROR: %s\n' "$JUSTRL_SLURM_LOG_PREFIX" -1 "$*" >&2
  exit "$status"
}

# --- Hydra overrides -------------------------------------------------------------------------

# OVERRIDE_VALUES[key]: the value the arguments' last override of key sets, quotes stripped, as
# justrl.overrides reads them (the one parser of key=value overrides: justrl/config.py and the smoke
# jobs use it too), so the run name and the keys added below agree with what the command receives.
declare -gA OVERRIDE_VALUES=()
read_overrides() {
  local -a fields
  local i
  mapfile -t -d '' fields < <(python -m justrl.overrides "$@")
  wait $! || die 2 "python -m justrl.overrides could not read the overrides: activate the environment justrl is installed in (slurm/env.sh)"
  OVERRIDE_VALUES=()
  for ((i = 0; i + 1 < ${#fields[@]}; i += 2)); do
    OVERRIDE_VALUES[${fields[i]}]=${fields[i + 1]}
  done
}

# Prints the value of KEY among the overrides read last; fails when none sets it.
override_value() {
  [[ -v OVERRIDE_VALUES[$1] ]] || return 1
  printf '%s' "${OVERRIDE_VALUES[$1]}"
}

has_override() {
  override_value "$@" >/dev/null
}

# The run's name: the experiment name, else the recipe, else the model's directory name (eval),
# else the job kind; filesystem-safe.
run_name() {
  local name model
  read_overrides "$@"
  if ! name=$(override_value trainer.experiment_name) && ! name=$(override_value recipe); then
    if model=$(override_value model); then
      model=${model%/}
      name=${model##*/}
    else
      name=$JUSTRL_JOB_KIND
    fi
  fi
  name=${name//[^A-Za-z0-9._-]/_}
  printf '%s' "${name:-$JUSTRL_JOB_KIND}"
}

# --- settings --------------------------------------------------------------------------------

load_settings() {
  : "${JUSTRL_ROOT:=${SLURM_SUBMIT_DIR:-$PWD}}"
  : "${JUSTRL_ENV_FILE:=$JUSTRL_ROOT/slurm/env.sh}"
  if [[ -f $JUSTRL_ENV_FILE ]]; then
    # shellcheck source=slurm/env.sh
    source "$JUSTRL_ENV_FILE"
  elif [[ $JUSTRL_ENV_FILE != "$JUSTRL_ROOT/slurm/env.sh" ]]; then
    die 2 "JUSTRL_ENV_FILE=$JUSTRL_ENV_FILE does not exist; expected a file of shell exports like slurm/env.sh"
  fi
  if [[ -z ${JUSTRL_ACTIVATE+set} && -f $JUSTRL_ROOT/.venv/bin/activate ]]; then
    JUSTRL_ACTIVATE="source $(printf %q "$JUSTRL_ROOT/.venv/bin/activate")"
  fi
  : "${JUSTRL_ACTIVATE:=}"
  : "${JUSTRL_LOG_DIR:=$JUSTRL_ROOT/slurm/logs}"
  : "${JUSTRL_RUNS_DIR:=$JUSTRL_ROOT/runs}"
  : "${JUSTRL_CPUS_PER_NODE:=${SLURM_CPUS_ON_NODE:-1}}"
  : "${JUSTRL_RAY_CPUS_PER_NODE:=$JUSTRL_CPUS_PER_NODE}"
  : "${JUSTRL_RAY_PORT:=$((20000 + 10 * (SLURM_JOB_ID % 1000)))}"
  : "${JUSTRL_RAY_CLIENT_PORT:=$((JUSTRL_RAY_PORT + 1))}"
  : "${JUSTRL_RAY_DASHBOARD_PORT:=$((JUSTRL_RAY_PORT + 2))}"
  : "${JUSTRL_RAY_AGENT_PORT:=$((JUSTRL_RAY_PORT + 3))}"
  : "${JUSTRL_MASTER_PORT:=$((JUSTRL_RAY_PORT + 4))}"
  : "${JUSTRL_RAY_TMPDIR:=/tmp/ray-$SLURM_JOB_ID}"
  : "${JUSTRL_RAY_START_ARGS:=}"
  : "${JUSTRL_RAY_WAIT_TIMEOUT:=300}"
  : "${JUSTRL_MAX_RESTARTS:=20}"
  : "${JUSTRL_SMOKE:=0}"
  : "${JUSTRL_SAVE_ON_TERM:=0}"
  : "${JUSTRL_TERM_WAIT:=3600}"
  : "${JUSTRL_CPU_ONLY:=$JUSTRL_SMOKE}"
  if [[ -n $JUSTRL_ACTIVATE ]]; then
    set +u # activation scripts (conda, modules) read unset variables
    eval "$JUSTRL_ACTIVATE" || die 2 "JUSTRL_ACTIVATE failed: $JUSTRL_ACTIVATE"
    set -u
  fi
  if [[ $JUSTRL_LAUNCH == ray ]]; then
    require_on_path ray
    : "${JUSTRL_RAY_HEAD_IP:=$(hostname -I 2>/dev/null | awk '{print $1}')}"
    [[ -n $JUSTRL_RAY_HEAD_IP ]] || die 2 "cannot find this node's IP address; set JUSTRL_RAY_HEAD_IP"
  fi
}

require_on_path() {
  command -v "$1" >/dev/null || die 2 "'$1' is not on PATH after JUSTRL_ACTIVATE='$JUSTRL_ACTIVATE'; set it to activate the justrl environment"
}

# GPUs a node: the setting, else what Slurm gave this (head) node. CPU only (and smoke): none
# from Slurm, but JUSTRL_GPUS_PER_NODE logical ones for Ray, the ranks of the CPU backend
# (cluster=cpu: veRL places its workers on Ray GPUs only).
gpus_per_node() {
  if [[ $JUSTRL_CPU_ONLY == 1 ]]; then
    printf '%s' "${JUSTRL_GPUS_PER_NODE:-0}"
  elif [[ -n ${JUSTRL_GPUS_PER_NODE:-} ]]; then
    printf '%s' "$JUSTRL_GPUS_PER_NODE"
  elif [[ -n ${SLURM_GPUS_ON_NODE:-} ]]; then
    printf '%s' "$SLURM_GPUS_ON_NODE"
  elif [[ -n ${CUDA_VISIBLE_DEVICES:-} ]]; then
    local devices
    IFS=, read -ra devices <<<"$CUDA_VISIBLE_DEVICES"
    printf '%s' "${#devices[@]}"
  else
    printf 0
  fi
}

# Run directory, run id, W&B and save-request contract, all stable across requeues of this job.
export_run_identity() {
  local name
  name=$(run_name "$@")
  export JUSTRL_RUN_ID=${JUSTRL_RUN_ID:-$name-$SLURM_JOB_ID}
  export JUSTRL_RUN_DIR=$JUSTRL_RUNS_DIR/$JUSTRL_RUN_ID
  export JUSTRL_SAVE_REQUEST_FILE=$JUSTRL_RUN_DIR/SAVE_AND_EXIT
  export WANDB_RUN_ID=$JUSTRL_RUN_ID
  export WANDB_RESUME=allow
  export WANDB_DIR=${WANDB_DIR:-$JUSTRL_RUN_DIR}
  mkdir -p "$JUSTRL_RUN_DIR" "$WANDB_DIR"
  # A request left by the previous run of this job would stop the resumed trainer at once.
  rm -f "$JUSTRL_SAVE_REQUEST_FILE"
}

export_ray_auth() {
  if [[ -z ${RAY_AUTH_MODE:-} ]]; then
    export RAY_AUTH_MODE=token
    RAY_AUTH_TOKEN=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
    export RAY_AUTH_TOKEN
  fi
}

# The overrides the command gets: the user's, then the allocation's size and the resume settings
# for the keys the user did not set.
build_overrides() {
  local nodes=$1 gpus=$2
  shift 2
  OVERRIDES=("$@")
  read_overrides "$@"
  if [[ $JUSTRL_ALLOCATION_OVERRIDES == 1 ]]; then
    has_override trainer.nnodes || OVERRIDES+=("trainer.nnodes=$nodes")
    if [[ $gpus -gt 0 ]] && ! has_override trainer.n_gpus_per_node; then
      OVERRIDES+=("trainer.n_gpus_per_node=$gpus")
    fi
  fi
  if [[ $JUSTRL_RESUME_OVERRIDES == 1 ]]; then
    has_override trainer.resume_mode || OVERRIDES+=("trainer.resume_mode=auto")
    has_override trainer.default_local_dir || OVERRIDES+=("trainer.default_local_dir=$JUSTRL_RUN_DIR/checkpoints")
  fi
}

# --- preflight -------------------------------------------------------------------------------

run_preflight() {
  if [[ -z $JUSTRL_CHECK_CMD ]]; then
    log "preflight: skipped (JUSTRL_CHECK_CMD is empty)"
    return 0
  fi
  log "preflight: $JUSTRL_CHECK_CMD (on $(hostname -s), before anything starts on the nodes)"
  local status=0
  (cd "$JUSTRL_ROOT" && bash -c "$JUSTRL_CHECK_CMD \"\$@\"" "$JUSTRL_CHECK_CMD" "${OVERRIDES[@]}") || status=$?
  if [[ $status != 0 ]]; then
    die "$status" "preflight failed (exit $status): fix the errors above; nothing was started on the nodes"
  fi
  log "preflight: passed"
}

# --- Ray cluster -----------------------------------------------------------------------------

RAY_STEP_PIDS=()
RAY_WATCH=()

# The srun option that hands a step its GPUs; none when CPU only (Ray's GPUs are then logical).
slurm_gres() {
  [[ $1 -gt 0 && ${JUSTRL_CPU_ONLY:-0} != 1 ]] && printf '%s' "--gres=gpu:$1"
  return 0
}

# Starts `ray start ... --block` on NODE as an srun step; Slurm tracks (and on exit kills) it. Slurm's
# TERM does not reach Ray (slurm/save_on_term.py): it becomes a save request, and the head's shield
# passes it on to this script, which Slurm does not signal on `scancel --signal=TERM`.
ray_on_node() {
  local node=$1 gpus=$2 notify_pid=$3
  shift 3
  local node_log=$RAY_LOG_DIR/ray-$node.log
  local -a gres=() extra=() notify=()
  read -ra gres < <(slurm_gres "$gpus") || true  # read is non-zero at an unterminated (or empty) line
  read -ra extra <<<"$JUSTRL_RAY_START_ARGS"
  [[ -n $notify_pid ]] && notify=(--notify "$notify_pid")
  srun --overlap --nodes=1 --ntasks=1 --cpus-per-task="$JUSTRL_CPUS_PER_NODE" "${gres[@]}" -w "$node" \
    python "$JUSTRL_ROOT/slurm/save_on_term.py" "${notify[@]}" ray start "$@" --num-cpus="$JUSTRL_RAY_CPUS_PER_NODE" --num-gpus="$gpus" \
    --resources="{\"slurm_node:$node\": 1}" --temp-dir="$JUSTRL_RAY_TMPDIR" \
    --dashboard-agent-listen-port="$JUSTRL_RAY_AGENT_PORT" --disable-usage-stats "${extra[@]}" --block \
    >"$node_log" 2>&1 &
  RAY_STEP_PIDS+=("$!")
  RAY_WATCH+=(--watch "$node=$!:$node_log")
}

wait_for_nodes() {
  local gpus=$1
  shift
  local IFS=,
  python "$JUSTRL_ROOT/slurm/wait_for_ray.py" --address "$RAY_ADDRESS" --nodes "$*" \
    --cpus "$JUSTRL_RAY_CPUS_PER_NODE" --gpus "$gpus" --timeout "$JUSTRL_RAY_WAIT_TIMEOUT" "${RAY_WATCH[@]}"
}

# Workers need the head's GCS before they start (they give up otherwise): wait for its port.
wait_for_head_port() {
  local head=$1 head_pid=${RAY_STEP_PIDS[0]} deadline=$((SECONDS + JUSTRL_RAY_WAIT_TIMEOUT))
  local host=${RAY_ADDRESS%:*} port=${RAY_ADDRESS##*:}
  until (: >"/dev/tcp/$host/$port") 2>/dev/null; do
    kill -0 "$head_pid" 2>/dev/null || die 3 "the Ray head on $head exited before listening on $RAY_ADDRESS; see $RAY_LOG_DIR/ray-$head.log"
    [[ $SECONDS -lt $deadline ]] || die 3 "the Ray head on $head did not listen on $RAY_ADDRESS within ${JUSTRL_RAY_WAIT_TIMEOUT}s; see $RAY_LOG_DIR/ray-$head.log"
    sleep 0.5
  done
}

start_ray_cluster() {
  local gpus=$1
  shift
  local head=$1 node
  RAY_LOG_DIR=$JUSTRL_LOG_DIR/$SLURM_JOB_ID
  mkdir -p "$RAY_LOG_DIR"
  export RAY_ADDRESS=$JUSTRL_RAY_HEAD_IP:$JUSTRL_RAY_PORT
  export RAY_USAGE_STATS_ENABLED=0
  log "ray: starting the head on $head at $RAY_ADDRESS (dashboard 127.0.0.1:$JUSTRL_RAY_DASHBOARD_PORT on $head), logs in $RAY_LOG_DIR"
  local head_notifies=  # the head's shield tells this script of a TERM, for a command that saves on it
  [[ $JUSTRL_SAVE_ON_TERM == 1 ]] && head_notifies=$$
  ray_on_node "$head" "$gpus" "$head_notifies" --head --node-ip-address="$JUSTRL_RAY_HEAD_IP" --port="$JUSTRL_RAY_PORT" \
    --ray-client-server-port="$JUSTRL_RAY_CLIENT_PORT" --include-dashboard=true \
    --dashboard-port="$JUSTRL_RAY_DASHBOARD_PORT"
  wait_for_head_port "$head"
  shift
  if [[ $# -gt 0 ]]; then
    log "ray: starting workers on $*"
    for node in "$@"; do
      ray_on_node "$node" "$gpus" "" --address="$RAY_ADDRESS"
    done
  fi
  wait_for_nodes "$gpus" "$head" "$@" || die 3 "the Ray cluster did not form; nothing was run"
}

stop_ray_cluster() {
  [[ ${#RAY_STEP_PIDS[@]} -gt 0 ]] || return 0
  log "ray: stopping"
  # srun passes USR2 on to save_on_term.py, which kills Ray (TERM no longer reaches it)
  kill -USR2 "${RAY_STEP_PIDS[@]}" 2>/dev/null || true
  local waited=0
  while kill -0 "${RAY_STEP_PIDS[@]}" 2>/dev/null && [[ $waited -lt 40 ]]; do
    sleep 0.5
    waited=$((waited + 1))
  done
  kill -KILL "${RAY_STEP_PIDS[@]}" 2>/dev/null || true
  RAY_STEP_PIDS=()
  log "ray: stopped"
}

# --- per-node launch ---------------------------------------------------------------------------

export_torch_master() {
  export MASTER_ADDR=${JUSTRL_MASTER_ADDR:-$1}
  export MASTER_PORT=$JUSTRL_MASTER_PORT
  log "per node: no Ray; one copy of the command on each node, torch.distributed master $MASTER_ADDR:$MASTER_PORT"
}

# The shell command that runs COMMAND once on each of NODES nodes, with this node's CPUs and GPUs
# (steps get neither by default everywhere); --label prefixes each output line with the node rank.
per_node_command() {
  local nodes=$1 gpus=$2 command=$3
  local -a gres=()
  read -ra gres < <(slurm_gres "$gpus") || true  # read is non-zero at an unterminated (or empty) line
  printf '%q ' srun --overlap --nodes="$nodes" --ntasks="$nodes" --ntasks-per-node=1 \
    --cpus-per-task="$JUSTRL_CPUS_PER_NODE" "${gres[@]}" --kill-on-bad-exit=1 --label
  printf '%s' "$command"
}

# --- signals, requeue ------------------------------------------------------------------------

SAVE_REQUESTED=0
JOB_TERM=0
STEP_TERM=0
REQUEUEING=0
COMMAND_PID=
# How this script stops the command: a command under save_on_term.py ignores TERM (Slurm's TERM is
# its save request), so it gets USR2.
STOP_SIGNAL=TERM
WATCHDOG_PID=

# Seconds the command may spend checkpointing: up to a minute before the time limit. Called from
# the USR1 trap, where a bare `return` would return the interrupted `wait`'s status (> 128) and
# `set -e` would end the job: hence `return 0`.
save_timeout() {
  if [[ -n ${JUSTRL_SAVE_TIMEOUT:-} ]]; then
    printf '%s' "$JUSTRL_SAVE_TIMEOUT"
    return 0
  fi
  local end
  end=$(squeue -h -j "$SLURM_JOB_ID" -o %e 2>/dev/null || true)
  if [[ $end =~ ^[0-9]{4}- ]]; then
    local left=$(($(date -d "$end" +%s) - $(date +%s) - 60))
    printf '%s' "$((left > 10 ? left : 10))"
  else
    printf 300
  fi
}

on_usr1() {
  SAVE_REQUESTED=1
  touch "$JUSTRL_SAVE_REQUEST_FILE"
  if [[ -n $COMMAND_PID && -z $WATCHDOG_PID ]]; then
    local timeout
    timeout=$(save_timeout)
    log "USR1: asked the job to checkpoint and exit ($JUSTRL_SAVE_REQUEST_FILE); it has ${timeout}s"
    (sleep "$timeout" && kill -"$STOP_SIGNAL" "$COMMAND_PID" 2>/dev/null) &
    WATCHDOG_PID=$!
  else
    log "USR1: save requested before the command started; the job will requeue"
  fi
}

# Slurm's TERM to the whole job, the batch script included (scancel, scontrol requeue): Slurm ends
# the job itself after KillWait, then cancels or requeues it as it decided.
on_term() {
  if [[ $REQUEUEING == 1 ]]; then
    log "TERM: requeued; this run ends here"
    exit 0
  fi
  touch "$JUSTRL_SAVE_REQUEST_FILE"
  if [[ -n $COMMAND_PID && $JUSTRL_SAVE_ON_TERM == 1 ]]; then
    [[ $JOB_TERM == 1 ]] || log "TERM: job cancelled, preempted or requeued by Slurm; the command checkpoints after its step in flight and exits ($JUSTRL_SAVE_REQUEST_FILE)"
    JOB_TERM=1
    return 0
  fi
  log "TERM: job cancelled, preempted or requeued by Slurm; asking the job to checkpoint"
  exit 143
}

# HUP: the head's save_on_term.py got a TERM that may have reached the job's steps only: a
# preemption (the batch script is not signalled before GraceTime ends) or `scancel --signal=TERM`.
# The command saves, then the job requeues itself, as after USR1.
on_hup() {
  [[ $STEP_TERM == 1 || $JOB_TERM == 1 ]] || log "TERM reached the job's steps (a preemption, or scancel --signal=TERM): the command checkpoints after its step in flight, then the job requeues"
  STEP_TERM=1
}

requeue_self() {
  local restarts=${SLURM_RESTART_COUNT:-0}
  if [[ $restarts -ge $JUSTRL_MAX_RESTARTS ]]; then
    die 4 "not requeueing: this job already restarted $restarts times (JUSTRL_MAX_RESTARTS=$JUSTRL_MAX_RESTARTS)"
  fi
  REQUEUEING=1
  log "requeue: scontrol requeue $SLURM_JOB_ID (restart $((restarts + 1))); it resumes $JUSTRL_RUN_DIR"
  scontrol requeue "$SLURM_JOB_ID" || die 4 "scontrol requeue $SLURM_JOB_ID failed; resubmit with JUSTRL_RUN_ID=$JUSTRL_RUN_ID to resume"
}

print_wandb_sync_hint() {
  if [[ ${WANDB_MODE:-} == offline ]] && compgen -G "$WANDB_DIR/wandb/offline-run-*" >/dev/null; then
    log "W&B offline: upload with: wandb sync --id $WANDB_RUN_ID $WANDB_DIR/wandb/offline-run-*"
  fi
}

on_exit() {
  local status=$?
  trap - EXIT USR1 TERM HUP
  if [[ -n $WATCHDOG_PID ]]; then
    pkill -P "$WATCHDOG_PID" 2>/dev/null
    kill "$WATCHDOG_PID" 2>/dev/null
  fi
  [[ -n $COMMAND_PID ]] && kill -"$STOP_SIGNAL" "$COMMAND_PID" 2>/dev/null
  stop_ray_cluster
  print_wandb_sync_hint
  log "job $SLURM_JOB_ID exits with status $status"
}

# Runs the command in the background so that the USR1 and TERM traps fire while it works.
run_command() {
  local command=$1
  if [[ $JUSTRL_SAVE_ON_TERM == 1 ]]; then
    command="python $(printf %q "$JUSTRL_ROOT/slurm/save_on_term.py") $command"
    STOP_SIGNAL=USR2
  fi
  log "run: $command with ${#OVERRIDES[@]} override(s)"
  (cd "$JUSTRL_ROOT" && exec bash -c "$command \"\$@\"" "$command" "${OVERRIDES[@]}") &
  COMMAND_PID=$!
  local status
  while true; do
    status=0
    wait "$COMMAND_PID" || status=$?
    # A trapped signal interrupts `wait` with status > 128 while the command still runs.
    if [[ $status -gt 128 ]] && kill -0 "$COMMAND_PID" 2>/dev/null; then
      continue
    fi
    break
  done
  COMMAND_PID=
  return "$status"
}

# --- main ------------------------------------------------------------------------------------

# justrl_slurm_main [overrides...]: the whole job. The .sbatch sets JUSTRL_JOB_KIND, JUSTRL_LAUNCH
# (ray or per-node), JUSTRL_JOB_CMD, JUSTRL_CHECK_CMD, JUSTRL_ALLOCATION_OVERRIDES (pass
# trainer.nnodes / n_gpus_per_node) and JUSTRL_RESUME_OVERRIDES (pass trainer.resume_mode /
# default_local_dir) before calling it.
justrl_slurm_main() {
  [[ -n ${SLURM_JOB_ID:-} ]] || die 2 "not inside a Slurm job: submit with sbatch slurm/$JUSTRL_JOB_KIND.sbatch ..."
  load_settings
  local -a nodes
  mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
  local gpus
  gpus=$(gpus_per_node)
  if [[ $JUSTRL_CPU_ONLY != 1 && $gpus == 0 ]]; then
    die 2 "no GPUs in this allocation: submit with --gpus-per-node=N (or set JUSTRL_GPUS_PER_NODE), or JUSTRL_CPU_ONLY=1 to run on CPUs, JUSTRL_SMOKE=1 for a CPU smoke run"
  fi
  export_run_identity "$@"
  build_overrides "${#nodes[@]}" "$gpus" "$@"
  local command=$JUSTRL_JOB_CMD
  if [[ $JUSTRL_SMOKE == 1 ]]; then
    local smoke=smoke_job.py
    [[ $JUSTRL_LAUNCH == per-node ]] && smoke=smoke_node.py
    command="python $(printf %q "$JUSTRL_ROOT/slurm/$smoke")"
  fi
  require_on_path "${command%% *}"
  log "job $SLURM_JOB_ID ($JUSTRL_JOB_KIND) restart count ${SLURM_RESTART_COUNT:-0} on ${#nodes[@]} node(s): ${nodes[*]}"
  log "gpus per node: $gpus, cpus per node: $JUSTRL_CPUS_PER_NODE, cpu only: $JUSTRL_CPU_ONLY, smoke mode: $JUSTRL_SMOKE"
  log "run dir: $JUSTRL_RUN_DIR (run id $JUSTRL_RUN_ID, W&B run id $WANDB_RUN_ID, resume: $([[ $JUSTRL_RESUME_OVERRIDES == 1 ]] && echo auto || echo off))"
  trap on_usr1 USR1
  trap on_term TERM
  trap on_hup HUP
  trap on_exit EXIT
  run_preflight
  if [[ $JUSTRL_LAUNCH == per-node ]]; then
    export_torch_master "${nodes[0]}"
    command=$(per_node_command "${#nodes[@]}" "$gpus" "$command")
  else
    export_ray_auth
    start_ray_cluster "$gpus" "${nodes[@]}"
  fi
  local status=0
  run_command "$command" || status=$?
  log "command exited with status $status"
  if [[ $JOB_TERM == 1 ]]; then
    log "TERM: the command stopped (status $status) with its checkpoint in $JUSTRL_RUN_DIR"
    stop_ray_cluster
    wait_for_slurm_to_end_the_job
    exit 143
  fi
  # a preempted job that ends by itself within its GraceTime counts as done: Slurm does not requeue it
  if [[ $SAVE_REQUESTED == 1 || $STEP_TERM == 1 ]]; then
    stop_ray_cluster
    requeue_self
    exit 0
  fi
  exit "$status"
}

# Slurm's SIGKILL ends a cancelled or requeued job within KillWait: wait for it rather than end
# first, so that Slurm's own requeue (or cancel) is what happens to the job.
wait_for_slurm_to_end_the_job() {
  log "TERM: saved; waiting for Slurm to end the job (it then cancels or requeues it; a requeued job resumes from this checkpoint, a cancelled one when resubmitted with JUSTRL_RUN_ID=$JUSTRL_RUN_ID)"
  trap '' TERM HUP
  sleep "$JUSTRL_TERM_WAIT" &
  wait $! || true
  log "TERM: Slurm did not end the job within JUSTRL_TERM_WAIT=${JUSTRL_TERM_WAIT}s; it ends here"
}
