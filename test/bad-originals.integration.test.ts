/**
 * Broken, lying and odd originals in R2 under real-looking names. Each gets a
 * typed 415/422 (or a correct image when the file is valid), nothing is cached
 * as an image, limits are enforced from the header before any decode, and the
 * isolate keeps serving good requests afterwards.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { cacheKeyRequest, cacheKeyUrl } from "../src/cache/keys";
import { type Config, loadConfig } from "../src/config";
import { variesByAccept } from "../src/http/negotiate";
import { encodeJpeg } from "../src/image/jpeg";
import { applyOrientation, type RGBAImage } from "../src/image/orientation";
import { readPng } from "../src/image/png-decode";
import { chunk } from "../src/image/png-encode";
import { codecStats } from "../src/image/wasm-lazy";
import { derivativeSettings } from "../src/render/settings";
import { fixtureBytes } from "./helpers";
import { decode, psnr, reference } from "./images";
import { call, publicText, recordingBucket, workerEnv } from "./worker";

/** The settings hash of a JPEG size in its own format, as the serving path keys it. */
const ownSettings = (config: Config) =>
	derivativeSettings(config, variesByAccept("jpeg", config.autoFormat));

const DIR = "2025/10/";
const url = (file: string) => `http://images.test/files/${DIR}${file}`;

/** Sizes that exist for a 480x320 upload: one hard crop, one soft fit. */
const SIZES = {
	thumbnail: { width: 150, height: 150, crop: true },
	wide: { width: 300, height: 100, crop: true },
	fit: { width: 200, height: 200, crop: false },
};
const recorder = recordingBucket();
const testEnv = workerEnv({ IMAGE_SIZES: JSON.stringify(SIZES), ORIGINALS: recorder.bucket });

function patchSof(jpeg: Uint8Array, patch: (b: Uint8Array, at: number) => void): Uint8Array {
	const b = jpeg.slice();
	for (let i = 2; i + 1 < b.length; i++) {
		if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
			patch(b, i);
			return b;
		}
	}
	throw new Error("no SOF");
}

/** Deterministic noise that starts like no known format. */
function noise(n: number): Uint8Array {
	const out = new Uint8Array(n);
	let s = 0x2545f491;
	for (let i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >>> 17;
		s ^= s << 5;
		out[i] = s & 0xff;
	}
	out[0] = 0x42;
	return out;
}

/** The PNG with its first row's filter type set to `type` (IDAT re-deflated). */
async function withFilterType(png: Uint8Array, type: number): Promise<Uint8Array> {
	const info = readPng(png);
	const through = async (stream: CompressionStream | DecompressionStream, parts: Uint8Array[]) =>
		new Uint8Array(await new Response(new Blob(parts).stream().pipeThrough(stream)).arrayBuffer());
	const rows = await through(new DecompressionStream("deflate"), [...info.idat]);
	rows[0] = type;
	const idat = await through(new CompressionStream("deflate"), [rows]);
	const ihdrEnd = 8 + 12 + 13;
	return new Uint8Array(
		await new Blob([
			png.subarray(0, ihdrEnd),
			chunk("IDAT", idat),
			chunk("IEND", new Uint8Array(0)),
		]).arrayBuffer(),
	);
}

let upright: Uint8Array;

