#!/usr/bin/env bash
# The last steps of a WASM build script: wasm-opt at the given level (when
# binaryen is installed), then a check that the module imports nothing (the
# worker instantiates it with an empty import object).
#   wasm/finish-module.sh <module.wasm> <-O2|-O3>
set -euo pipefail
out=$1
if command -v wasm-opt >/dev/null; then
  wasm-opt "$2" --enable-simd --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
    "$out" -o "$out"
fi
node -e 'const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
  const i = WebAssembly.Module.imports(m); if (i.length) { console.error("imports:", i); process.exit(1); }' "$out"
ls -l "$out"
