#!/usr/bin/env bash
# Builds src/wasm/jpeg.wasm from wasm/jpeg.c and the vendored libjpeg-turbo
# 2.1.5 sources (wasm/libjpeg-turbo, from Debian's libjpeg-turbo source
# package; its LICENSE.md and README.ijg apply). The built module is committed,
# so neither CI nor `npm start` needs this; rebuild after changing the C code.
# Needs Debian's clang, lld, wasi-libc, compiler-rt for wasm32 and (optional)
# binaryen: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 binaryen.
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=wasm/libjpeg-turbo
SOURCES=(
  jcapimin jcapistd jccoefct jccolor jcdctmgr jchuff jcicc jcinit jcmainct jcmarker
  jcmaster jcomapi jcparam jcphuff jcprepct jcsample jdapimin jdapistd jdatadst jdatasrc
  jdcoefct jdcolor jddctmgr jdhuff jdicc jdinput jdmainct jdmarker jdmaster jdmerge
  jdphuff jdpostct jdsample jerror jfdctflt jfdctfst jfdctint jidctflt jidctfst jidctint
  jidctred jquant1 jquant2 jutils jmemmgr jmemnobs jaricom jdarith
)
# wasm/jsimd_wasm.c takes the place of the library's jsimd_none.c (not
# vendored): WASM SIMD colour conversion, IDCTs and chroma resampling,
# bit-exact with the C routines.
files=(wasm/jpeg.c wasm/jsimd_wasm.c)
for s in "${SOURCES[@]}"; do files+=("$LIB/$s.c"); done
mkdir -p src/wasm
clang --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi \
  -L/usr/lib/wasm32-wasi -O3 -flto -msimd128 -DNO_GETENV -DNO_PUTENV -I"$LIB" \
  -Wno-shift-negative-value \
  -nostartfiles -Wl,--no-entry -Wl,--lto-O3 -Wl,-z,stack-size=1048576 \
  -Wl,--initial-memory=2097152 \
  -o src/wasm/jpeg.wasm "${files[@]}"
if command -v wasm-opt >/dev/null; then
  wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
    src/wasm/jpeg.wasm -o src/wasm/jpeg.wasm
fi
ls -l src/wasm/jpeg.wasm
