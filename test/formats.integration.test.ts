/**
 * PNG and WebP originals through the real worker in workerd with real R2
 * objects: every size WordPress makes for each kind of original (palette,
 * grayscale, 16-bit, RGBA PNG; lossy, lossless, alpha WebP), in the upload's
 * own format, with transparency kept; animated WebP refused with 415.
 *
 * Golden sizes were worked out by hand from WordPress's rules for the seed
 * site's registered sizes (see README "Formats"), not by calling our size code.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeImage, isLossless } from "../src/image/formats";
import type { RGBAImage } from "../src/image/orientation";
import { detectFormat, type ImageFormat, probeImage } from "../src/image/probe";
import { fixtureBytes } from "./helpers";
import { DIR, seed } from "./images";

interface Fixture {
	readonly file: string;
	readonly format: ImageFormat;
	/** Whether the original has transparent pixels: then a corner of every size is transparent. */
	readonly transparent: boolean;
	readonly sizes: readonly (readonly [number, number])[];
	/** Sizes WordPress does not make for this upload. */
	readonly missing: readonly (readonly [number, number])[];
}

const FIXTURES: readonly Fixture[] = [
	{
		// 1400x923 RGBA, every pixel opaque. No -scaled: WordPress never scales a PNG under 2560.
		file: "goldfish.png",
		format: "png",
		transparent: false,
		sizes: [
			[150, 150],
			[730, 481],
			[510, 320],
			[600, 420],
			[800, 340],
			[1200, 628],
			[1200, 791],
		],
		missing: [
			[730, 487],
			[1200, 800],
			[1400, 923],
		],
	},
	{
		// 600x400, 16-colour palette with a transparent index (tRNS).
		file: "logo-palette.png",
		format: "png",
		transparent: true,
		sizes: [
			[150, 150],
			[510, 320],
			[600, 340],
		],
		missing: [
			[600, 400],
			[730, 487],
			[600, 420],
		],
	},
	{
		// 500x375, 8-bit grayscale.
		file: "chart-gray.png",
		format: "png",
		transparent: false,
		sizes: [
			[150, 150],
			[500, 320],
			[500, 340],
		],
		missing: [[500, 375]],
	},
	{
		// 640x427, 16 bits per channel RGBA with a soft-edged transparent surround.
		file: "glow-16bit.png",
		format: "png",
		transparent: true,
		sizes: [
			[150, 150],
			[510, 320],
			[600, 420],
			[640, 340],
		],
		missing: [[640, 427]],
	},
	{
		// 480x320 RGBA, Adam7-interlaced.
		file: "badge-interlaced.png",
		format: "png",
		transparent: true,
		sizes: [[150, 150]],
		missing: [[480, 320]],
	},
	{
		// 800x500 lossy (VP8), opaque.
		file: "garden-lossy.webp",
		format: "webp",
		transparent: false,
		sizes: [
			[150, 150],
			[730, 456],
			[510, 320],
			[600, 420],
			[800, 340],
		],
		missing: [
			[800, 500],
			[730, 487],
		],
	},
	{
		// 480x320 lossless (VP8L) with alpha.
		file: "badge-lossless.webp",
		format: "webp",
		transparent: true,
		sizes: [[150, 150]],
		missing: [
			[480, 320],
			[480, 340],
		],
	},
	{
		// 640x400 lossy with a lossless alpha plane (VP8X + ALPH).
		file: "cups-alpha.webp",
		format: "webp",
		transparent: true,
		sizes: [
			[150, 150],
			[510, 320],
			[600, 400],
			[640, 340],
		],
		missing: [[640, 400]],
	},
];

const MIME_OF: Record<string, string> = { png: "image/png", webp: "image/webp" };

function url(file: string): string {
	return `http://images.test/files/${DIR}${file}`;
}

function sizedName(file: string, w: number, h: number): string {
	const dot = file.lastIndexOf(".");
	return `${file.slice(0, dot)}-${w}x${h}${file.slice(dot)}`;
}

