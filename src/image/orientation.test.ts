import mozjpegDecFactory from "@jsquash/jpeg/codec/dec/mozjpeg_dec.js";
import mozjpegDecWasm from "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";
import { initEmscriptenModule } from "@jsquash/jpeg/utils.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { InternalError } from "../http/errors";
import {
	applyOrientation,
	type Rect,
	type RGBAImage,
	rectToStored,
	uprightSize,
} from "./orientation";
import { type Orientation, probeImage } from "./probe";

const ALL: Orientation[] = [1, 2, 3, 4, 5, 6, 7, 8];

/** An image whose pixel (x, y) is the letter at rows[y][x], as the R byte (G, B, A vary too). */
function fromRows(rows: string[]): RGBAImage {
	const width = rows[0]?.length ?? 0;
	const height = rows.length;
	const data = new Uint8ClampedArray(width * height * 4);
	rows.forEach((row, y) => {
		for (let x = 0; x < width; x++) {
			const c = row.charCodeAt(x);
			data.set([c, 255 - c, c ^ 0x55, 200 + y], (y * width + x) * 4);
		}
	});
	return { data, width, height };
}

function toRows(img: RGBAImage): string[] {
	const rows: string[] = [];
	for (let y = 0; y < img.height; y++) {
		let row = "";
		for (let x = 0; x < img.width; x++) {
			const i = (y * img.width + x) * 4;
			const c = img.data[i] ?? 0;
			// The other channels must travel with R: a pixel is moved whole, never split.
			expect([img.data[i + 1], img.data[i + 2]]).toEqual([255 - c, c ^ 0x55]);
			row += String.fromCharCode(c);
		}
		rows.push(row);
	}
	return rows;
}

/** Random image with unique-ish pixels (the index as RGBA). */
function noise(width: number, height: number): RGBAImage {
	const data = new Uint8ClampedArray(width * height * 4);
	new Uint32Array(data.buffer).forEach((_, i, a) => {
		a[i] = (i * 2654435761) >>> 0;
	});
	return { data, width, height };
}

function crop(img: RGBAImage, r: Rect): RGBAImage {
	const data = new Uint8ClampedArray(r.w * r.h * 4);
	for (let y = 0; y < r.h; y++) {
		const from = ((r.y + y) * img.width + r.x) * 4;
		data.set(img.data.subarray(from, from + r.w * 4), y * r.w * 4);
	}
	return { data, width: r.w, height: r.h };
}

// Stored pixels:  A B C
//                 D E F
const STORED = ["ABC", "DEF"];

describe("applyOrientation", () => {
	it.each<[Orientation, string, string[]]>([
		[1, "normal", ["ABC", "DEF"]],
		[2, "mirror horizontal", ["CBA", "FED"]],
		[3, "rotate 180", ["FED", "CBA"]],
		[4, "mirror vertical", ["DEF", "ABC"]],
		[5, "transpose", ["AD", "BE", "CF"]],
		[6, "rotate 90 CW", ["DA", "EB", "FC"]],
		[7, "transverse", ["FC", "EB", "DA"]],
		[8, "rotate 270 CW", ["CF", "BE", "AD"]],
	])("%s (%s)", (o, _, expected) => {
		const out = applyOrientation(fromRows(STORED), o);
		expect(toRows(out)).toEqual(expected);
		expect({ width: out.width, height: out.height }).toEqual(uprightSize(3, 2, o));
	});

	it("returns the same image for 1 and a new buffer otherwise", () => {
		const img = fromRows(STORED);
		expect(applyOrientation(img, 1)).toBe(img);
		for (const o of ALL.slice(1)) expect(applyOrientation(img, o).data).not.toBe(img.data);
		expect(toRows(img)).toEqual(STORED); // input untouched
	});

	it("works on an unaligned view of a larger buffer", () => {
		const src = fromRows(STORED);
		const big = new Uint8ClampedArray(src.data.length + 1);
		big.set(src.data, 1);
		const view = { ...src, data: big.subarray(1) };
		expect(toRows(applyOrientation(view, 6))).toEqual(["DA", "EB", "FC"]);
	});

	it.each<[Orientation, Orientation]>([
		[2, 2],
		[3, 3],
		[4, 4],
		[5, 5],
		[6, 8],
		[7, 7],
		[8, 6],
	])("orientation %s undone by %s", (o, inverse) => {
		const img = noise(7, 4);
		expect(applyOrientation(applyOrientation(img, o), inverse)).toEqual(img);
	});

	it("rejects a buffer of the wrong size", () => {
		expect(() =>
			applyOrientation({ data: new Uint8ClampedArray(5), width: 1, height: 1 }, 6),
		).toThrow(InternalError);
	});
});

describe("uprightSize", () => {
	it.each(ALL)("orientation %s", (o) => {
		expect(uprightSize(1600, 900, o)).toEqual(
			o >= 5 ? { width: 900, height: 1600 } : { width: 1600, height: 900 },
		);
	});
});

