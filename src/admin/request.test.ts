import { describe, expect, it } from "vitest";
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../http/errors";
import { MAX_BODY_BYTES, parsePrefix, parsePurgeRequest, parseTarget, readBody } from "./request";

const MOUNT = "/files";

describe("parseTarget", () => {
	it.each([
		["2025/09/photo.jpeg", undefined, "original", "2025/09/photo.jpeg"],
		["2025/09/photo-730x487.jpeg", undefined, "derivative", "2025/09/photo-730x487.jpeg"],
		["/files/2025/09/photo-scaled.jpeg", undefined, "original", "2025/09/photo-scaled.jpeg"],
		[
			"https://cdn.example.com/files/2025/09/ph%C3%B6to-730x487.jpeg?ver=3",
			"https://cdn.example.com",
			"derivative",
			"2025/09/phöto-730x487.jpeg",
		],
		["2025/09/50%off.jpg", undefined, "original", "2025/09/50%off.jpg"],
	])("%s", (input, origin, kind, key) => {
		const t = parseTarget(input, MOUNT, "images[0]");
		expect(t.origin).toBe(origin);
		expect(t.path.kind).toBe(kind);
		expect(t.path.key).toBe(key);
	});

	it.each([
		["https://x.test/wp-content/a.jpg", /not under \/files\//],
		["/wp-content/a.jpg", /not under \/files\//],
		["https://", /not a valid URL/],
		["2025/../a.jpg", /not an upload path/],
		["2025//a.jpg", /not an upload path/],
		[".env", /not an upload path/],
		["a/b-scaled-150x150.jpg", /not an upload path/],
	])("%s is refused, naming the item", (input, message) => {
		expect(() => parseTarget(input, MOUNT, "images[3]")).toThrow(message);
		expect(() => parseTarget(input, MOUNT, "images[3]")).toThrow(/images\[3\]/);
	});
});

describe("parsePrefix", () => {
	it.each(["2025/", "2025/09/", "2025/09/photo", "a"])("%s is a prefix", (p) => {
		expect(parsePrefix(p)).toBe(p);
	});
	it.each([
		["", /empty/],
		["/2025/", /key prefix/],
		["2025//09/", /segment/],
		["../", /segment/],
		["a/./", /segment/],
		[3, /string/],
	])("%j is refused", (p, message) => {
		expect(() => parsePrefix(p)).toThrow(message);
	});
});

describe("parsePurgeRequest", () => {
	it("accepts any mix, dedupes, and keeps the inputs for the report", () => {
		const req = parsePurgeRequest(
			JSON.stringify({
				images: ["2025/09/a.jpg", "2025/09/a.jpg", "https://h.test/files/2025/09/b-1x1.jpg"],
				urls: ["/files/2025/09/c-10x10.jpg"],
				prefix: "2024/",
				everything: true,
			}),
			MOUNT,
		);
		expect(req.images.map((t) => t.input)).toEqual([
			"2025/09/a.jpg",
			"https://h.test/files/2025/09/b-1x1.jpg",
		]);
		expect(req.urls.map((t) => t.path.key)).toEqual(["2025/09/c-10x10.jpg"]);
		expect(req.prefix).toBe("2024/");
		expect(req.everything).toBe(true);
	});

	it.each([
		["", BadRequestError, /not valid JSON/],
		["null", BadRequestError, /JSON object/],
		['{"everything":true,"force":1}', BadRequestError, /Unknown field "force"/],
		['{"images":"a.jpg"}', BadRequestError, /images must be an array/],
		['{"urls":[1]}', BadRequestError, /urls\[0\] must be a non-empty string/],
		['{"everything":"yes"}', BadRequestError, /everything must be true/],
		['{"images":[]}', BadRequestError, /Nothing to purge/],
		[
			JSON.stringify({ images: Array(60).fill("a.jpg"), urls: Array(41).fill("b.jpg") }),
			PayloadTooLargeError,
			/Too many items: 101/,
		],
	])("%s → %o", (body, type, message) => {
		expect(() => parsePurgeRequest(body, MOUNT)).toThrow(type);
		expect(() => parsePurgeRequest(body, MOUNT)).toThrow(message);
	});
});

describe("readBody", () => {
	const post = (body: BodyInit, headers: Record<string, string> = {}) =>
		new Request("http://x/", {
			method: "POST",
			body,
			headers: { "Content-Type": "application/json", ...headers },
		});

	it("reads JSON bodies up to the limit", async () => {
		expect(await readBody(post('{"everything":true}'))).toBe('{"everything":true}');
		expect(await readBody(post("x".repeat(MAX_BODY_BYTES)))).toHaveLength(MAX_BODY_BYTES);
	});

	it("413s past the limit, whether declared or streamed", async () => {
		await expect(readBody(post("x".repeat(MAX_BODY_BYTES + 1)))).rejects.toThrow(
			PayloadTooLargeError,
		);
		const stream = new ReadableStream({
			start(c) {
				for (let i = 0; i < 3; i++) c.enqueue(new Uint8Array(MAX_BODY_BYTES / 2));
				c.close();
			},
		});
		await expect(readBody(post(stream))).rejects.toThrow(PayloadTooLargeError);
	});

	it("415s anything but JSON, 400s broken UTF-8", async () => {
		await expect(readBody(post("{}", { "Content-Type": "text/plain" }))).rejects.toThrow(
			UnsupportedMediaTypeError,
		);
		await expect(readBody(post(new Uint8Array([0x7b, 0xff, 0x7d])))).rejects.toThrow(/UTF-8/);
	});
});
