import { describe, expect, it } from "vitest";
import type { RGBAImage } from "./orientation";
import { boxShrink, shrinkFactor } from "./shrink";

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

describe("boxShrink", () => {
	it("averages k×k blocks of the crop window, with rounding", () => {
		const src = ramp(8, 6);
		const out = boxShrink(src, { x: 2, y: 1, w: 4, h: 4 }, 2);
		expect([out.width, out.height]).toEqual([2, 2]);
		// block (0,0) covers x 2..3, y 1..2: R mean 2.5 → 3, G mean 1.5 → 2, B mean 4
		expect([...out.data.subarray(0, 4)]).toEqual([3, 2, 4, 255]);
		// block (1,1) covers x 4..5, y 3..4
		expect([...out.data.subarray(12, 16)]).toEqual([5, 4, 8, 255]);
	});

	it("averages only the pixels a partial last block has", () => {
		const src = ramp(5, 5);
		const out = boxShrink(src, { x: 0, y: 0, w: 5, h: 5 }, 2);
		expect([out.width, out.height]).toEqual([3, 3]);
		// last column block is x = 4 alone; last row block is y = 4 alone
		const last = (2 * 3 + 2) * 4;
		expect([...out.data.subarray(last, last + 4)]).toEqual([4, 4, 8, 255]);
		const lastOfFirstRow = 2 * 4;
		expect([...out.data.subarray(lastOfFirstRow, lastOfFirstRow + 4)]).toEqual([4, 1, 5, 255]);
	});

	it("is the identity for k = 1", () => {
		const src = ramp(7, 3);
		const out = boxShrink(src, { x: 0, y: 0, w: 7, h: 3 }, 1);
		expect(out.data).toEqual(src.data);
	});

	it("keeps a flat colour flat", () => {
		const data = new Uint8ClampedArray(9 * 9 * 4).fill(200);
		const out = boxShrink({ data, width: 9, height: 9 }, { x: 1, y: 1, w: 8, h: 7 }, 3);
		expect([out.width, out.height]).toEqual([3, 3]);
		expect(out.data.every((v) => v === 200)).toBe(true);
	});
});
