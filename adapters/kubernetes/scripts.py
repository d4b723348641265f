"""The shell scripts a job's pod runs (POSIX ``sh`` with the usual tools: ``git`` in the
checkout image; ``mkdir``, ``setsid``, ``sleep``, ``tail``, ``head`` and ``wc`` in the
worker image, as coreutils, busybox and toybox all provide them).

A step survives a dropped exec connection because the step does not write to the exec
connection at all. ``STEP_SCRIPT`` claims the step (``mkdir`` is atomic, so a step runs
at most once however often the script is exec'd), starts it detached with its output
appended to ``<n>.out``/``<n>.err`` and its exit status written to ``<n>.exit`` when it
ends, then follows those files from the byte offsets it was given: exactly the bytes
``[offset, size)`` each time, so a reattached follower continues where the pod adapter
stopped receiving, without loss or duplication. It exits with the step's exit status.
The step's environment and its command arrive on stdin, never in the exec URL (which
API servers and kubelets may log) or the manifest: a command may hold secret values.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Mapping

CONTROL_DIR = "/danube"
STEPS_DIR = f"{CONTROL_DIR}/steps"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
COMMAND_VARIABLE = "__danube_step_command"  # set (not exported) by the environment file

# Credentials from git_authentication are files of the job's Secret: an HTTP header git
# reads from its environment (never its command line), or an ssh key and the pinned host
# keys, copied to a private directory (ssh refuses a key others may read). A refusal with
# credentials is reported as their failure, naming them, as the last line of the log
# (the container's termination message).
CHECKOUT_SCRIPT = r"""set -eu
repo=$(cat "$DANUBE_REPOSITORY_FILE")
short=$(printf '%.7s' "$DANUBE_COMMIT_SHA")
err=$(mktemp)
if [ -s "$DANUBE_GIT_HEADER_FILE" ]; then
  GIT_CONFIG_KEY_1=http.extraHeader
  GIT_CONFIG_VALUE_1=$(cat "$DANUBE_GIT_HEADER_FILE")
  GIT_CONFIG_COUNT=2
  export GIT_CONFIG_KEY_1 GIT_CONFIG_VALUE_1 GIT_CONFIG_COUNT
fi
if [ -s "$DANUBE_GIT_SSH_KEY_FILE" ]; then
  keys=$(mktemp -d)
  cp "$DANUBE_GIT_SSH_KEY_FILE" "$keys/key"
  cp "$DANUBE_GIT_KNOWN_HOSTS_FILE" "$keys/known_hosts"
  chmod 600 "$keys/key"
  GIT_SSH_COMMAND="ssh -o BatchMode=yes -o ConnectTimeout=30 -i $keys/key -o IdentitiesOnly=yes"
  GIT_SSH_COMMAND="$GIT_SSH_COMMAND -o UserKnownHostsFile=$keys/known_hosts"
  export GIT_SSH_COMMAND="$GIT_SSH_COMMAND -o StrictHostKeyChecking=yes"
fi
refusal='authentication failed|error: 40[13]|permission denied|could not read (username|password)'
refusal="$refusal|host key verification failed"
failed() {  # $1: git's exit status, which is the container's
  cat "$err" >&2
  if [ -n "$DANUBE_GIT_CREDENTIAL" ] && grep -qiE "$refusal" "$err"; then
    why=$(grep -iE "$refusal" "$err" | tail -n 1)
    echo "authentication to $DANUBE_GIT_REPOSITORY failed with $DANUBE_GIT_CREDENTIAL: $why" >&2
  fi
  exit "$1"
}
has_commit() { git -C /workspace cat-file -e "$DANUBE_COMMIT_SHA^{commit}" 2>/dev/null; }
echo "\$ git clone $DANUBE_REPO (commit $short)"
git -c credential.interactive=never clone --no-checkout --quiet -- "$repo" /workspace 2>"$err" \
  || failed $?
git -C /workspace remote set-url origin "$DANUBE_REPO"
if ! has_commit && [ -n "$DANUBE_REF" ]; then
  echo "\$ git fetch $DANUBE_REPO $DANUBE_REF"
  git -C /workspace fetch --quiet --no-tags -- "$repo" "$DANUBE_REF" || true
fi
if ! has_commit; then
  echo "\$ git fetch $DANUBE_REPO $DANUBE_COMMIT_SHA"
  git -C /workspace fetch --quiet --no-tags -- "$repo" "$DANUBE_COMMIT_SHA" 2>"$err" || failed $?
