import { describe, expect, it } from "vitest";
import type { RGBAImage } from "./orientation";
import { paletteColours, quantize } from "./quantize";

function colours(image: RGBAImage): number {
	return new Set(new Uint32Array(image.data.buffer, image.data.byteOffset, image.data.length / 4))
		.size;
}

/** A flat-coloured "logo": n colour bands on a transparent surround, with blended rims. */
function logo(bands: number, rim: boolean): RGBAImage {
	const width = 256;
	const height = 64;
	const data = new Uint8ClampedArray(width * height * 4);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const i = (y * width + x) * 4;
			if (y < 8 || y >= 56) continue; // transparent
			const band = Math.floor((x * bands) / width);
			data[i] = (band * 97) % 256;
			data[i + 1] = (band * 53 + 40) % 256;
			data[i + 2] = (band * 151 + 7) % 256;
			// Anti-aliased rims: a different alpha in each column of the edge rows.
			data[i + 3] = rim && (y === 8 || y === 55) ? x : 255;
		}
	}
	return { data, width, height };
}

function maxError(a: RGBAImage, b: RGBAImage): number {
	let worst = 0;
	for (let i = 0; i < a.data.length; i++) {
		worst = Math.max(worst, Math.abs((a.data[i] ?? 0) - (b.data[i] ?? 0)));
	}
	return worst;
}

describe("quantize", () => {
	it.each([1, 16, 200])("%i colours (≤ 256): returned unchanged", (bands) => {
		const image = logo(bands, false);
		expect(quantize(image)).toBe(image);
	});

	it("a 16-colour logo with blended rims: at most 256 colours, flat colours exact", () => {
		const image = logo(16, true);
		expect(colours(image)).toBeGreaterThan(256);
		const out = quantize(image);
		expect([out.width, out.height]).toEqual([image.width, image.height]);
		expect(colours(out)).toBeLessThanOrEqual(256);
		// The flat interior (rows 9..54) and the transparent surround are untouched.
		const interior = (img: RGBAImage) => img.data.slice(9 * 256 * 4, 55 * 256 * 4);
		expect(interior(out)).toEqual(interior(image));
		expect(out.data.slice(0, 8 * 256 * 4).every((v) => v === 0)).toBe(true);
		// Rims move by a few levels at most.
		expect(maxError(out, image)).toBeLessThanOrEqual(16);
	});

	it("many colours (a gradient): at most 256, each close to the original", () => {
		const width = 512;
		const data = new Uint8ClampedArray(width * 4);
		for (let x = 0; x < width; x++) data.set([x >> 1, 255 - (x >> 1), (x * 7) & 255, 255], x * 4);
		const image = { data, width, height: 1 };
		const out = quantize(image);
		expect(colours(out)).toBeLessThanOrEqual(256);
		expect(maxError(out, image)).toBeLessThanOrEqual(48);
	});
});

describe("paletteColours", () => {
	it("one entry per 256 pixels, 64 to 256", () => {
		expect([150 * 150, 100 * 100, 510 * 320, 4000 * 4000].map(paletteColours)).toEqual([
			87, 64, 256, 256,
		]);
	});
});
