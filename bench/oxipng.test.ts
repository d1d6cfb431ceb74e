/**
 * The queue's oxipng pass in workerd, for BENCHMARKS.md (not part of `npm
 * test`): for each PNG fixture, every size the seed site's registry makes
 * (rendered by the real pipeline, our encoder) and what optimizePng at
 * PNG_LEVEL 1 makes of it: bytes, saving, time. Then time and peak WASM heap
 * by output size (fixtures scaled up), which set OPTIMIZE_MAX_PIXELS.
 *
 *   npx vitest run -c bench/vitest.config.ts bench/oxipng.test.ts
 */
import { beforeAll, describe, it } from "vitest";
import { optimizePng } from "../src/image/png";
import { resetCodecs, wasmPeakMemory } from "../src/image/wasm-lazy";
import { decodeSource } from "../src/render/pipeline";
import { cropOf, readFixtures, renderPng, sizesOf } from "./png-sizes";

const FILES = ["dashboard-screenshot.png", "goldfish.png", "logo-palette.png", "chart-gray.png"];
const LEVEL = 1;
/** Output sizes for the scale rows: about 1, 2, 4 and 10 MP of a photo, 1, 3.7, 8.3 of a screenshot. */
const SCALE: [string, number, number][] = [
	["goldfish.png", 1220, 804],
	["goldfish.png", 1740, 1147],
	["goldfish.png", 2460, 1622],
	["goldfish.png", 3840, 2531],
	["dashboard-screenshot.png", 1334, 750],
	["dashboard-screenshot.png", 2560, 1440],
	["dashboard-screenshot.png", 3840, 2160],
];

let files = new Map<string, Uint8Array>();

/** optimizePng once, from a fresh instance: its time, its bytes (ours when < 5% smaller), its peak heap. */
async function timedOptimize(bytes: Uint8Array) {
	resetCodecs();
	const start = performance.now();
	const smaller = await optimizePng(bytes, LEVEL);
	const ms = Math.round(performance.now() - start);
	const heapMB = Number(((wasmPeakMemory().oxipng ?? 0) / 2 ** 20).toFixed(1));
	return { oxipng: smaller?.byteLength ?? null, ms, heapMB };
}

describe("oxipng (the queue's pass) in workerd", () => {
	beforeAll(async () => {
		files = await readFixtures(FILES);
	});

	it.each(FILES)(
		"%s: every registered size",
		async (file) => {
			const source = await decodeSource("png", files.get(file) as Uint8Array);
			for (const { plan: p } of sizesOf(file, source)) {
				const bytes = (await renderPng(file, source, cropOf(p), p.width, p.height)).bytes;
				const run = await timedOptimize(bytes);
				const saving =
					run.oxipng === null ? null : Number((1 - run.oxipng / bytes.byteLength).toFixed(3));
				const size = `${p.width}x${p.height}`;
				console.log(JSON.stringify({ file, size, ours: bytes.byteLength, ...run, saving }));
			}
		},
		600_000,
	);

	it("time and heap by output size", async () => {
		for (const [file, width, height] of SCALE) {
			const source = await decodeSource("png", files.get(file) as Uint8Array);
			const { image } = source;
			const crop = { x: 0, y: 0, w: image.width, h: image.height };
			const bytes = (await renderPng(file, source, crop, width, height)).bytes;
			const run = await timedOptimize(bytes);
			const mp = Number(((width * height) / 1e6).toFixed(2));
			const size = `${width}x${height}`;
			console.log(JSON.stringify({ file, size, mp, ours: bytes.byteLength, ...run }));
		}
	}, 900_000);
});
