import { describe, expect, it } from "vitest";
import { firstDifference, fixtureBytes } from "../../test/helpers";
import { decodePngJsquash } from "../../test/jsquash-png";
import { PNG_FIXTURES as FIXTURES } from "../../test/png-fixtures";
import { UnprocessableError } from "../http/errors";
import { concat } from "../util/bytes";
import type { RGBAImage } from "./orientation";
import { decodePngImage, pngRows, readPng } from "./png-decode";
import { chunk, encodePngFast } from "./png-encode";
import { resizeRows } from "./resize";

describe("our PNG decoder", () => {
	it.each(FIXTURES)("%s: the same pixels as jSquash's decoder", async (path) => {
		const bytes = await fixtureBytes(path);
		const theirs = await decodePngJsquash(bytes);
		const ours = await decodePngImage(bytes);
		expect([ours.width, ours.height]).toEqual([theirs.width, theirs.height]);
		expect(firstDifference(ours.data, theirs.data)).toBe(-1);
	});

	it("the fixtures cover every colour type, bit depth 1-16, tRNS, interlacing", async () => {
		const kinds = new Set<string>();
		for (const path of FIXTURES) {
			const info = readPng(await fixtureBytes(path));
			kinds.add(`${info.colourType}/${info.bitDepth}`);
			if (info.interlaced) kinds.add("interlaced");
			if (info.key) kinds.add("key");
			if (info.palette?.some((v, i) => i % 4 === 3 && v < 255)) kinds.add("palette tRNS");
		}
		for (const k of [
			"0/1",
			"0/2",
			"0/4",
			"0/8",
			"0/16",
			"2/16",
			"3/2",
			"3/4",
			"3/8",
			"4/16",
			"6/8",
			"6/16",
		]) {
			expect(kinds).toContain(k);
		}
		expect(kinds).toContain("interlaced");
		expect(kinds).toContain("key");
		expect(kinds).toContain("palette tRNS");
	});

	it("decode(encode(x)) is x for RGB, RGBA, grey, grey + alpha and palettes", async () => {
		const make = (w: number, h: number, f: (x: number, y: number) => number[]): RGBAImage => {
			const data = new Uint8ClampedArray(w * h * 4);
			for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 4);
			return { data, width: w, height: h };
		};
		const images = [
			make(83, 41, (x, y) => [x * 3, y * 5, (x * y) & 255, 255]),
			make(83, 41, (x, y) => [x * 3, y * 5, (x * y) & 255, (x + y) & 255]),
			make(70, 30, (x, y) => [x + y, x + y, x + y, 255]),
			make(70, 30, (x, y) => [x, x, x, y * 8]),
			make(33, 9, (x, y) => ((x ^ y) & 1 ? [255, 0, 0, 255] : [0, 0, 255, 0])),
			make(64, 20, (x, y) => [(x % 16) * 16, (y % 16) * 16, 7, x % 16 < 2 ? 0 : 255]),
		];
		for (const image of images) {
			const back = await decodePngImage(await encodePngFast(image));
			expect(back.data).toEqual(image.data);
		}
	});

	it("a cut-off file is a 422-typed error", async () => {
		const bytes = await fixtureBytes("originals/2025/09/goldfish.png");
		const err = await decodePngImage(bytes.subarray(0, bytes.length >> 1)).catch((e) => e);
		expect(err).toBeInstanceOf(UnprocessableError);
		expect((err as UnprocessableError).publicMessage).toBe("Could not decode PNG");
	});

	/** The PNG with its IDAT stream (all IDAT chunks joined) changed by `edit`, in one IDAT. */
	function withStream(bytes: Uint8Array, edit: (stream: Uint8Array) => Uint8Array): Uint8Array {
		const info = readPng(bytes);
		const joined = concat(info.idat);
		// Everything before the first IDAT chunk (signature, IHDR, PLTE, ...), then ours and IEND.
		const first = (info.idat[0] as Uint8Array).byteOffset - bytes.byteOffset - 8;
		return concat([
			bytes.subarray(0, first),
			chunk("IDAT", edit(joined)),
			chunk("IEND", new Uint8Array(0)),
		]);
	}

	/** Runs `work`, counting the runtime inflaters (DecompressionStream) it starts. */
	async function countingStreams<T>(
		work: () => Promise<T>,
	): Promise<{ value: T; streams: number }> {
		const scope = globalThis as unknown as { DecompressionStream: typeof DecompressionStream };
		const Real = scope.DecompressionStream;
		let streams = 0;
		scope.DecompressionStream = class extends Real {
			constructor(...args: ConstructorParameters<typeof DecompressionStream>) {
				super(...args);
				streams++;
			}
		};
		try {
			return { value: await work(), streams };
		} finally {
			scope.DecompressionStream = Real;
		}
	}

	it("whole decodes and pngRows inflate with libdeflate, never starting the runtime's inflater", async () => {
		const bytes = await fixtureBytes("originals/2025/09/dashboard-screenshot.png");
		const { value, streams } = await countingStreams(() => decodePngImage(bytes));
		expect(streams).toBe(0);
		const theirs = await decodePngJsquash(bytes);
		expect(firstDifference(value.data, theirs.data)).toBe(-1);
		// Every row through pngRows, at 1:1 (lanczos3 keeps each pixel).
		const { width: w, height: h } = value;
		const options = { filter: "lanczos3", premultiply: false } as const;
		const rows = await countingStreams(() =>
			resizeRows(pngRows(readPng(bytes)), { x: 0, y: 0, w, h }, w, h, options),
		);
		expect(rows.streams).toBe(0);
		expect(firstDifference(rows.value.data, theirs.data)).toBe(-1);
	});

	it("a stream with more data than its rows falls back to the runtime's inflater: the rows it has", async () => {
		const bytes = await fixtureBytes("originals/2025/09/goldfish.png");
		const clean = await decodePngImage(bytes);
		// IHDR says one row fewer than IDAT holds.
		const ihdr = bytes.slice(16, 29);
		new DataView(ihdr.buffer).setUint32(4, clean.height - 1);
		const shorter = concat([bytes.subarray(0, 8), chunk("IHDR", ihdr), bytes.subarray(33)]);
		const { value, streams } = await countingStreams(() => decodePngImage(shorter));
		expect(streams).toBe(1);
		expect(value.height).toBe(clean.height - 1);
		expect(firstDifference(value.data, clean.data.subarray(0, value.data.length))).toBe(-1);
	});

	/**
	 * 2100x2000 RGB: 12.6 MB inflated, under the at-once limit (16 MiB); as
	 * RGBA, 16.8 MB, over it, so the runtime's stream inflates it.
	 */
	async function bigPng(alpha: boolean): Promise<Uint8Array> {
		const [width, height] = [2100, 2000];
		const data = new Uint8ClampedArray(width * height * 4);
		for (let y = 0; y < height; y++) {
			for (let x = 0; x < width; x++) {
				const i = (y * width + x) * 4;
				data.set([(x * 7) ^ (y * 3), x + y, (x * y) >> 5, alpha ? (x ^ y) | 1 : 255], i);
			}
		}
		return encodePngFast({ data, width, height });
	}

	// workerd's inflater fails on both and drops the failing write's output;
	// libpng (so GD, so WordPress) only warns, and the rows are all there.
	it.each([
		["junk after the zlib stream", (s: Uint8Array) => Uint8Array.from([...s, 1, 2, 3, 4, 5, 6, 7])],
		["no zlib checksum", (s: Uint8Array) => s.slice(0, s.length - 4)],
	])(
		"%s: every row still decodes, inflated at once (libdeflate) or streamed (the runtime's)",
		async (_, edit) => {
			for (const [bytes, streamed] of [
				[await bigPng(false), 0],
				[await bigPng(true), 1],
			] as const) {
				const clean = await decodePngImage(bytes);
				const odd = await countingStreams(() => decodePngImage(withStream(bytes, edit)));
				expect(odd.streams > 0 ? 1 : 0).toBe(streamed);
				expect(firstDifference(odd.value.data, clean.data)).toBe(-1);
			}
		},
	);
});
