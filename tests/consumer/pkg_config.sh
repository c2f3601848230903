#!/usr/bin/env bash
# Builds and runs the consumer program with nothing but the flags pkg-config gives
# for the installed pmemperm.pc. Usage:
#   pkg_config.sh <pkg-config> <c++ compiler> <dir holding pmemperm.pc> <main.cpp> <work dir>
set -euo pipefail
pkg_config=$1 cxx=$2 pc_dir=$3 main=$4 work=$5

export PKG_CONFIG_PATH="$pc_dir"
export PKG_CONFIG_LIBDIR="$PKG_CONFIG_PATH"  # never a system-wide pmemperm.pc

version=$("$pkg_config" --modversion pmemperm)
echo "pkg-config: pmemperm $version"
cflags_text=$("$pkg_config" --cflags pmemperm)
read -r -a cflags <<<"$cflags_text"
echo "cflags: ${cflags[*]}"

mkdir -p "$work"
"$cxx" -std=c++20 "${cflags[@]}" "$main" -o "$work/consumer"
"$work/consumer"
