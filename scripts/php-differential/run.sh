#!/usr/bin/env bash
# Differential check of src/wp/sizes.ts against PHP's own float arithmetic and
# round(): PHP evaluates WordPress's documented sizing rules on 100,000 random
# (original, box, crop) cases and PHP's round() on 200,000 values; our module
# must agree on every one. Needs php-cli (apt-get install -y php-cli); not part
# of npm test because CI images do not ship PHP.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
OUT="$tmp/round.txt" php scripts/php-differential/round.php
OUT="$tmp/cases.txt" php scripts/php-differential/cases.php
npx esbuild src/wp/sizes.ts --format=esm --outfile="$tmp/sizes.mjs" --log-level=error
TMP="$tmp" node --input-type=module -e '
import { readFileSync } from "node:fs";
const { phpRound, resizeDimensions } = await import(`${process.env.TMP}/sizes.mjs`);
let bad = 0;
const rounds = readFileSync(`${process.env.TMP}/round.txt`, "utf8").split("\n");
for (const line of rounds) {
	const [v, r] = line.split(" ");
	if (phpRound(Number(v)) !== Number(r) && bad++ < 5) console.log("round differs", v, r);
}
const cases = readFileSync(`${process.env.TMP}/cases.txt`, "utf8").split("\n");
for (const line of cases) {
	const [ow, oh, dw, dh, crop, want] = JSON.parse(line);
	const p = resizeDimensions(ow, oh, dw, dh, crop);
	const got = p && [p.width, p.height, p.srcX, p.srcY, p.srcW, p.srcH];
	if (JSON.stringify(got) !== JSON.stringify(want) && bad++ < 10) console.log("differs", line, JSON.stringify(got));
}
console.log(`${rounds.length} round() values and ${cases.length} size cases: ${bad} differences`);
process.exit(bad ? 1 : 0);
'
