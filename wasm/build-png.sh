#!/usr/bin/env bash
# Builds src/wasm/png.wasm from wasm/png.c (the encoder's row packing and
# filtering, the decoder's unfiltering and expansion to RGBA) and libdeflate
# 1.14's compressor and decompressor (wasm/libdeflate, vendored from
# Debian's libdeflate source package; MIT, see its COPYING).
# The built module is committed, so neither CI nor `npm start` needs this.
# Needs Debian's clang, lld, wasi-libc and binaryen (see build-jpeg.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=wasm/libdeflate
out=src/wasm/png.wasm
mkdir -p src/wasm
clang --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi \
  -L/usr/lib/wasm32-wasi -O3 -flto -msimd128 -I"$LIB" -Wall -Werror \
  -nostartfiles -Wl,--no-entry -Wl,--lto-O3 -Wl,-z,stack-size=262144 \
  -Wl,--initial-memory=2097152 \
  -o "$out" wasm/png.c "$LIB"/lib/{deflate_compress,deflate_decompress,zlib_compress,adler32,utils}.c
bash wasm/finish-module.sh "$out" -O3
