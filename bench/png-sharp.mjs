#!/usr/bin/env node
// sharp's side of bench/png-speed.test.ts: the same fixtures and sizes (our
// own plans, bundled), from the decoded pixels (decoded once, as the worker's
// shared decode), extract + lanczos3 + png() at its defaults (compressionLevel
// 6, adaptiveFiltering off). Best of 3 per size, and the bytes.
//
//   node bench/png-sharp.mjs
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { registeredSizes } from "../scripts/wp-sizes.mjs";

const root = new URL("..", import.meta.url).pathname;
const FILES = ["dashboard-screenshot.png", "goldfish.png", "logo-palette.png"];

for (const file of FILES) {
	const input = readFileSync(join(root, "fixtures/originals/2025/09", file));
	const { data, info } = await sharp(input)
		.ensureAlpha()
		.raw()
		.toBuffer({ resolveWithObject: true });
	const raw = { raw: { width: info.width, height: info.height, channels: 4 } };
	for (const size of registeredSizes(file, info.width, info.height)) {
		const p = size.plan;
		let best = { ms: Number.POSITIVE_INFINITY, bytes: 0 };
		for (let i = 0; i < 3; i++) {
			const start = performance.now();
			const out = await sharp(data, raw)
				.extract({ left: p.srcX, top: p.srcY, width: p.srcW, height: p.srcH })
				.resize(p.width, p.height, { kernel: "lanczos3", fit: "fill" })
				.png()
				.toBuffer();
			const ms = performance.now() - start;
			if (ms < best.ms) best = { ms, bytes: out.length };
		}
		console.log(JSON.stringify({ file, size: `${p.width}x${p.height}`, ...best }));
	}
}
