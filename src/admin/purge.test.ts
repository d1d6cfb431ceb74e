import { describe, expect, it } from "vitest";
import { formatVariants, tierObjects } from "./purge";

describe("formatVariants: every format a derivative's cache entries can be stored in", () => {
	it.each([
		["a/photo-150x150.jpg", [undefined, "avif", "webp"]],
		["a/photo-150x150.jpeg", [undefined, "avif", "webp"]],
		["a/logo-150x150.png", [undefined, "avif", "webp"]],
		["a/pic-150x150.webp", [undefined]],
		// GIF and AVIF sizes are only ever their own format.
		["a/anim-150x150.gif", [undefined]],
		["a/photo-150x150.avif", [undefined]],
	])("%s → %j", (key, expected) => {
		expect(formatVariants(key)).toEqual(expected);
	});
});

describe("tierObjects: every derivative-tier object a derivative may be stored as", () => {
	it("the key itself and one per negotiated format", () => {
		expect(tierObjects(["a/photo-150x150.jpg", "a/pic-150x150.webp"])).toEqual([
			"a/photo-150x150.jpg",
			"a/photo-150x150.jpg.avif",
			"a/photo-150x150.jpg.webp",
			"a/pic-150x150.webp",
		]);
	});
});
