#!/usr/bin/env bash
# deadline.sh SECONDS COMMAND [ARGS...]: run COMMAND with a deadline, like `timeout`, but when the deadline
# passes it first says what every process of the command was doing, then stops them:
#   - each process: pid, parent, state, the kernel function it sleeps in (wchan), the system call it is
#     blocked in, and its command line;
#   - each node process: its JavaScript stack, from a diagnostic report (NODE_OPTIONS gets
#     --report-on-signal for the command; the report is asked for with SIGUSR2). A process blocked inside a
#     system call cannot answer; its wchan/syscall line is the evidence then.
# then SIGTERM to the command's process group, SIGKILL 10 s later. Exit status: the command's, or 124.
#
# Seconds are counted as one-second sleeps, not read from the clock: when the machine is paused (a VM
# snapshot, a suspended CI runner) and its clock jumps forward on resume, the deadline does not fire on the
# spot for time in which nothing ran.
set -uo pipefail
limit=${1:?usage: deadline.sh SECONDS COMMAND [ARGS...]}
shift
[ $# -gt 0 ] || { echo "usage: deadline.sh SECONDS COMMAND [ARGS...]" >&2; exit 2; }
reports=$(mktemp -d "${TMPDIR:-/tmp}/x0x-deadline.XXXXXX")
trap 'rm -rf "$reports"' EXIT
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--report-on-signal --report-signal=SIGUSR2 --report-directory=$reports"

set -m # the command gets a process group of its own, so all of it can be examined and stopped
"$@" &
pid=$!
set +m

# stat_field PID N: field N of /proc/PID/stat counted after the command name (1 = state, 2 = ppid, 3 = pgrp);
# the name is in parentheses and may itself contain spaces.
stat_field() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"; }

diagnose() {
  echo "deadline: '$*' still running after ${limit}s; what each of its processes is doing:" >&2
  local pids="" p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$(stat_field "$p" 3)" = "$pid" ] && pids="$pids $p"
  done
  for p in $pids; do
    [ -r "/proc/$p/stat" ] || continue
    printf 'deadline:   pid %s ppid %s state %s wchan %s syscall [%s]\n' "$p" \
      "$(stat_field "$p" 2)" "$(stat_field "$p" 1)" \
      "$(cat "/proc/$p/wchan" 2>/dev/null)" "$(cut -c1-60 "/proc/$p/syscall" 2>/dev/null)" >&2
    printf 'deadline:     %s\n' "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-300)" >&2
  done
  for p in $pids; do
    case "$(cat "/proc/$p/comm" 2>/dev/null)" in node | node-MainThread) kill -USR2 "$p" 2>/dev/null ;; esac
  done
  sleep 3
  local r
  for r in "$reports"/*.json; do
    [ -f "$r" ] || continue
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const h = r.header || {};
      console.error(`deadline:   node pid ${h.processId}: ${(h.commandLine || []).join(" ").slice(0, 200)}`);
      for (const l of ((r.javascriptStack || {}).stack || []).slice(0, 25)) console.error(`deadline:     ${l}`);
      const handles = (r.libuv || []).filter((x) => x.is_active && x.type !== "async" && x.type !== "signal");
      console.error(`deadline:     active handles: ${handles.map((x) => x.type + (x.remoteEndpoint ? "→" + x.remoteEndpoint.port : "")).join(", ") || "none"}`);
    ' "$r" || true
  done
}

ticks=0
while kill -0 "$pid" 2>/dev/null; do
  # A finished command is reaped by `wait` below; a zombie still answers kill -0, so look at its state.
  [ "$(stat_field "$pid" 1)" = Z ] && break
  if [ "$ticks" -ge "$limit" ]; then
    diagnose "$@"
    kill -TERM -- "-$pid" 2>/dev/null
    for _ in $(seq 1 10); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "deadline: stopped '$*' after ${limit}s (exit 124)" >&2
    exit 124
  fi
  sleep 1
  ticks=$((ticks + 1))
done
wait "$pid"
