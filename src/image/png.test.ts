import { describe, expect, it } from "vitest";
import type { RGBAImage } from "./orientation";
import { decodePng, OPTIMIZE_MIN_SAVING, optimizePng, resetPng } from "./png";
import { encodePngFast } from "./png-encode";
import { codecStats } from "./wasm-lazy";

/** Flat panels with thin lines: what deflate at zlib's default leaves room in. */
function panels(width: number, height: number): RGBAImage {
	const data = new Uint8ClampedArray(width * height * 4);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const line = x % 37 === 0 || y % 23 === 0 || (x * 7 + y * 3) % 101 < 2;
			const shade = ((x >> 6) * 40 + (y >> 5) * 25) & 255;
			data.set(
				line ? [20, 20, 20, 255] : [shade, 200 - (shade >> 1), 90, 255],
				(y * width + x) * 4,
			);
		}
	}
	return { data, width, height };
}

/** Let `depth` rounds of microtasks run, then call fn. */
function after(depth: number, fn: () => Promise<unknown>): Promise<unknown> {
	let p: Promise<unknown> = Promise.resolve();
	for (let i = 0; i < depth; i++) p = p.then(() => undefined);
	return p.then(fn);
}

describe("oxipng instance after a failed call", () => {
	it("keeps an instance another request made while the failure unwound", async () => {
		const good = await encodePngFast(panels(64, 48));
		// Not a PNG: oxipng fails mid-call, and its instance is dropped.
		const bad = new Uint8Array([1, 2, 3, 4]);
		// Whatever microtask the other request lands in between the failed
		// call's own reset and its caller, the instance it gets must stay.
		let raced = 0;
		for (let depth = 0; depth < 12; depth++) {
			resetPng();
			await optimizePng(good, 1);
			const failed = optimizePng(bad, 1).then(
				() => "optimised",
				() => "refused",
			);
			let made = false;
			const other = after(depth, async () => {
				const start = codecStats.instantiations;
				const pending = optimizePng(good, 1);
				// Came after the failed call dropped the poisoned instance: made its own.
				made = codecStats.instantiations > start;
				return pending;
			});
			expect(await failed).toBe("refused");
			await other;
			if (!made) continue;
			raced++;
			const before = codecStats.instantiations;
			await optimizePng(good, 1);
			expect(codecStats.instantiations, `depth ${depth}`).toBe(before);
		}
		expect(raced).toBeGreaterThan(0);
	});
});

describe("optimizePng (the background oxipng step)", () => {
	it("keeps oxipng's file only when it saves at least 5%, and it decodes to the same pixels", async () => {
		const image = panels(400, 300);
		const ours = await encodePngFast(image);
		const optimised = await optimizePng(ours, 2);
		expect(optimised).not.toBeNull();
		const better = optimised as Uint8Array;
		expect(better.byteLength).toBeLessThanOrEqual(ours.byteLength * (1 - OPTIMIZE_MIN_SAVING));
		expect((await decodePng(better)).data).toEqual(image.data);
		// Its own output has nothing left to gain.
		expect(await optimizePng(better, 2)).toBeNull();
	});

	it("bytes that are not a PNG: 422-typed error, and the optimiser still works after", async () => {
		await expect(optimizePng(new Uint8Array([1, 2, 3, 4]), 2)).rejects.toMatchObject({
			status: 422,
			publicMessage: "Could not optimise PNG",
		});
		expect(await optimizePng(await encodePngFast(panels(160, 120)), 2)).toBeInstanceOf(Uint8Array);
	});
});
