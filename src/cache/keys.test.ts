import { describe, expect, it } from "vitest";
import { cacheKeyUrl, ifNoneMatchHits, settingsHash, strongEtag } from "./keys";

describe("cacheKeyUrl", () => {
	it.each([
		[{}, "https://h.test/files/2025/09/x-730x487.jpeg"],
		[{ generation: 0 }, "https://h.test/files/2025/09/x-730x487.jpeg"],
		[{ generation: 3 }, "https://h.test/files/2025/09/x-730x487.jpeg?g=3"],
		[{ format: "webp" }, "https://h.test/files/2025/09/x-730x487.jpeg?f=webp"],
		[{ format: "webp", generation: 2 }, "https://h.test/files/2025/09/x-730x487.jpeg?g=2&f=webp"],
		[
			{ format: "webp", generation: 2, settings: "0123abcd" },
			"https://h.test/files/2025/09/x-730x487.jpeg?g=2&f=webp&s=0123abcd",
		],
	])("variant %o → %s", (variant, url) => {
		expect(cacheKeyUrl("https://h.test", "/files", "2025/09/x-730x487.jpeg", variant)).toBe(url);
	});

	it("encodes the key canonically, so two spellings of one name share an entry", () => {
		expect(cacheKeyUrl("https://h.test", "/files", "a/my photo~1.jpeg")).toBe(
			"https://h.test/files/a/my%20photo~1.jpeg",
		);
	});
});

describe("strongEtag", () => {
	it("is a quoted strong tag that depends on every part", async () => {
		const a = await strongEtag(["k", "etag1", 730, 487]);
		expect(a).toMatch(/^"[0-9a-f]{32}"$/);
		expect(await strongEtag(["k", "etag1", 730, 487])).toBe(a);
		expect(await strongEtag(["k", "etag2", 730, 487])).not.toBe(a);
		expect(await strongEtag(["k", "etag1", 731, 487])).not.toBe(a);
	});
});

describe("ifNoneMatchHits", () => {
	it.each([
		[null, false],
		["", false],
		['"abc"', true],
		['W/"abc"', true],
		['"x", "abc"', true],
		['"x","y"', false],
		["*", true],
		['"ab"', false],
	])("If-None-Match %s → %s", (header, hits) => {
		expect(ifNoneMatchHits(header, '"abc"')).toBe(hits);
	});
});

describe("settingsHash", () => {
	it("is 16 hex digits, the same for the same settings and different for any change", () => {
		const base = ["derivative", { thumbnail: { width: 150, height: 150, crop: true } }, 82, 80];
		const hash = settingsHash(base);
		expect(hash).toMatch(/^[0-9a-f]{16}$/);
		expect(settingsHash(structuredClone(base))).toBe(hash);
		const changed = [
			["derivative", { thumbnail: { width: 150, height: 151, crop: true } }, 82, 80],
			["derivative", { thumbnail: { width: 150, height: 150, crop: false } }, 82, 80],
			["derivative", { thumbnail: { width: 150, height: 150, crop: true } }, 83, 80],
			["derivative", { thumbnail: { width: 150, height: 150, crop: true } }, 82, 81],
			["table", { thumbnail: { width: 150, height: 150, crop: true } }, 82, 80],
		].map(settingsHash);
		expect(new Set([hash, ...changed]).size).toBe(6);
	});
});
