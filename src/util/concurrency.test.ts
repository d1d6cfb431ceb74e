import { describe, expect, it } from "vitest";
import { mapLimited } from "./concurrency";

describe("mapLimited", () => {
	it.each([
		[0, 3],
		[1, 3],
		[10, 1],
		[10, 3],
		[10, 50],
	])("%i items, at most %i at once, results in order", async (n, limit) => {
		let active = 0;
		let peak = 0;
		const items = Array.from({ length: n }, (_, i) => i);
		const out = await mapLimited(items, limit, async (x) => {
			active++;
			peak = Math.max(peak, active);
			await new Promise((r) => setTimeout(r, (x * 7) % 5));
			active--;
			return x * 2;
		});
		expect(out).toEqual(items.map((x) => x * 2));
		expect(peak).toBeLessThanOrEqual(Math.min(limit, Math.max(n, 1)));
		if (n > 0) expect(peak).toBe(Math.min(limit, n));
	});

	it("a failure rejects the whole map", async () => {
		await expect(
			mapLimited([1, 2, 3], 2, async (x) => {
				if (x === 2) throw new Error("boom");
				return x;
			}),
		).rejects.toThrow("boom");
	});
});
