/**
 * A 50-megapixel PNG (made at test time, test/big-png.ts) through the real
 * worker: every size WordPress makes of it is served at its exact
 * dimensions, read row by row (never decoded whole), within a stated memory
 * bound.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { decodePng } from "../src/image/png";
import { chunk } from "../src/image/png-encode";
import { probeImage } from "../src/image/probe";
import { codecStats, wasmPeakMemory } from "../src/image/wasm-lazy";
import { gradientAt, gradientPng } from "./big-png";
import { DIR, seed } from "./images";

const [W, H] = [8640, 5760];
const FILE = "huge-gradient";
/** Peak WASM heaps plus the pixels JS holds at once (see the test), in bytes. */
const BOUND = 96 * 2 ** 20;
let fileBytes = 0;

beforeAll(async () => {
	const png = await gradientPng(W, H);
	fileBytes = png.byteLength;
	await env.ORIGINALS.put(`${DIR}${FILE}.png`, png);
	await seed("badge-interlaced.png");
}, 120_000);

describe(`a ${W}x${H} PNG (${((W * H) / 1e6).toFixed(1)} MP)`, () => {
	it("every size in its table is served at its exact size, streamed, within 96 MB", async () => {
		const table = await SELF.fetch(`http://images.test/_sizes/${DIR}${FILE}.png`);
		expect(table.status).toBe(200);
		const { sizes } = (await table.json()) as {
			sizes: Record<string, { file: string; width: number; height: number }>;
		};
		const list = Object.values(sizes);
		expect(list.length).toBeGreaterThanOrEqual(5);
		const streams = codecStats.asyncResizes;
		let largest = 0;
		for (const size of list) {
			const res = await SELF.fetch(size.file);
			expect(res.status, size.file).toBe(200);
			const bytes = new Uint8Array(await res.arrayBuffer());
			const info = probeImage(bytes);
			expect(info.ok && [info.info.width, info.info.height], size.file).toEqual([
				size.width,
				size.height,
			]);
			largest = Math.max(largest, size.width * size.height * 4);
			// The middle pixel is the gradient's there (a wrong row or column would not be).
			const out = await decodePng(bytes);
			const i = (Math.floor(out.height / 2) * out.width + Math.floor(out.width / 2)) * 4;
			const want = gradientAt(W / 2, H / 2, W, H);
			const got = [out.data[i], out.data[i + 1]];
			expect(Math.abs((got[0] ?? 0) - (want[0] ?? 0)), size.file).toBeLessThanOrEqual(4);
			expect(Math.abs((got[1] ?? 0) - (want[1] ?? 0)), size.file).toBeLessThanOrEqual(4);
		}
		// Each size was a resize of the file's rows as they were inflated
		// (fan-out renders may add more).
		expect(codecStats.asyncResizes - streams).toBeGreaterThanOrEqual(list.length);
		// Held at once: the codecs' heaps (the streaming kernels' included), the
		// file, the largest size's RGBA plus a copy (smoothing/quantising) and
		// its filtered rows (3/4 of it), and two source rows.
		const peaks: Record<string, number> = wasmPeakMemory();
		const heaps = Object.values(peaks).reduce((a, b) => a + b, 0);
		const held = fileBytes + largest * 2 + largest * 0.75 + 2 * W * 4;
		console.log(
			JSON.stringify({
				fileBytes,
				peaks,
				largest,
				heaps,
				held,
			}),
		);
		expect(heaps + held).toBeLessThanOrEqual(BOUND);
	}, 600_000);
});

/** A PNG that is only its header (and an empty IDAT): enough to be refused by. */
function headerOnly(width: number, height: number, interlaced: boolean): Uint8Array {
	const ihdr = new Uint8Array(13);
	const view = new DataView(ihdr.buffer);
	view.setUint32(0, width);
	view.setUint32(4, height);
	ihdr[8] = 8;
	ihdr[9] = 2;
	ihdr[12] = interlaced ? 1 : 0;
	const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
	return Uint8Array.from([
		...sig,
		...chunk("IHDR", ihdr),
		...chunk("IDAT", new Uint8Array(0)),
		...chunk("IEND", new Uint8Array(0)),
	]);
}

describe("PNG pixel limits, from the header", () => {
	it.each([
		["past MAX_LOSSLESS_SOURCE_PIXELS (50 MP)", 8000, 7000, false, "MAX_LOSSLESS_SOURCE_PIXELS"],
		["interlaced past MAX_SOURCE_PIXELS_WHOLE (8 MP)", 3000, 3000, true, "MAX_SOURCE_PIXELS_WHOLE"],
	] as const)("%s: 422 naming the limit, nothing decoded", async (_, w, h, interlaced, limit) => {
		const key = `${DIR}limit-${w}x${h}${interlaced ? "-i" : ""}.png`;
		await env.ORIGINALS.put(key, headerOnly(w, h, interlaced));
		const decodes = codecStats.decodes;
		const res = await SELF.fetch(
			`http://images.test/files/${key.replace(/\.png$/, "-150x150.png")}`,
		);
		expect(res.status).toBe(422);
		expect(await res.text()).toContain(limit);
		expect(codecStats.decodes).toBe(decodes);
	});

	it("an interlaced PNG under 8 MP is still made (decoded whole)", async () => {
		const res = await SELF.fetch(`http://images.test/files/${DIR}badge-interlaced-150x150.png`);
		expect(res.status).toBe(200);
	});
});
