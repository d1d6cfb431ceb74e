/**
 * The URL parser against hostile input: a table of the classic tricks, then
 * fast-check properties over tens of thousands of generated paths. The pure
 * parser sees raw (still percent-encoded) text; the runtime's own URL parsing
 * in front of it is exercised through the worker in test/abuse.integration.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hostilePath as rawPath } from "../../test/hostile-paths";
import { BadRequestError, ImageError, NotFoundError } from "../http/errors";
import {
	type DerivativePath,
	encodeKey,
	type ImagePath,
	MAX_KEY_BYTES,
	parseImagePath,
	uploadKeys,
} from "./path";

function outcome(raw: string): ImagePath | ImageError {
	try {
		return parseImagePath(raw);
	} catch (err) {
		if (err instanceof ImageError) return err;
		throw err;
	}
}

describe("parseImagePath: table", () => {
	const d = (dir: string, name: string, ext: string, width: number, height: number) => ({
		kind: "derivative",
		key: `${dir}${name}-${width}x${height}.${ext}`,
		dir,
		name,
		ext,
		width,
		height,
	});
	it.each([
		["2025/09/photo-730x487.jpeg", d("2025/09/", "photo", "jpeg", 730, 487)],
		["photo-1x1.jpg", d("", "photo", "jpg", 1, 1)],
		["2025/09/a-b-c-150x150.jpg", d("2025/09/", "a-b-c", "jpg", 150, 150)],
		["2025/09/caf%C3%A9-150x150.jpg", d("2025/09/", "café", "jpg", 150, 150)],
		// Not the WordPress shape: served (or not) as an original by its own name.
		["2025/09/photo-0x0.jpeg", { kind: "original", key: "2025/09/photo-0x0.jpeg" }],
		["2025/09/photo-00730x487.jpeg", { kind: "original", key: "2025/09/photo-00730x487.jpeg" }],
		["2025/09/photo-730X487.jpeg", { kind: "original", key: "2025/09/photo-730X487.jpeg" }],
		["2025/09/photo-1e3x5.jpeg", { kind: "original", key: "2025/09/photo-1e3x5.jpeg" }],
		["2025/09/photo-730x487x2.jpeg", { kind: "original", key: "2025/09/photo-730x487x2.jpeg" }],
		["2025/09/photo-123456x1.jpeg", { kind: "original", key: "2025/09/photo-123456x1.jpeg" }],
		["2025/09/photo-730x487.JPEG", { kind: "original", key: "2025/09/photo-730x487.JPEG" }],
		["2025/09/photo-730x487", { kind: "original", key: "2025/09/photo-730x487" }],
		["2025/09/-730x487.jpeg", { kind: "original", key: "2025/09/-730x487.jpeg" }],
		["2025/09/%252e%252e", { kind: "original", key: "2025/09/%2e%2e" }],
	])("%j", (raw, expected) => {
		expect(parseImagePath(raw)).toEqual(expected);
	});

	it.each([
		["..", NotFoundError],
		["2025/../x.jpeg", NotFoundError],
		["2025/%2e%2e/x.jpeg", NotFoundError],
		["2025/%2E./x.jpeg", NotFoundError],
		["2025/.hidden.jpeg", NotFoundError],
		["2025//x.jpeg", NotFoundError],
		["/etc/passwd", NotFoundError],
		["2025%2f..%2fx.jpeg", NotFoundError],
		["2025%5c..%5cx.jpeg", NotFoundError],
		["2025\\x.jpeg", NotFoundError],
		["x%00.jpeg", NotFoundError],
		["x\u0000.jpeg", NotFoundError],
		["x%0d%0aSet-Cookie:a.jpeg", NotFoundError],
		["", NotFoundError],
		["2025/09/photo-scaled-150x150.jpeg", NotFoundError],
		["2025/09/photo-rotated-150x150.jpeg", NotFoundError],
		["x%zz.jpeg", BadRequestError],
		["x%.jpeg", BadRequestError],
		["x%C0%AF.jpeg", BadRequestError],
		["x%ED%A0%80.jpeg", BadRequestError],
		["x\uD800.jpeg", BadRequestError],
		["a".repeat(MAX_KEY_BYTES + 1), BadRequestError],
		["%C3%A9".repeat(600), BadRequestError],
		["a/".repeat(2000), BadRequestError],
	])("%j → %o", (raw, type) => {
		expect(outcome(raw)).toBeInstanceOf(type);
	});
});

// ---- properties ----------------------------------------------------------

function checkParsed(raw: string, p: ImagePath): void {
	const segments = p.key.split("/");
	// Never outside the bucket's folder tree, never a hidden or empty segment.
	expect(p.key.startsWith("/")).toBe(false);
	expect(p.key.includes("\\")).toBe(false);
	for (const s of segments) {
		expect(s).not.toBe("");
		expect(s).not.toBe("..");
		expect(s.startsWith(".")).toBe(false);
		// biome-ignore lint/suspicious/noControlCharactersInRegex: asserting they are absent
		expect(s).not.toMatch(/[\u0000-\u001f\u007f]/);
	}
	expect(new TextEncoder().encode(p.key).byteLength).toBeLessThanOrEqual(MAX_KEY_BYTES);
	// The folder is exactly the one the URL names: one key segment per URL
	// segment, each the URL's segment decoded once.
	const rawSegments = raw.split("/");
	expect(segments.length).toBe(rawSegments.length);
	segments.forEach((s, i) => {
		expect(s).toBe(decodeURIComponent(rawSegments[i] ?? ""));
	});
	if (p.kind === "derivative") {
		const dir = p.key.slice(0, p.key.lastIndexOf("/") + 1);
		expect(p.dir).toBe(dir);
		expect(p.key).toBe(`${p.dir}${p.name}-${p.width}x${p.height}.${p.ext}`);
		expect(Number.isSafeInteger(p.width) && p.width >= 1 && p.width <= 99999).toBe(true);
		expect(Number.isSafeInteger(p.height) && p.height >= 1 && p.height <= 99999).toBe(true);
		// Every key the lookup will read stays in the same folder.
		for (const key of Object.values(uploadKeys(p))) {
			expect(key.startsWith(dir)).toBe(true);
			expect(key.slice(dir.length)).not.toContain("/");
		}
	}
}

describe("parseImagePath: properties over generated URLs", () => {
	it("is total, stays in the URL's folder, and parse → format → parse is stable (10,000 runs)", () => {
		let parsed = 0;
		let derivatives = 0;
		fc.assert(
			fc.property(rawPath, (raw) => {
				const result = outcome(raw); // anything but an ImageError fails the run
				if (result instanceof ImageError) {
					expect([400, 404]).toContain(result.status);
					return;
				}
				parsed++;
				if (result.kind === "derivative") derivatives++;
				checkParsed(raw, result);
				const formatted = encodeKey(result.key);
				expect(parseImagePath(formatted)).toEqual(result);
				expect(encodeKey(parseImagePath(formatted).key)).toBe(formatted);
			}),
			{ numRuns: 10_000 },
		);
		// The generator must reach every branch, or the properties prove little.
		expect(parsed).toBeGreaterThan(1000);
		expect(derivatives).toBeGreaterThan(300);
	});

	it("never throws anything but an ImageError on arbitrary text (10,000 runs)", () => {
		fc.assert(
			fc.property(fc.string({ unit: "binary", maxLength: 300 }), (raw) => {
				const result = outcome(raw);
				if (!(result instanceof ImageError)) checkParsed(raw, result);
			}),
			{ numRuns: 10_000 },
		);
	});

	it("formats every derivative back to the name WordPress gives it", () => {
		fc.assert(
			fc.property(
				fc.constantFrom("2025/09/", "", "a/b/"),
				fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/),
				fc.integer({ min: 1, max: 99999 }),
				fc.integer({ min: 1, max: 99999 }),
				fc.constantFrom("jpeg", "jpg", "png", "webp"),
				(dir, name, w, h, ext) => {
					fc.pre(!/-(scaled|rotated)$/.test(name));
					const raw = `${dir}${name}-${w}x${h}.${ext}`;
					const p = parseImagePath(raw) as DerivativePath;
					expect(p).toMatchObject({ kind: "derivative", dir, name, ext, width: w, height: h });
					expect(encodeKey(p.key)).toBe(raw);
				},
			),
			{ numRuns: 2000 },
		);
	});
});
