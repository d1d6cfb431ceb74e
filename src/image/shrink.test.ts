import { describe, expect, it } from "vitest";
import type { RGBAImage } from "./orientation";
import { areaShrink, shrinkFactor } from "./shrink";

/** An image whose pixel (x, y) has R = x, G = y, B = x + y, A = 255. */
function ramp(width: number, height: number): RGBAImage {
	const data = new Uint8ClampedArray(width * height * 4);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			data.set([x, y, x + y, 255], (y * width + x) * 4);
		}
	}
	return { data, width, height };
}

describe("shrinkFactor", () => {
	it.each([
		// crop w, h, out w, h, gap, k
		[2560, 1707, 730, 487, 2, 1],
		[2560, 1707, 730, 487, 1.5, 2],
		[1707, 1707, 150, 150, 2, 5],
		[1707, 1707, 150, 150, 1.5, 7],
		[1200, 800, 1200, 800, 1.5, 1],
		[100, 100, 300, 300, 1.5, 1],
		[100, 100, 0, 10, 1.5, 1],
		[100, 100, 10, 10, 0, 1],
		[100, 100, 10, 10, Number.NaN, 1],
		// the tighter side decides
		[4000, 100, 100, 50, 1, 2],
	])("%i×%i → %i×%i, gap %d: k = %i", (w, h, ow, oh, gap, k) => {
		expect(shrinkFactor({ w, h }, ow, oh, gap)).toBe(k);
	});
});

describe("areaShrink", () => {
	it("averages k×k blocks of the crop window when k divides it", () => {
		const src = ramp(8, 6);
		const out = areaShrink(src, { x: 2, y: 1, w: 4, h: 4 }, 2, 2);
		expect([out.width, out.height]).toEqual([2, 2]);
		// block (0,0) covers x 2..3, y 1..2: R 2.5, G 1.5, B 4 (halves round to even)
		expect([...out.data.subarray(0, 4)]).toEqual([2, 2, 4, 255]);
		// block (1,1) covers x 4..5, y 3..4: R 4.5, G 3.5, B 8
		expect([...out.data.subarray(12, 16)]).toEqual([4, 4, 8, 255]);
	});

	it("weights the pixels an output pixel covers in part", () => {
		// One row, R = 0, 30, 60: 3 → 2 pixels covering [0, 1.5) and [1.5, 3).
		const data = new Uint8ClampedArray([0, 0, 0, 255, 30, 0, 0, 255, 60, 0, 0, 255]);
		const out = areaShrink({ data, width: 3, height: 1 }, { x: 0, y: 0, w: 3, h: 1 }, 2, 1);
		expect([out.data[0], out.data[4]]).toEqual([10, 50]);
	});

	it.each([
		[{ x: 0, y: 0, w: 7, h: 3 }, 7, 3],
		[{ x: 1, y: 1, w: 5, h: 4 }, 5, 4],
	])("is the identity at the crop's own size: %j", (crop, w, h) => {
		const src = ramp(8, 6);
		const out = areaShrink(src, crop, w, h);
		for (let y = 0; y < h; y++) {
			for (let x = 0; x < w; x++) {
				const i = (y * w + x) * 4;
				expect([...out.data.subarray(i, i + 4)]).toEqual([
					crop.x + x,
					crop.y + y,
					crop.x + x + crop.y + y,
					255,
				]);
			}
		}
	});

	it.each([
		[9, 9, { x: 1, y: 1, w: 8, h: 7 }, 3, 3],
		[100, 40, { x: 3, y: 5, w: 97, h: 33 }, 13, 7],
	])("keeps a flat colour flat: %i×%i %j → %i×%i", (W, H, crop, w, h) => {
		const data = new Uint8ClampedArray(W * H * 4).fill(200);
		const out = areaShrink({ data, width: W, height: H }, crop, w, h);
		expect([out.width, out.height]).toEqual([w, h]);
		expect(out.data.every((v) => v === 200)).toBe(true);
	});

	it("keeps the mean of the window", () => {
		const src = ramp(64, 48);
		const crop = { x: 5, y: 3, w: 50, h: 41 };
		const out = areaShrink(src, crop, 17, 9);
		let sum = 0;
		for (let i = 0; i < 17 * 9; i++) sum += out.data[i * 4] as number;
		// R = x: the window's mean x is 5 + 49/2 = 29.5
		expect(sum / (17 * 9)).toBeCloseTo(29.5, 0);
	});
});
