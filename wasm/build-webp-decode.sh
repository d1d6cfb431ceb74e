#!/usr/bin/env bash
# Builds src/wasm/webp-decode.wasm from wasm/webp_decode.c and the decoder
# half of libwebp 1.2.4 (wasm/libwebp, vendored from Debian's libwebp source
# package with its CVE-2023-4863 patch applied; BSD, see its COPYING and
# PATENTS; wasm/libwebp/README.md says what was taken). The built module is
# committed, so neither CI nor `npm start` needs this; rebuild after changing
# the C code. Needs Debian's clang, lld, wasi-libc and (optional) binaryen
# (see build-jpeg.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=wasm/libwebp
out=src/wasm/webp-decode.wasm
DEC=(alpha_dec buffer_dec frame_dec io_dec quant_dec tree_dec vp8_dec vp8l_dec webp_dec)
DSP=(alpha_processing cpu dec dec_clip_tables filters lossless rescaler upsampling yuv)
UTILS=(bit_reader_utils color_cache_utils filters_utils huffman_utils quant_levels_dec_utils
  random_utils rescaler_utils thread_utils utils)
files=(wasm/webp_decode.c)
for s in "${DEC[@]}"; do files+=("$LIB/src/dec/$s.c"); done
for s in "${DSP[@]}"; do files+=("$LIB/src/dsp/$s.c"); done
for s in "${UTILS[@]}"; do files+=("$LIB/src/utils/$s.c"); done
mkdir -p src/wasm
# NDEBUG: libwebp's asserts would pull in wasi-libc's stderr (an import).
clang --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi \
  -L/usr/lib/wasm32-wasi -O2 -flto -msimd128 -DNDEBUG -I"$LIB" \
  -nostartfiles -Wl,--no-entry -Wl,--lto-O2 -Wl,-z,stack-size=262144 \
  -Wl,--initial-memory=2097152 \
  -o "$out" "${files[@]}"
bash wasm/finish-module.sh "$out" -O2
