import { describe, expect, it } from "vitest";
import { firstDifference, fixtureBytes } from "../../test/helpers";
import { decodePng } from "./png";
import { pngRows, readPng } from "./png-decode";
import { type ResizeOptions, resizeRGBA, resizeRows, resizeRowsMany } from "./resize";
import { codecStats } from "./wasm-lazy";

const CASES: [
	string,
	{ x: number; y: number; w: number; h: number },
	number,
	number,
	ResizeOptions,
][] = [
	[
		"goldfish.png",
		{ x: 0, y: 0, w: 1400, h: 923 },
		730,
		481,
		{ filter: "lanczos3", premultiply: false },
	],
	[
		"goldfish.png",
		{ x: 238.5, y: 0, w: 923, h: 923 },
		150,
		150,
		{ filter: "lanczos3", premultiply: false },
	],
	[
		"goldfish.png",
		{ x: 100, y: 500, w: 800, h: 300 },
		801,
		301,
		{ filter: "mitchell", premultiply: false, float: true },
	],
	[
		"goldfish.png",
		{ x: 0, y: 0, w: 1400, h: 923 },
		100,
		66,
		{ filter: "lanczos3", premultiply: false, shrinkGap: 2 },
	],
	[
		"logo-palette.png",
		{ x: 0, y: 31.25, w: 600, h: 337.5 },
		600,
		340,
		{ filter: "lanczos3", premultiply: true },
	],
	[
		"glow-16bit.png",
		{ x: 0, y: 0, w: 640, h: 427 },
		150,
		100,
		{ filter: "lanczos3", premultiply: true },
	],
];

describe("resizeRows over a PNG read row by row (pngRows, an async RowSource)", () => {
	it.each(CASES)(
		"%s %j to %ix%i: the same pixels as resizing the whole decode",
		async (file, win, w, h, options) => {
			const bytes = await fixtureBytes(`originals/2025/09/${file}`);
			const whole = await resizeRGBA(await decodePng(bytes), win, w, h, options);
			const before = codecStats.asyncResizes;
			const streamed = await resizeRows(pngRows(readPng(bytes)), win, w, h, options);
			expect(codecStats.asyncResizes).toBe(before + 1);
			expect([streamed.width, streamed.height]).toEqual([w, h]);
			expect(firstDifference(streamed.data, whole.data)).toBe(-1);
		},
	);

	it("concurrent streams, and whole-image resizes meanwhile, each get their own result", async () => {
		const bytes = await fixtureBytes("originals/2025/09/goldfish.png");
		const info = readPng(bytes);
		const whole = await decodePng(bytes);
		const sizes = [
			[150, 99],
			[300, 198],
			[77, 51],
		] as const;
		const options: ResizeOptions = { filter: "lanczos3", premultiply: false };
		const all = { x: 0, y: 0, w: 1400, h: 923 };
		// The shared kernel is used while the streams wait for their rows.
		const out = await Promise.all([
			...sizes.map(([w, h]) => resizeRows(pngRows(info), all, w, h, options)),
			...sizes.map(([w, h]) => resizeRGBA(whole, all, w, h, options)),
		]);
		for (const [i, [w, h]] of sizes.entries()) {
			const want = (await resizeRGBA(whole, all, w, h, options)).data;
			expect(firstDifference(out[i]?.data, want)).toBe(-1);
			expect(firstDifference(out[i + sizes.length]?.data, want)).toBe(-1);
		}
	});

	it("resizeRowsMany: several sizes from one inflate, as resizeRGBA makes each", async () => {
		const bytes = await fixtureBytes("originals/2025/09/goldfish.png");
		const whole = await decodePng(bytes);
		const targets = CASES.filter(([file]) => file === "goldfish.png").map(
			([, win, width, height, options]) => ({ win, width, height, options }),
		);
		const out = await resizeRowsMany(pngRows(readPng(bytes)), targets);
		for (const [k, t] of targets.entries()) {
			const want = await resizeRGBA(whole, t.win, t.width, t.height, t.options);
			expect(firstDifference(out[k]?.data, want.data), JSON.stringify(t.win)).toBe(-1);
		}
	});
});