beforeAll(async () => {
	upright = await fixtureBytes("hostile/upright.jpg");
	const png = await fixtureBytes("hostile/small.png");
	const pngHuge = png.slice();
	new DataView(pngHuge.buffer).setUint32(16, 2 ** 31); // IHDR width
	// 40 MP, within MAX_LOSSLESS_SOURCE_PIXELS, but rows of 400 KB to 800 KB.
	const pngStrip = png.slice();
	new DataView(pngStrip.buffer).setUint32(16, 100_000);
	new DataView(pngStrip.buffer).setUint32(20, 400);
	const onePixel = await encodeJpeg(
		{ data: new Uint8ClampedArray([200, 30, 30, 255]), width: 1, height: 1 },
		{ quality: 90, progressive: false },
	);
	const files: Record<string, Uint8Array> = {
		"empty.jpeg": new Uint8Array(0),
		"cut-10.jpeg": upright.slice(0, Math.floor(upright.length * 0.1)),
		"cut-50.jpeg": upright.slice(0, Math.floor(upright.length * 0.5)),
		"cut-99.jpeg": upright.slice(0, Math.floor(upright.length * 0.99)),
		"noise.jpeg": noise(40_000),
		"png-inside.jpeg": png,
		"webp-inside.jpeg": await fixtureBytes("hostile/small.webp"),
		"cmyk.jpeg": await fixtureBytes("hostile/cmyk.jpg"),
		// libjpeg-turbo here has no 12-bit encoder: an 8-bit file whose frame header says 12.
		"twelve-bit.jpeg": patchSof(upright, (b, i) => {
			b[i + 4] = 12;
		}),
		"bad-huffman.jpeg": (() => {
			const b = upright.slice();
			const dht = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xc4);
			b.fill(0xff, dht + 5, dht + 21); // 16 code-length counts of 255: bogus table
			return b;
		})(),
		"bomb.jpeg": patchSof(upright, (b, i) => {
			new DataView(b.buffer).setUint16(i + 5, 60000);
			new DataView(b.buffer).setUint16(i + 7, 60000);
		}),
		"huge-width.png": pngHuge,
		"strip.png": pngStrip,
		"cut-50.png": png.slice(0, png.length >> 1),
		"bad-filter.png": await withFilterType(png, 9),
		"bomb-unseen.jpeg": new Uint8Array(0), // replaced below by a copy of bomb.jpeg
		"gray.jpeg": await fixtureBytes("hostile/gray.jpg"),
		"one-pixel.jpeg": onePixel,
		"many-scans.jpeg": await fixtureBytes("hostile/progressive-many-scans.jpg"),
		"upright.jpeg": upright,
	};
	files["bomb-unseen.jpeg"] = files["bomb.jpeg"] ?? new Uint8Array(0);
	for (let k = 1; k <= 8; k++) {
		files[`orientation-${k}.jpeg`] = await fixtureBytes(`hostile/orientation-${k}.jpg`);
	}
	await Promise.all(
		Object.entries(files).map(([name, b]) => env.ORIGINALS.put(`${DIR}${name}`, b)),
	);
});

async function expectGoodImage(file: string, w: number, h: number): Promise<RGBAImage> {
	const res = await call(url(file), testEnv);
	expect(res.status).toBe(200);
	expect(res.headers.get("Content-Type")).toBe("image/jpeg");
	const out = await decode(await res.arrayBuffer());
	expect([out.width, out.height]).toEqual([w, h]);
	return out;
}

async function expectNotCached(file: string): Promise<void> {
	const cached = await caches.default.match(
		cacheKeyRequest(
			cacheKeyUrl("http://images.test", "/files", `${DIR}${file}`, {
				settings: ownSettings(loadConfig(testEnv)),
			}),
		),
	);
	expect(cached?.status).not.toBe(200);
}

describe("broken and lying originals", () => {
	it.each([
		["empty.jpeg", 422, /empty/],
		["cut-10.jpeg", 422, /truncated/],
		["cut-50.jpeg", 422, /truncated/],
		["cut-99.jpeg", 422, /truncated/],
		["noise.jpeg", 415, /format/],
		["png-inside.jpeg", 422, /holds PNG data, not JPEG/],
		["webp-inside.jpeg", 422, /holds WEBP data, not JPEG/],
		["cmyk.jpeg", 415, /CMYK/],
		["twelve-bit.jpeg", 415, /12-bit/],
		["bomb.jpeg", 422, /60000x60000.*MAX_SOURCE_PIXELS/],
		["huge-width.png", 422, /Corrupt PNG header/],
		["strip.png", 422, /100000x400 pixels \(limit 65535 px a side\)/],
	])("%s → %i, twice, never decoded, nothing cached", async (file, status, message) => {
		const derivative = file.replace(/\.(jpeg|png)$/, "-150x150.$1");
		const decodes = codecStats.decodes;
		for (const attempt of [1, 2]) {
			const res = await call(url(derivative), testEnv);
			expect(res.status, `attempt ${attempt}`).toBe(status);
			expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
			expect(res.headers.get("Cache-Control")).toBe("no-store");
			expect(res.headers.get("X-Cache")).toBeNull();
			expect(await publicText(res)).toMatch(message);
		}
		// Refused from the header (or the EOI check): the codec never ran.
		expect(codecStats.decodes).toBe(decodes);
		await expectNotCached(derivative);
	});

	it.each([
		["cut-50.png", /PNG/],
		["bad-filter.png", /Could not decode PNG/],
	])("%s (decoded by ours): 422, twice, nothing cached", async (file, message) => {
		const derivative = file.replace(/\.png$/, "-150x150.png");
		for (const attempt of [1, 2]) {
			const res = await call(url(derivative), testEnv);
			expect(res.status, `attempt ${attempt}`).toBe(422);
			expect(res.headers.get("Cache-Control")).toBe("no-store");
			expect(await publicText(res)).toMatch(message);
		}
		await expectNotCached(derivative);
	});

	it("a 60000x60000 header is refused from a small ranged read, never downloaded", async () => {
		recorder.reads.length = 0;
		const res = await call(url("bomb-unseen-150x150.jpeg"), testEnv);
		expect(res.status).toBe(422);
		const bomb = recorder.reads.filter((r) => r.key === `${DIR}bomb-unseen.jpeg`);
		expect(bomb.length).toBeGreaterThan(0);
		expect(bomb.every((r) => r.how !== "full")).toBe(true);
	});

	it("a corrupt Huffman table fails inside libjpeg: 422, and the decoder is re-made", async () => {
		const before = { ...codecStats };
		for (const attempt of [1, 2]) {
			const res = await call(url("bad-huffman-150x150.jpeg"), testEnv);
			expect(res.status, `attempt ${attempt}`).toBe(422);
			expect(await publicText(res)).toBe("Could not decode JPEG\n");
		}
		expect(codecStats.decodes - before.decodes).toBe(2);
		expect(codecStats.traps - before.traps).toBe(2);
		await expectNotCached("bad-huffman-150x150.jpeg");
		// The next good request gets a fresh decoder instance and real pixels.
		const out = await expectGoodImage("upright-150x150.jpeg", 150, 150);
		expect(codecStats.instantiations).toBeGreaterThan(before.instantiations);
		const src = await decode(upright);
		const ideal = await reference(src, { x: 80, y: 0, w: 320, h: 320 }, 150, 150);
		expect(psnr(out, ideal)).toBeGreaterThan(30);
	});
});