describe("rectToStored", () => {
	// Upright rect covering the first upright row; which stored pixels hold it?
	it.each<[Orientation, Rect]>([
		[1, { x: 0, y: 0, w: 3, h: 1 }], // A B C
		[2, { x: 0, y: 0, w: 3, h: 1 }], // C B A
		[3, { x: 0, y: 1, w: 3, h: 1 }], // F E D
		[4, { x: 0, y: 1, w: 3, h: 1 }], // D E F
		[5, { x: 0, y: 0, w: 1, h: 2 }], // A D
		[6, { x: 0, y: 0, w: 1, h: 2 }], // D A
		[7, { x: 2, y: 0, w: 1, h: 2 }], // F C
		[8, { x: 2, y: 0, w: 1, h: 2 }], // C F
	])("top row for %s", (o, expected) => {
		const { width } = uprightSize(3, 2, o);
		expect(rectToStored({ x: 0, y: 0, w: width, h: 1 }, o, 3, 2)).toEqual(expected);
	});

	it.each(ALL)("full frame and empty rects map inside the stored frame (%s)", (o) => {
		const up = uprightSize(40, 30, o);
		expect(rectToStored({ x: 0, y: 0, w: up.width, h: up.height }, o, 40, 30)).toEqual({
			x: 0,
			y: 0,
			w: 40,
			h: 30,
		});
		const empty = rectToStored({ x: 3, y: 2, w: 0, h: 0 }, o, 40, 30);
		expect(empty.w * empty.h).toBe(0);
	});

	it.each(ALL)("crop then orient equals orient then crop (%s)", (o) => {
		const sized = fc
			.tuple(fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 17 }))
			.chain(([w, h]) => {
				const up = uprightSize(w, h, o);
				return fc.record({
					w: fc.constant(w),
					h: fc.constant(h),
					x0: fc.integer({ min: 0, max: up.width - 1 }),
					y0: fc.integer({ min: 0, max: up.height - 1 }),
					x1: fc.integer({ min: 1, max: up.width }),
					y1: fc.integer({ min: 1, max: up.height }),
				});
			});
		fc.assert(
			fc.property(sized, ({ w, h, x0, y0, x1, y1 }) => {
				const x = Math.min(x0, x1 - 1);
				const y = Math.min(y0, y1 - 1);
				const rect = { x, y, w: Math.max(x0, x1) - x, h: Math.max(y0, y1) - y };
				const img = noise(w, h);
				const stored = rectToStored(rect, o, w, h);
				expect(
					stored.x >= 0 && stored.y >= 0 && stored.x + stored.w <= w && stored.y + stored.h <= h,
				).toBe(true);
				const viaStored = applyOrientation(crop(img, stored), o);
				const viaUpright = crop(applyOrientation(img, o), rect);
				expect(viaStored).toEqual(viaUpright);
			}),
			{ numRuns: 300, seed: o },
		);
	});
});

describe("against mozjpeg and the rotated fixture", () => {
	const dec = initEmscriptenModule(mozjpegDecFactory, mozjpegDecWasm);
	async function decode(bytes: Uint8Array, preserveOrientation: boolean): Promise<RGBAImage> {
		const img = (await dec).decode(bytes, preserveOrientation);
		if (!img) throw new Error("decode failed");
		return { data: img.data, width: img.width, height: img.height };
	}
	/** autumn-tiny.jpg (no EXIF of its own) with an APP1 Exif orientation spliced in after SOI. */
	function withOrientation(jpeg: Uint8Array, o: Orientation): Uint8Array {
		const tiff = [
			0x4d,
			0x4d,
			0,
			42,
			0,
			0,
			0,
			8,
			0,
			1,
			0x01,
			0x12,
			0,
			3,
			0,
			0,
			0,
			1,
			0,
			o,
			0,
			0,
			0,
			0,
			0,
			0,
		];
		const app1 = [
			0xff,
			0xe1,
			0,
			2 + 6 + tiff.length,
			..."Exif\0\0".split("").map((c) => c.charCodeAt(0)),
			...tiff,
		];
		return new Uint8Array([0xff, 0xd8, ...app1, ...jpeg.subarray(2)]);
	}

	it.each(ALL)("orientation %s matches the decoder's own EXIF rotation", async (o) => {
		const file = withOrientation(await fixtureBytes("originals/2025/09/autumn-tiny.jpg"), o);
		const probed = probeImage(file);
		expect(probed.ok && probed.info.orientation).toBe(o);
		const mine = applyOrientation(await decode(file, false), o);
		const theirs = await decode(file, true);
		expect([mine.width, mine.height]).toEqual([theirs.width, theirs.height]);
		expect(mine.data).toEqual(theirs.data);
	});

	it("elephants-phone.jpg (stored 1600x900, orientation 6) matches elephants-phone-rotated.jpg", async () => {
		const stored = await fixtureBytes("originals/2025/09/elephants-phone.jpg");
		const rotated = await decode(
			await fixtureBytes("originals/2025/09/elephants-phone-rotated.jpg"),
			false,
		);
		const upright = applyOrientation(await decode(stored, false), 6);
		expect([upright.width, upright.height]).toEqual([rotated.width, rotated.height]);
		// The rotated fixture was re-encoded, so compare by mean error against the wrong answers.
		const meanError = (a: RGBAImage) => {
			let sum = 0;
			for (let i = 0; i < a.data.length; i += 4)
				sum += Math.abs((a.data[i] ?? 0) - (rotated.data[i] ?? 0));
			return sum / (a.data.length / 4);
		};
		const right = meanError(upright);
		expect(right).toBeLessThan(8);
		for (const wrong of [5, 7, 8] as const) {
			expect(meanError(applyOrientation(await decode(stored, false), wrong))).toBeGreaterThan(
				right * 3,
			);
		}
	});
});
