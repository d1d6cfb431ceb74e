import { describe, expect, it } from "vitest";
import { decodeScale, FULL_SCALE } from "./scale";

const need = (w: number, h: number, width: number, height: number) => ({
	crop: { w, h },
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
