#!/usr/bin/env bash
# await-setup.sh NAME [SECONDS]: wait for the installer scripts/setup.d/NAME.sh that scripts/setup.sh started in
# the background (see BACKGROUND there), at most SECONDS (default 2400), printing progress every minute. Exit 0
# when it succeeded; otherwise its exit status, after the tail of its log. When setup ran it in the foreground
# (X0X_SETUP_FOREGROUND=1), or it never ran, this runs it now, in the foreground.
set -uo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: await-setup.sh NAME [SECONDS]}; limit=${2:-2400}
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}
bg=$ROOT/setup-bg/$name
if [ ! -e "$bg.log" ]; then
  echo "await-setup: $name did not run in the background; running scripts/setup.d/$name.sh now"
  X0X_TOOLCHAINS="$ROOT" bash "scripts/setup.d/$name.sh"; exit $?
fi
start=$SECONDS; next=60
until [ -e "$bg.rc" ]; do
  waited=$((SECONDS - start))
  if [ "$waited" -ge "$limit" ]; then
    echo "await-setup: $name still running after ${limit} s; the last lines of $bg.log:"; tail -n 20 "$bg.log"; exit 124
  fi
  if [ "$waited" -ge "$next" ]; then echo "await-setup: waiting for $name (${waited} s): $(tail -n 1 "$bg.log" | cut -c1-120)"; next=$((next + 60)); fi
  sleep 2
done
rc=$(cat "$bg.rc")
if [ "$rc" != 0 ]; then echo "await-setup: $name failed (exit $rc); the last lines of $bg.log:"; tail -n 40 "$bg.log"; exit "$rc"; fi
echo "await-setup: $name ready after waiting $((SECONDS - start)) s ($(tail -n 1 "$bg.log"))"
