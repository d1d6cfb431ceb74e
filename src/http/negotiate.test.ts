import { describe, expect, it } from "vitest";
import { type AcceptClass, acceptClass, negotiateFormat, variesByAccept } from "./negotiate";

describe("acceptClass", () => {
	it.each<[string | null, AcceptClass]>([
		[null, "neither"],
		["", "neither"],
		["*/*", "neither"],
		["image/*", "neither"],
		["image/*,*/*;q=0.8", "neither"],
		["image/png,image/jpeg", "neither"],
		// Chrome, Firefox ≥ 93, Safari ≥ 16 (image requests)
		["image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "avif"],
		["image/avif,image/webp,*/*", "avif"],
		["image/webp,*/*", "webp"],
		["IMAGE/WEBP", "webp"],
		["image/webp;q=0.5", "webp"],
		["image/webp; q=1.0, image/jpeg", "webp"],
		// q=0 means "not acceptable" (RFC 9110 §12.4.2)
		["image/webp;q=0", "neither"],
		["image/webp;q=0.0,*/*", "neither"],
		["image/avif;q=0,image/webp", "webp"],
		// AVIF alone: we do not make AVIF, and WebP was not offered
		["image/avif,*/*", "neither"],
		["image/webpx,image/web", "neither"],
		["image/webp;q=junk", "neither"],
	])("%j → %s", (accept, expected) => {
		expect(acceptClass(accept)).toBe(expected);
	});
});

describe("negotiateFormat", () => {
	it.each([
		["jpeg", "webp", true, "webp"],
		["jpeg", "avif", true, "avif"],
		["png", "avif", true, "avif"],
		["jpeg", "neither", true, "jpeg"],
		["png", "webp", true, "webp"],
		["png", "neither", true, "png"],
		["webp", "neither", true, "webp"],
		["webp", "webp", true, "webp"],
		// GIF and AVIF sizes stay in their own format, whatever the client takes.
		["gif", "webp", true, "gif"],
		["gif", "neither", false, "gif"],
		["avif", "avif", true, "avif"],
		["avif", "neither", false, "avif"],
		// Off: always the file's own format
		["jpeg", "webp", false, "jpeg"],
		["png", "avif", false, "png"],
		["webp", "webp", false, "webp"],
	] as const)("%s with %s, auto=%s → %s", (own, accept, auto, expected) => {
		expect(negotiateFormat(own, accept, auto)).toBe(expected);
	});

	it("an AVIF client gets WebP for a size whose AVIF encode would be over budget", () => {
		expect(negotiateFormat("jpeg", "avif", true, { width: 1200, height: 800 })).toBe("avif");
		expect(negotiateFormat("jpeg", "avif", true, { width: 2560, height: 1707 })).toBe("webp");
		expect(negotiateFormat("jpeg", "webp", true, { width: 150, height: 150 })).toBe("webp");
	});

	it.each([
		["jpeg", true, true],
		["png", true, true],
		["webp", true, false],
		["gif", true, false],
		["jpeg", false, false],
		["png", false, false],
	] as const)("%s with auto=%s varies by Accept: %s", (own, auto, expected) => {
		expect(variesByAccept(own, auto)).toBe(expected);
	});
});