function pixel(image: RGBAImage, x: number, y: number): [number, number, number, number] {
	const i = (y * image.width + x) * 4;
	const d = image.data;
	return [d[i] ?? -1, d[i + 1] ?? -1, d[i + 2] ?? -1, d[i + 3] ?? -1];
}

beforeAll(async () => {
	await seed(
		...FIXTURES.map((f) => f.file),
		"spinner-animated.gif",
		"spinner-animated.webp",
		"spinner-apng.png",
	);
});

describe.each(FIXTURES)("$file", (fx) => {
	it.each(fx.sizes)("%ix%i: right size and format, alpha kept, then cached", async (w, h) => {
		const file = sizedName(fx.file, w, h);
		const miss = await SELF.fetch(url(file));
		expect(miss.status).toBe(200);
		expect(miss.headers.get("Content-Type")).toBe(MIME_OF[fx.format]);
		expect(miss.headers.get("X-Cache")).toBe("MISS");
		expect(miss.headers.get("Vary")).toBeNull();
		const bytes = new Uint8Array(await miss.arrayBuffer());
		// The bytes are what the Content-Type says (magic bytes), at the size in the name.
		expect(detectFormat(bytes)).toBe(fx.format);
		const header = probeImage(bytes);
		expect(header.ok && [header.info.width, header.info.height]).toEqual([w, h]);
		const out = await decodeImage(fx.format, bytes);
		expect([out.width, out.height]).toEqual([w, h]);

		if (fx.transparent) {
			// Every crop window of these fixtures has a fully transparent corner and
			// an opaque middle.
			expect(pixel(out, 0, 0)[3]).toBeLessThanOrEqual(2);
			expect(pixel(out, Math.floor(w / 2), Math.floor(h / 2))[3]).toBe(255);
		} else {
			expect(pixel(out, 0, 0)[3]).toBe(255);
			expect(pixel(out, w - 1, h - 1)[3]).toBe(255);
		}
		if (fx.format === "webp") {
			// A lossless original's sizes stay lossless; a lossy one's stay lossy.
			const source = fx.file.includes("lossless");
			expect(isLossless("webp", bytes)).toBe(source);
		}

		const hit = await SELF.fetch(url(file));
		expect(hit.headers.get("X-Cache")).toBe("HIT");
		expect(hit.headers.get("Content-Type")).toBe(MIME_OF[fx.format]);
		expect(hit.headers.get("ETag")).toBe(miss.headers.get("ETag"));
		expect(new Uint8Array(await hit.arrayBuffer())).toEqual(bytes);
	});

	it.each(fx.missing)("%ix%i is not a file WordPress makes: 404", async (w, h) => {
		const res = await SELF.fetch(url(sizedName(fx.file, w, h)));
		expect(res.status).toBe(404);
	});
});

describe("transparency", () => {
	it("edges of a shape on a transparent surround keep their colour (no fringe)", async () => {
		// The logo's red disc (230,57,70) sits on transparent pixels whose hidden
		// colour is white. Resizing without premultiplied alpha mixes that hidden
		// colour into the disc's semi-transparent rim (a pale fringe; a dark one
		// when the hidden colour is black, as in most PNGs).
		const res = await SELF.fetch(url("logo-palette-150x150.png"));
		const out = await decodeImage("png", new Uint8Array(await res.arrayBuffer()));
		let rim = 0;
		let error = 0;
		for (let i = 0; i < out.data.length; i += 4) {
			const a = out.data[i + 3] ?? 0;
			if (a >= 24 && a <= 232) {
				rim++;
				const [r = 0, g = 0, b = 0] = out.data.subarray(i, i + 3);
				error += Math.abs(r - 230) + Math.abs(g - 57) + Math.abs(b - 70);
			}
		}
		expect(rim).toBeGreaterThan(50);
		expect(error / rim).toBeLessThan(30);
	});

	it("an opaque PNG's sizes carry no alpha channel (written as RGB)", async () => {
		const res = await SELF.fetch(url("goldfish-730x481.png"));
		const info = probeImage(new Uint8Array(await res.arrayBuffer()));
		expect(info.ok && info.info.png?.colorType).toBe(2);
	});

	it("a palette PNG's sizes are palette PNGs again (≤ 256 colours)", async () => {
		const res = await SELF.fetch(url("logo-palette-510x320.png"));
		const info = probeImage(new Uint8Array(await res.arrayBuffer()));
		expect(info.ok && info.info.png?.colorType).toBe(3);
	});

	it("a grayscale PNG's sizes stay grayscale", async () => {
		const res = await SELF.fetch(url("chart-gray-500x320.png"));
		const info = probeImage(new Uint8Array(await res.arrayBuffer()));
		expect(info.ok && info.info.png?.colorType).toBe(0);
	});
});

