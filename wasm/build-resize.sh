#!/usr/bin/env bash
# Builds src/wasm/resize.wasm from wasm/resize.c: a freestanding WASM module
# (no imports, no libc) with SIMD. Needs clang + wasm-ld (LLVM >= 14) and
# binaryen's wasm-opt; not run in CI, so the built module is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/wasm/resize.wasm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Compile and link in two steps: clang's wasm driver would otherwise run
# wasm-opt itself, without the SIMD feature flags.
clang --target=wasm32 -O3 -msimd128 -ffreestanding -nostdlib -fno-builtin \
	-Wall -Wextra -Werror -c -o "$tmp/resize.o" wasm/resize.c
wasm-ld --no-entry --export=rs_prepare --export=rs_feed --strip-all \
	-z stack-size=65536 --initial-memory=1048576 -o "$tmp/resize.wasm" "$tmp/resize.o"
wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
	--enable-sign-ext --enable-mutable-globals "$tmp/resize.wasm" -o "$out"
# It must import nothing: the worker instantiates it with an empty import object.
if wasm-objdump -x -j Import "$out" 2>/dev/null | grep -q ' - '; then
	echo "build-resize: $out has imports" >&2
	exit 1
fi
echo "built $out ($(wc -c <"$out") bytes)"