fi
git -C /workspace -c advice.detachedHead=false checkout --quiet --detach "$DANUBE_COMMIT_SHA"
"""

WORKER_IDLE_SCRIPT = f"""mkdir -p {STEPS_DIR}
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
"""

# Started in a session of its own (when ``setsid`` exists), so nothing that happens to
# the exec that started it reaches the step. $1 step number, $2 timeout, $3 environment
# file, which also sets the command (not exported). The step itself gets a session
# (process group) of its own too, which is what a timeout kills: ``SOURCE_SCRIPT`` runs
# in it and execs the command.
#
# No pid is signalled once it may have been reaped, since by then it may be another
# process's (pid_max may be 32768): the timer's sleeps are killed only while it waits
# for them (a trap runs only after the foreground command it interrupts, so each sleep
# is waited for in the background and the trap dropped as soon as it ended), the step's
# group only while the runner has not recorded its exit, and the runner stops the timer
# before recording the exit.
# The environment file is sourced where nothing but "$1" and the command's own variable
# is read after it: a step may set any name, ``s`` or ``env`` included.
SOURCE_SCRIPT = f'''. "$1"; rm -f "$1"; exec /bin/sh -c "${COMMAND_VARIABLE}"'''

RUNNER_SCRIPT = f"""SOURCE={shlex.quote(SOURCE_SCRIPT)}
D={STEPS_DIR}; n=$1; t=$2; env=$3
o=$D/$n.out; e=$D/$n.err; x=$D/$n.exit
trap '' HUP
s=; command -v setsid >/dev/null 2>&1 && s=setsid
$s /bin/sh -c "$SOURCE" danube-env "$env" </dev/null >>"$o" 2>>"$e" &
p=$!
echo "$p" > "$D/$n.pid"
tp=
if [ "$t" != 0 ]; then
  (
    nap() {{ sleep "$1" & sp=$!; trap 'kill $sp 2>/dev/null; exit 0' TERM; wait $sp; trap - TERM; }}
    nap "$t"
    [ -e "$x" ] && exit 0
    : > "$D/$n.timeout"
    kill -TERM -"$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
    nap 5
    [ -e "$x" ] || kill -KILL -"$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null
  ) &
  tp=$!
fi
wait "$p"; c=$?
[ -n "$tp" ] && kill "$tp" 2>/dev/null
echo "$c" > "$x.tmp" && mv "$x.tmp" "$x"
"""

# $1 step number, $2 timeout seconds (0: none), $3/$4 stdout/stderr offsets already
# received, $5 the line that ends the environment (and the command) on stdin.
STEP_SCRIPT = f"""RUNNER={shlex.quote(RUNNER_SCRIPT)}
D={STEPS_DIR}; n=$1; t=$2; ko=$3; ke=$4; end=$5
o=$D/$n.out; e=$D/$n.err; x=$D/$n.exit; env=$D/$n.env.$$
umask 077
mkdir -p "$D" || exit 125
got=
while IFS= read -r line; do
  if [ "$line" = "$end" ]; then got=1; break; fi
  printf '%s\\n' "$line"
done > "$env"
if [ -z "$got" ]; then
  rm -f "$env"; echo "danube: the step's environment was cut off" >&2; exit 125
fi
: >> "$o"; : >> "$e"
s=; command -v setsid >/dev/null 2>&1 && s=setsid
if mkdir "$D/$n.claim" 2>/dev/null; then
  $s /bin/sh -c "$RUNNER" danube-runner "$n" "$t" "$env" </dev/null >/dev/null 2>&1 &
else
  rm -f "$env"
fi
w=0.01
while :; do
  f=; [ -e "$x" ] && f=1
  set -- $(wc -c "$o" "$e")
  if [ "$1" -gt "$ko" ]; then
    tail -c +$((ko + 1)) "$o" | head -c $(($1 - ko)); ko=$1; w=0.01
  fi
  if [ "$3" -gt "$ke" ]; then
    tail -c +$((ke + 1)) "$e" | head -c $(($3 - ke)) >&2; ke=$3; w=0.01
  fi
  if [ -n "$f" ]; then read c < "$x"; exit "$c"; fi
  sleep $w
  case $w in 0.01) w=0.02 ;; 0.02) w=0.05 ;; 0.05) w=0.1 ;; 0.1) w=0.2 ;; esac
done
"""

# $1 step number: prints the recorded exit status ("none" if there is none yet) and
# "timeout" if the step was ended by its timeout.
RESULT_SCRIPT = f"""cat "{STEPS_DIR}/$1.exit" 2>/dev/null || echo none
[ -e "{STEPS_DIR}/$1.timeout" ] && echo timeout
exit 0
"""


class InvalidStepEnvironmentError(ValueError):
    """A variable name or value that no process environment can hold."""


def step_argv(
    shell: str, number: int, timeout: float, offsets: tuple[int, int], end: str
) -> list[str]:
    seconds = f"{timeout:g}" if timeout > 0 else "0"
    stdout, stderr = offsets
    return [shell, "-c", STEP_SCRIPT, "danube-step", str(number), seconds,
            str(stdout), str(stderr), end]  # fmt: skip


def result_argv(shell: str, number: int) -> list[str]:
    return [shell, "-c", RESULT_SCRIPT, "danube-step-result", str(number)]


def new_end_marker() -> str:
    return f"__danube_env_end_{secrets.token_hex(16)}__"


def env_payload(env: Mapping[str, str], end: str, command: str) -> bytes:
    """The step's environment as ``export`` lines, then its command as a variable the
    runner reads but does not export, for ``STEP_SCRIPT``'s stdin."""
    if "\0" in command:
        raise InvalidStepEnvironmentError("the step's command contains a NUL character")
    lines = []
    for name, value in env.items():
        if not _NAME.fullmatch(name) or name == COMMAND_VARIABLE:
            raise InvalidStepEnvironmentError(f"invalid environment variable name {name!r}")
        if "\0" in value:
            raise InvalidStepEnvironmentError(f"the value of {name} contains a NUL character")
        lines.append(f"export {name}={shlex.quote(value)}\n")
    lines.append(f"{COMMAND_VARIABLE}={shlex.quote(command)}\n")
    return ("".join(lines) + end + "\n").encode()


def parse_result(stdout: bytes) -> tuple[int | None, bool]:
    """(exit status or None if the step has not recorded one, whether it timed out)."""
    words = stdout.decode(errors="replace").split()
    code = int(words[0]) if words and words[0].isdigit() else None
    return code, "timeout" in words[1:]
