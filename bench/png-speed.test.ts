/**
 * PNG sizes in workerd, for BENCHMARKS.md (not part of `npm test`): for each
 * fixture, every size the seed site's registry makes, rendered from the
 * decode (already made, as the shared decode is) through the real pipeline:
 * resize + (smooth, quantise) + our encoder. Prints one JSON line per size
 * with the best of 3 and the bytes; bench/png-sharp.mjs makes sharp's.
 *
 *   npx vitest run -c bench/vitest.config.ts bench/png-speed.test.ts
 */
import { beforeAll, describe, it } from "vitest";
import { decodeSource } from "../src/render/pipeline";
import { cropOf, readFixtures, renderPng, sizesOf } from "./png-sizes";

const FILES = ["dashboard-screenshot.png", "goldfish.png", "logo-palette.png"];
let files = new Map<string, Uint8Array>();

describe("PNG sizes in workerd", () => {
	beforeAll(async () => {
		files = await readFixtures(FILES);
	});

	it.each(FILES)(
		"%s",
		async (file) => {
			const t0 = performance.now();
			const source = await decodeSource("png", files.get(file) as Uint8Array);
			const decodeMs = performance.now() - t0;
			for (const { plan: p } of sizesOf(file, source)) {
				let best = { ms: Number.POSITIVE_INFINITY, resize: 0, encode: 0, bytes: 0 };
				for (let i = 0; i < 3; i++) {
					const start = performance.now();
					const out = await renderPng(file, source, cropOf(p), p.width, p.height);
					const ms = performance.now() - start;
					const { resize, encode } = out.timings;
					if (ms < best.ms) best = { ms, resize, encode, bytes: out.bytes.byteLength };
				}
				const size = `${p.width}x${p.height}`;
				console.log(JSON.stringify({ file, size, decodeMs: Math.round(decodeMs), ...best }));
			}
		},
		600_000,
	);
});