describe("odd but valid originals", () => {
	it("greyscale JPEG → a correct greyscale derivative", async () => {
		const out = await expectGoodImage("gray-150x150.jpeg", 150, 150);
		const src = await decode(await fixtureBytes("hostile/gray.jpg"));
		const ideal = await reference(src, { x: 80, y: 0, w: 320, h: 320 }, 150, 150);
		expect(psnr(out, ideal)).toBeGreaterThan(30);
		for (let i = 0; i < out.data.length; i += 4) {
			expect(Math.abs((out.data[i] ?? 0) - (out.data[i + 1] ?? 0))).toBeLessThanOrEqual(2);
		}
	});

	it("a 1x1 upload has no sizes: 404 without a decode; the original itself is served", async () => {
		const decodes = codecStats.decodes;
		for (const size of ["150x150", "1x1", "300x100"]) {
			expect((await call(url(`one-pixel-${size}.jpeg`), testEnv)).status).toBe(404);
		}
		expect(codecStats.decodes).toBe(decodes);
		const original = await call(url("one-pixel.jpeg"), testEnv);
		expect(original.status).toBe(200);
		const img = await decode(await original.arrayBuffer());
		expect([img.width, img.height]).toEqual([1, 1]);
	});

	it("a progressive JPEG with 72 scans decodes to the same picture as the baseline one", async () => {
		const scans = await expectGoodImage("many-scans-300x100.jpeg", 300, 100);
		const base = await expectGoodImage("upright-300x100.jpeg", 300, 100);
		// Same coefficients, losslessly rearranged into scans: identical output.
		expect(psnr(scans, base)).toBe(Number.POSITIVE_INFINITY);
	});

	// Every EXIF orientation on an upload with no -rotated copy: the worker
	// must turn the stored pixels upright itself.
	describe.each([1, 2, 3, 4, 5, 6, 7, 8])("EXIF orientation %i", (k) => {
		it.each([
			[150, 150],
			[300, 100],
			[200, 133],
		])("%ix%i is upright", async (w, h) => {
			const out = await expectGoodImage(`orientation-${k}-${w}x${h}.jpeg`, w, h);
			const upright1 = await expectGoodImage(`orientation-1-${w}x${h}.jpeg`, w, h);
			const good = psnr(out, upright1);
			expect(good).toBeGreaterThan(32);
			// Any other orientation of the same pixels would be far off.
			for (const wrong of [2, 3, 4] as const) {
				expect(psnr(applyOrientation(upright1, wrong), out)).toBeLessThan(good - 10);
			}
		});
	});
});

describe("after all of that", () => {
	it("the isolate still serves good requests (MISS, then HIT)", async () => {
		const miss = await call(url("upright-200x133.jpeg"), testEnv);
		expect(miss.status).toBe(200);
		expect(miss.headers.get("X-Cache")).toBe("MISS");
		const bytes = new Uint8Array(await miss.arrayBuffer());
		const hit = await call(url("upright-200x133.jpeg"), testEnv);
		expect(hit.headers.get("X-Cache")).toBe("HIT");
		expect(new Uint8Array(await hit.arrayBuffer())).toEqual(bytes);
	});
});
