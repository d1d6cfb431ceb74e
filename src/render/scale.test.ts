import { describe, expect, it } from "vitest";
import { decodeScale, FULL_SCALE, regionWindow, webpRegion } from "./scale";

const need = (w: number, h: number, width: number, height: number) => ({
	crop: { x: 0, y: 0, w, h },
	width,
	height,
});

describe("decodeScale", () => {
	it.each([
		// crop, output, gap, eighths
		["2560x1707 → 150x150 crop", need(1707, 1707, 150, 150), 1, 1],
		["2560x1707 → 150x150 crop, gap 2", need(1707, 1707, 150, 150), 2, 2],
		["2560x1707 → 1200x800", need(2560, 1707, 1200, 800), 1, 4],
		["2560x1707 → 730x487", need(2560, 1707, 730, 487), 1, 3],
		["2560x1707 → 730x487, gap 2", need(2560, 1707, 730, 487), 2, 5],
		["exactly half", need(2400, 1600, 1200, 800), 1, 4],
		["just over half", need(2400, 1600, 1201, 800), 1, 5],
		["a 2x enlargement never shrinks", need(100, 100, 200, 200), 1, FULL_SCALE],
		["the same size", need(640, 480, 640, 480), 1, FULL_SCALE],
		["1x1 output", need(4000, 3000, 1, 1), 1, 1],
	])("%s", (_, n, gap, eighths) => {
		expect(decodeScale("jpeg", [n], gap)).toBe(eighths);
	});

	it("serves every need at once (the fan-out): the largest wins", () => {
		const needs = [need(1707, 1707, 150, 150), need(2560, 1707, 1200, 800)];
		expect(decodeScale("jpeg", needs, 1)).toBe(4);
	});

	it.each(["png", "webp"] as const)("%s always decodes at full size", (format) => {
		expect(decodeScale(format, [need(2560, 1707, 150, 100)], 1)).toBe(FULL_SCALE);
	});

	it.each([0, Number.NaN, -1])("a gap of %s turns shrink-on-load off", (gap) => {
		expect(decodeScale("jpeg", [need(2560, 1707, 150, 100)], gap)).toBe(FULL_SCALE);
	});

	it("no needs: full size", () => {
		expect(decodeScale("jpeg", [], 1)).toBe(FULL_SCALE);
	});
});

describe("webpRegion (a streamed lossy WebP: cropped and area-averaged by libwebp)", () => {
	const stored = { width: 8658, height: 5772 };
	const all = { x: 0, y: 0, w: 8658, h: 5772 };

	it("the whole image for a full-frame size, scaled to gap × the output", () => {
		const r = webpRegion(stored, [{ crop: all, width: 1200, height: 800 }], 3);
		expect(r).toMatchObject({ x: 0, y: 0, w: 8658, h: 5772 });
		expect(r.width).toBeGreaterThanOrEqual(3600);
		expect(r.width).toBeLessThanOrEqual(3601);
		expect(r.height).toBeGreaterThanOrEqual(2400);
		expect(r.height).toBeLessThanOrEqual(2401);
	});

	it("a centre crop: the window plus the filter's margin, x and y even, scaled to gap × the output", () => {
		const crop = { x: 1443, y: 0, w: 5772, h: 5772 };
		const r = webpRegion(stored, [{ crop, width: 150, height: 150 }], 3);
		// 4 × 5772/150 + 2 = 156 stored pixels either side (clamped at the top and bottom).
		expect(r).toMatchObject({ x: (1443 - 156) & ~1, y: 0, h: 5772 });
		expect(r.x + r.w).toBe(1443 + 5772 + 156);
		const win = regionWindow(r, crop);
		expect(win.w).toBeGreaterThanOrEqual(450);
		expect(win.h).toBeGreaterThanOrEqual(450);
		expect(win.w).toBeLessThan(452);
		expect(win.x).toBeGreaterThan(0);
		expect(win.x + win.w).toBeLessThanOrEqual(r.width);
	});

	it("never enlarges: an output near the window's size decodes it at its own size", () => {
		const crop = { x: 100, y: 100, w: 2000, h: 1000 };
		const r = webpRegion(stored, [{ crop, width: 1500, height: 750 }], 3);
		expect([r.width, r.height]).toEqual([r.w, r.h]);
		expect(regionWindow(r, crop)).toEqual({ x: 100 - r.x, y: 100 - r.y, w: 2000, h: 1000 });
	});

	it("serves every need at once: the union of windows, the largest scale", () => {
		const crop = { x: 1443, y: 0, w: 5772, h: 5772 };
		const needs = [
			{ crop, width: 150, height: 150 },
			{ crop: all, width: 2048, height: 1365 },
		];
		const r = webpRegion(stored, needs, 3);
		expect(r).toMatchObject({ x: 0, y: 0, w: 8658, h: 5772 });
		for (const n of needs) {
			const win = regionWindow(r, n.crop);
			expect(win.w).toBeGreaterThanOrEqual(Math.min(3 * n.width, n.crop.w));
			expect(win.h).toBeGreaterThanOrEqual(Math.min(3 * n.height, n.crop.h));
		}
	});

	it("a gap under 1 turns the scaling off", () => {
		const r = webpRegion(stored, [{ crop: all, width: 150, height: 100 }], 0);
		expect([r.width, r.height]).toEqual([8658, 5772]);
	});
});
