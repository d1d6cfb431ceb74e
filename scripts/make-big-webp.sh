#!/usr/bin/env bash
# Makes fixtures/originals/2025/12/big-50mp.webp: the seed photo enlarged to
# 8658x5772 (49.97 MP, 3:2, just under MAX_LOSSLESS_SOURCE_PIXELS) with
# ImageMagick (Catrom), encoded lossy by Debian's cwebp at quality 50 (no
# alpha, so the worker streams it): the smooth enlargement keeps the file at
# about 2 MB. Run once at authoring time; the file is committed. Needs
# ImageMagick and `apt-get install webp` (libwebp 1.2.4's cwebp).
set -euo pipefail
cd "$(dirname "$0")/.."
seed=fixtures/originals/2025/09/AdobeStock_1228396051_Editorial_Use_Only.jpeg
out=fixtures/originals/2025/12/big-50mp.webp
tmp=$(mktemp --suffix=.ppm)
trap 'rm -f "$tmp"' EXIT
mkdir -p "$(dirname "$out")"
convert "$seed" -filter Catrom -resize '8658x5772!' -depth 8 "$tmp"
cwebp -quiet -q 50 -m 4 "$tmp" -o "$out"
ls -l "$out"
