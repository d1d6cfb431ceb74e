import { describe, expect, it } from "vitest";
import { BadRequestError, NotFoundError } from "../http/errors";
import { parseImagePath, publicPath, uploadKeyOf } from "./path";

describe("parseImagePath", () => {
	it.each([
		["2025/09/x-730x487.jpeg", "2025/09/", "x", 730, 487, "jpeg"],
		["2025/09/photo-150x150.jpg", "2025/09/", "photo", 150, 150, "jpg"],
		// Names may hold dashes, digits, x, an edit marker or an earlier size.
		["2025/09/a-b-c-3x4-730x487.jpeg", "2025/09/", "a-b-c-3x4", 730, 487, "jpeg"],
		[
			"2025/09/photo-e1726000000000-730x487.jpeg",
			"2025/09/",
			"photo-e1726000000000",
			730,
			487,
			"jpeg",
		],
		["2025/09/photo-2048x1536-1-730x487.jpeg", "2025/09/", "photo-2048x1536-1", 730, 487, "jpeg"],
		["2025/09/photo-2048x1536-730x487.jpeg", "2025/09/", "photo-2048x1536", 730, 487, "jpeg"],
		["2025/09/xx-1x1.png", "2025/09/", "xx", 1, 1, "png"],
		["top-10x20.webp", "", "top", 10, 20, "webp"],
		// Decoded exactly once: %20 is a space, %2520 stays a literal "%20".
		["2025/09/my%20photo-730x487.jpeg", "2025/09/", "my photo", 730, 487, "jpeg"],
		["2025/09/my%2520photo-730x487.jpeg", "2025/09/", "my%20photo", 730, 487, "jpeg"],
		["2025/09/caf%C3%A9-730x487.jpeg", "2025/09/", "café", 730, 487, "jpeg"],
	])("%s is a derivative", (raw, dir, name, width, height, ext) => {
		expect(parseImagePath(raw)).toEqual({
			kind: "derivative",
			key: `${dir}${name}-${width}x${height}.${ext}`,
			dir,
			name,
			ext,
			width,
			height,
		});
	});

	it.each([
		["2025/09/photo.jpeg"],
		["2025/09/photo-scaled.jpeg"],
		["2025/09/photo-rotated.jpg"],
		// Not a WordPress size suffix: leading zero, sign, upper-case X, exponent, zero.
		["2025/09/photo-0730x487.jpeg"],
		["2025/09/photo-730x0487.jpeg"],
		["2025/09/photo-730X487.jpeg"],
		["2025/09/photo-+730x487.jpeg"],
		["2025/09/photo-1e3x5.jpeg"],
		["2025/09/photo-0x0.jpeg"],
		["2025/09/photo-730x487x2.jpeg"],
		["2025/09/photo-730x487"],
		// Upper-case extension: WordPress lower-cases at upload, so only the upload can have it.
		["2025/09/photo-730x487.JPEG"],
		// More digits than any output could have.
		["2025/09/photo-123456x487.jpeg"],
		["2025/09/-730x487.jpeg"],
	])("%s is an original (no size suffix)", (raw) => {
		const parsed = parseImagePath(raw);
		expect(parsed.kind).toBe("original");
		expect(parsed.key).toBe(decodeURIComponent(raw));
	});

	it.each([
		["2025/../secret.jpeg"],
		["2025/./x.jpeg"],
		["2025/%2e%2e/x.jpeg"],
		["2025/%2E%2E/x-730x487.jpeg"],
		["2025/09/..%2fx.jpeg"],
		["2025/09%2f..%2f..%2fx.jpeg"],
		["2025/09/a%5c..%5cb.jpeg"],
		["2025/09/a\\b.jpeg"],
		["2025/09/a%00b.jpeg"],
		["2025/09/a%0ab.jpeg"],
		["2025//x.jpeg"],
		["/x.jpeg"],
		["2025/09/"],
		["2025/09/.htaccess"],
		// A derivative is never named after a -scaled/-rotated copy.
		["2025/09/photo-scaled-730x487.jpeg"],
		["2025/09/photo-rotated-150x150.jpg"],
	])("%s never reaches R2: 404", (raw) => {
		expect(() => parseImagePath(raw)).toThrow(NotFoundError);
	});

	it.each([
		["2025/09/%E0%A4%A.jpeg"],
		["2025/09/%zz.jpeg"],
		["2025/09/%"],
		[`2025/${"a".repeat(1100)}.jpeg`],
		["a/".repeat(2000)],
	])("%s is malformed: 400", (raw) => {
		expect(() => parseImagePath(raw)).toThrow(BadRequestError);
	});
});

describe("uploadKeyOf", () => {
	it.each([
		["2025/09/photo.jpeg", "2025/09/photo.jpeg"],
		["2025/09/photo-scaled.jpeg", "2025/09/photo.jpeg"],
		["2025/09/photo-rotated.jpg", "2025/09/photo.jpg"],
		["2025/09/photo-730x487.jpeg", "2025/09/photo.jpeg"],
		["2025/09/photo-1-150x150.jpeg", "2025/09/photo-1.jpeg"],
		["photo-e1726000000000-150x150.png", "photo-e1726000000000.png"],
		["2025/09/readme", "2025/09/readme"],
	])("%s belongs to %s", (key, upload) => {
		expect(uploadKeyOf(key)).toBe(upload);
	});
});

describe("publicPath", () => {
	it.each([
		["/files", "2025/09/x-730x487.jpeg", "/files/2025/09/x-730x487.jpeg"],
		["/files", "2025/09/my photo.jpeg", "/files/2025/09/my%20photo.jpeg"],
		["/a/b", "café.jpg", "/a/b/caf%C3%A9.jpg"],
	])("%s + %s → %s, and it parses back to the same key", (mount, key, path) => {
		expect(publicPath(mount, key)).toBe(path);
		expect(parseImagePath(path.slice(mount.length + 1)).key).toBe(key);
	});
});