describe("animated PNG", () => {
	it("is sized from its default image (frame 1: red disc; frame 2 would be blue)", async () => {
		const res = await SELF.fetch(url("spinner-apng-150x150.png"));
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toBe("image/png");
		const out = await decodeImage("png", new Uint8Array(await res.arrayBuffer()));
		expect([out.width, out.height]).toEqual([150, 150]);
		const [r, g, b] = pixel(out, 75, 75);
		expect(r).toBeGreaterThan(200);
		expect(Math.max(g, b)).toBeLessThan(60);
	});
});

describe("animated WebP: 415, never cached (GIF: gif-avif.integration.test.ts)", () => {
	it.each([["spinner-animated-150x150.webp", /Animated WebP sizes are not made/]])(
		"%s",
		async (file, message) => {
			for (let i = 0; i < 2; i++) {
				const res = await SELF.fetch(url(file));
				expect(res.status).toBe(415);
				expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
				expect(res.headers.get("Cache-Control")).toBe("no-store");
				expect(await res.text()).toMatch(message);
			}
		},
	);

	it.each(["spinner-animated.gif", "spinner-animated.webp"])(
		"the original %s is still served as stored",
		async (file) => {
			const res = await SELF.fetch(url(file));
			expect(res.status).toBe(200);
			expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
		},
	);
});

describe("broken PNG and WebP data: 422, and the codec recovers", () => {
	/** A copy of a fixture whose header is intact but whose image data is garbage. */
	async function corrupt(file: string, target: string, marker: string): Promise<void> {
		const bytes = await fixtureBytes(`originals/${DIR}${file}`);
		const broken = bytes.slice();
		// Keep everything up to 8 bytes into the chunk that holds the image data.
		const at = bytes.findIndex((_, i) =>
			[...marker].every((ch, k) => bytes[i + k] === ch.charCodeAt(0)),
		);
		expect(at).toBeGreaterThan(12);
		const keep = at + 8;
		for (let i = keep; i < broken.length; i++) broken[i] = (i * 131) & 0xff;
		await env.ORIGINALS.put(`${DIR}${target}`, broken);
	}

	it.each([
		// PNG: signature, IHDR and the chunks before IDAT intact; IDAT contents garbage.
		[
			"logo-palette.png",
			"broken-logo.png",
			"IDAT",
			"broken-logo-150x150.png",
			"logo-palette-510x320.png",
		],
		// WebP: RIFF, VP8X and ALPH intact (the probe walks to the image chunk); VP8 data garbage.
		[
			"cups-alpha.webp",
			"broken-cups.webp",
			"VP8 ",
			"broken-cups-150x150.webp",
			"cups-alpha-510x320.webp",
		],
	])("%s with garbage data", async (file, target, marker, size, good) => {
		await corrupt(file, target, marker);
		const res = await SELF.fetch(url(size));
		expect(res.status).toBe(422);
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(await res.text()).toMatch(/^Could not decode (PNG|WebP)/);
		// The next request for a healthy image of that format still renders
		// (another host, so it cannot be a cache hit).
		const ok = await SELF.fetch(url(good).replace("images.test", "recover.test"));
		expect(ok.status).toBe(200);
		expect(ok.headers.get("X-Cache")).toBe("MISS");
		expect(detectFormat(new Uint8Array(await ok.arrayBuffer()))).toBe(
			file.endsWith(".png") ? "png" : "webp",
		);
	});
});
