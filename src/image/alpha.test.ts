import { describe, expect, it } from "vitest";
import { smoothFaintColours } from "./alpha";
import type { RGBAImage } from "./orientation";

/** One row of pixels with the given alpha and pseudo-random colours. */
function row(alpha: number, width = 64): RGBAImage {
	const data = new Uint8ClampedArray(width * 4);
	let seed = 12345;
	for (let i = 0; i < data.length; i++) {
		seed = (seed * 1103515245 + 12345) >>> 0;
		data[i] = i % 4 === 3 ? alpha : seed >>> 24;
	}
	return { data, width, height: 1 };
}

const premultiplied = (img: RGBAImage) =>
	[...img.data].map((v, i, d) =>
		i % 4 === 3 ? v : Math.round((v * (d[i - (i % 4) + 3] ?? 0)) / 255),
	);

const variation = (img: RGBAImage) => {
	let sum = 0;
	for (let i = 4; i < img.data.length; i++) {
		if (i % 4 !== 3) sum += Math.abs((img.data[i] ?? 0) - (img.data[i - 4] ?? 0));
	}
	return sum;
};

describe("smoothFaintColours", () => {
	it.each([1, 3, 17, 64, 128, 200, 254])(
		"alpha %i: every pixel looks the same (premultiplied values unchanged), colours smoother",
		(alpha) => {
			const image = row(alpha);
			const before = premultiplied(image);
			const noise = variation(image);
			const out = smoothFaintColours({ ...image, data: image.data.slice() });
			expect(premultiplied(out)).toEqual(before);
			expect(variation(out)).toBeLessThan(noise);
		},
	);

	it.each([0, 255])("alpha %i: untouched", (alpha) => {
		const image = row(alpha);
		const copy = image.data.slice();
		expect(smoothFaintColours(image).data).toEqual(copy);
	});

	it("leaves its input alone (it may be a shared decode)", () => {
		const image = row(17);
		const copy = image.data.slice();
		const out = smoothFaintColours(image);
		expect(image.data).toEqual(copy);
		expect(out.data).not.toEqual(copy);
	});

	it("at alpha 1 a channel only says which half it is in: at most 8 colours left", () => {
		const out = smoothFaintColours(row(1));
		const colours = new Set<number>();
		for (let i = 4; i < out.data.length; i += 4) {
			colours.add(
				((out.data[i] ?? 0) << 16) | ((out.data[i + 1] ?? 0) << 8) | (out.data[i + 2] ?? 0),
			);
		}
		expect(colours.size).toBeLessThanOrEqual(8);
	});
});
