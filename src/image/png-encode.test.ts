import { describe, expect, it } from "vitest";
import { firstDifference, fixtureBytes } from "../../test/helpers";
import type { RGBAImage } from "./orientation";
import { decodePng } from "./png";
import { readPng } from "./png-decode";
import { COLOUR, chooseLayout, crc32, encodePngFast } from "./png-encode";
import { resizeRGBA } from "./resize";

/** Deterministic pseudo-random bytes. */
function noise(n: number, seed = 1): Uint8Array {
	const out = new Uint8Array(n);
	let s = seed;
	for (let i = 0; i < n; i++) {
		s = (s * 1103515245 + 12345) >>> 0;
		out[i] = s >>> 24;
	}
	return out;
}

/** A gradient with noise, shaped by `pixel(x, y, r)` where r is a random byte. */
function make(
	width: number,
	height: number,
	pixel: (x: number, y: number, r: number) => [number, number, number, number],
): RGBAImage {
	const data = new Uint8ClampedArray(width * height * 4);
	const r = noise(width * height, width + height);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			data.set(pixel(x, y, r[y * width + x] ?? 0), (y * width + x) * 4);
		}
	}
	return { data, width, height };
}

const CASES: [string, RGBAImage, number, number][] = [
	["RGB", make(97, 61, (x, y, r) => [x * 2, y * 4, (x + y + (r & 15)) & 255, 255]), COLOUR.rgb, 8],
	["RGBA", make(64, 33, (x, y, r) => [x * 4, r, y * 7, (x * y + r) & 255]), COLOUR.rgba, 8],
	[
		"grey",
		make(50, 40, (x, y, r) => [x + y + (r & 3), x + y + (r & 3), x + y + (r & 3), 255]),
		COLOUR.grey,
		8,
	],
	["grey + alpha", make(31, 17, (x, y) => [x * 8, x * 8, x * 8, y * 15]), COLOUR.greyAlpha, 8],
	[
		"2 colours",
		make(33, 9, (x, y) => ((x ^ y) & 1 ? [255, 0, 0, 255] : [0, 0, 255, 255])),
		COLOUR.palette,
		1,
	],
	["4 colours", make(35, 10, (x, y) => [(x % 2) * 200, (y % 2) * 100, 0, 255]), COLOUR.palette, 2],
	[
		"16 colours + tRNS",
		make(37, 11, (x, y) => [(x % 8) * 30, 5, 9, (y % 2) * 128 + 1]),
		COLOUR.palette,
		4,
	],
	[
		"256 colours + tRNS",
		make(64, 20, (x, y) => [(x % 16) * 16, (y % 16) * 16, 7, x % 16 < 2 ? 0 : 255]),
		COLOUR.palette,
		8,
	],
];

describe("encodePngFast", () => {
	it.each(CASES)(
		"%s: decodes to the same pixels, in the smallest exact layout",
		async (_, image, type, depth) => {
			const png = await encodePngFast(image);
			expect([png[24], png[25]]).toEqual([depth, type]);
			const back = await decodePng(png);
			expect([back.width, back.height]).toEqual([image.width, image.height]);
			expect(back.data).toEqual(image.data);
		},
	);

	it("257 colours are no longer a palette", () => {
		const image = make(257, 2, (x) => [x & 255, x >> 8, 0, 255]);
		expect(chooseLayout(image).colourType).toBe(COLOUR.rgb);
	});

	it.each([
		// 1000 px wide: 64 rows per strip into the WASM heap, so the row
		// above each strip's first row crosses a call.
		[
			"filtered across strips",
			make(1000, 200, (x, y, r) => [x & 255, y, (x * y + (r & 7)) & 255, 255]),
		],
		// Noise deflates to more than the half of its rows asked for first.
		[
			"noise, past the first output buffer",
			make(300, 300, (x, _y, r) => [r, (r * 7) & 255, x & 255, 255]),
		],
	])("%s: decodes to the same pixels", async (_, image) => {
		const png = await encodePngFast(image);
		expect(firstDifference((await decodePng(png)).data, image.data)).toBe(-1);
	});

	it("CRC-32 as PNG chunks use it", () => {
		// The CRC every PNG's IEND chunk ends with.
		expect(crc32(new TextEncoder().encode("IEND"))).toBe(0xae426082);
	});
});

/** The filter type byte of every row of a (non-interlaced) PNG. */
async function filterTypes(png: Uint8Array): Promise<number[]> {
	const info = readPng(png);
	const stream = new Blob(info.idat as Uint8Array[]).stream();
	const raw = new Uint8Array(
		await new Response(stream.pipeThrough(new DecompressionStream("deflate"))).arrayBuffer(),
	);
	const stride = raw.length / info.height;
	return Array.from({ length: info.height }, (_, y) => raw[y * stride] ?? -1);
}

describe("row filters on real pictures", () => {
	it.each([
		["dashboard-screenshot.png", "unfiltered"],
		["goldfish.png", "filtered"],
	] as const)("%s at 730 wide: %s rows, and the same pixels back", async (file, kind) => {
		const src = await decodePng(await fixtureBytes(`originals/2025/09/${file}`));
		const all = { x: 0, y: 0, w: src.width, h: src.height };
		const h = Math.round((730 * src.height) / src.width);
		const image = await resizeRGBA(src, all, 730, h, { filter: "lanczos3", premultiply: false });
		const png = await encodePngFast(image);
		const types = await filterTypes(png);
		if (kind === "unfiltered") expect(types.every((t) => t === 0)).toBe(true);
		else expect(types.filter((t) => t !== 0).length).toBeGreaterThan(h / 2);
		expect(firstDifference((await decodePng(png)).data, image.data)).toBe(-1);
	});
});
