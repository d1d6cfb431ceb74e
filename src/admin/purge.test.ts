import { describe, expect, it } from "vitest";
import { formatVariants } from "./purge";

describe("formatVariants: every format a derivative's cache entries can be stored in", () => {
	it.each([
		["a/photo-150x150.jpg", [undefined, "webp"]],
		["a/photo-150x150.jpeg", [undefined, "webp"]],
		["a/logo-150x150.png", [undefined, "webp"]],
		["a/pic-150x150.webp", [undefined]],
		// GIF and AVIF sizes are only ever their own format.
		["a/anim-150x150.gif", [undefined]],
		["a/photo-150x150.avif", [undefined]],
	])("%s → %j", (key, expected) => {
		expect(formatVariants(key)).toEqual(expected);
	});
});
