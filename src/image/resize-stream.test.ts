import { describe, expect, it } from "vitest";
import { firstDifference, fixtureBytes } from "../../test/helpers";
import { decodePng } from "./png";
import { pngRows, readPng } from "./png-decode";
import { type ResizeOptions, resizeRGBA } from "./resize";
import { resizeStream, streamStats } from "./resize-stream";

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

describe("resizeStream over a PNG read row by row", () => {
	it.each(CASES)(
		"%s %j to %ix%i: the same pixels as resizing the whole decode",
		async (file, win, w, h, options) => {
			const bytes = await fixtureBytes(`originals/2025/09/${file}`);
			const whole = await resizeRGBA(await decodePng(bytes), win, w, h, options);
			const streams = streamStats.streams;
			const streamed = await resizeStream(pngRows(readPng(bytes)), win, w, h, options);
			expect(streamStats.streams).toBe(streams + 1);
			expect([streamed.width, streamed.height]).toEqual([w, h]);
			expect(firstDifference(streamed.data, whole.data)).toBe(-1);
		},
	);

	it("streams run one at a time and each gets its result", async () => {
		const bytes = await fixtureBytes("originals/2025/09/goldfish.png");
		const info = readPng(bytes);
		const sizes = [
			[150, 99],
			[300, 198],
			[77, 51],
		] as const;
		const options: ResizeOptions = { filter: "lanczos3", premultiply: false };
		const all = { x: 0, y: 0, w: 1400, h: 923 };
		const out = await Promise.all(
			sizes.map(([w, h]) => resizeStream(pngRows(info), all, w, h, options)),
		);
		const whole = await decodePng(bytes);
		for (const [i, [w, h]] of sizes.entries()) {
			expect(
				firstDifference(out[i]?.data, (await resizeRGBA(whole, all, w, h, options)).data),
			).toBe(-1);
		}
	});
});
