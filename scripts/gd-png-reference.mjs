#!/usr/bin/env node
// Authoring time only (needs php-gd): the bytes WordPress's GD editor writes
// for every size of the PNG fixtures named below at the seed site's sizes
// (DEFAULT_SIZES), made by bench/gd-resize.php (imagecopyresampled into a
// truecolor canvas, alpha saved, imagepng's default compression) from the
// same crop window our plan uses. Writes fixtures/gd-png-bytes.json, which
// test/png-bytes.integration.test.ts compares our sizes against.
//
//   node scripts/gd-png-reference.mjs
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { registeredSizes } from "./wp-sizes.mjs";

/** A PNG's width and height, from its IHDR. */
function imageSize(bytes) {
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	return { width: view.getUint32(16), height: view.getUint32(20) };
}

const root = new URL("..", import.meta.url).pathname;
const FILES = ["goldfish.png", "logo-palette.png"];
const DIR = "fixtures/originals/2025/09";

const gd = execFileSync("php", ["-r", "echo 'PHP ', PHP_VERSION, ', GD ', GD_VERSION;"], {
	encoding: "utf8",
});
const table = { made: `scripts/gd-png-reference.mjs with bench/gd-resize.php (${gd})`, sizes: {} };
for (const file of FILES) {
	const path = join(root, DIR, file);
	const { width, height } = imageSize(readFileSync(path));
	const seen = new Set();
	for (const size of registeredSizes(file, width, height)) {
		if (seen.has(size.key)) continue;
		seen.add(size.key);
		const p = size.plan;
		const args = [p.srcX, p.srcY, p.srcW, p.srcH, p.width, p.height].map(String);
		const out = execFileSync("php", [join(root, "bench/gd-resize.php"), path, ...args], {
			maxBuffer: 64 * 1024 * 1024,
		});
		table.sizes[size.key.split("/").pop()] = out.length;
	}
}
writeFileSync(join(root, "fixtures/gd-png-bytes.json"), `${JSON.stringify(table, null, "\t")}\n`);
console.log(table);
