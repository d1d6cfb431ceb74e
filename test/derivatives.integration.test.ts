/**
 * Every size WordPress makes for each fixture, through the real worker in
 * workerd with real R2 objects: exact dimensions, good pixels from the right
 * crop window, cache MISS then HIT, and 404 for every file WordPress would
 * not have written.
 *
 * The golden table was worked out from WordPress's rules by hand (crop
 * windows in the upload's upright pixels), not by calling our size module.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Rect } from "../src/image/orientation";
import { fixtureBytes } from "./helpers";
import {
	DIR,
	decode,
	psnr,
	reference,
	referenceJpeg,
	SEED_UPLOADS,
	scaleRect,
	seed,
} from "./images";

const ADOBE = "AdobeStock_1228396051_Editorial_Use_Only";

interface Fixture {
	/** Upload name without extension, and its extension. */
	readonly name: string;
	readonly ext: string;
	/** The file the pixels are cut from, and the upload's upright size. */
	readonly source: string;
	readonly upload: readonly [number, number];
	/** [width, height, crop window in upload pixels] per size WordPress makes. */
	readonly sizes: readonly (readonly [number, number, Rect])[];
	/** Sizes WordPress does not make for this upload. */
	readonly missing: readonly (readonly [number, number])[];
}

const r = (x: number, y: number, w: number, h: number): Rect => ({ x, y, w, h });

const FIXTURES: readonly Fixture[] = [
	{
		name: ADOBE,
		ext: "jpeg",
		source: `${ADOBE}-scaled.jpeg`,
		upload: [3264, 2176],
		// Exactly the `sizes` of the seed attachment record.
		sizes: [
			[150, 150, r(544, 0, 2176, 2176)],
			[730, 487, r(0, 0, 3264, 2176)],
			[510, 320, r(0, 64, 3264, 2048)],
			[600, 420, r(77, 0, 3109, 2176)],
			[800, 340, r(0, 394, 3264, 1387)],
			[1200, 628, r(0, 234, 3264, 1708)],
			[1200, 800, r(0, 0, 3264, 2176)],
		],
		missing: [
			[731, 487],
			[729, 487],
			[730, 486],
			[1200, 801],
			[100, 100],
			[2560, 1707],
			[4000, 2667],
		],
	},
	{
		name: "harbour-friends",
		ext: "jpeg",
		source: "harbour-friends-scaled.jpeg",
		upload: [2056, 3088],
		sizes: [
			[150, 150, r(0, 516, 2056, 2056)],
			[324, 487, r(0, 0, 2056, 3088)],
			[510, 320, r(0, 899, 2056, 1290)],
			[600, 420, r(0, 824, 2056, 1439)],
			[800, 340, r(0, 1107, 2056, 874)],
			[1200, 628, r(0, 1006, 2056, 1076)],
			[533, 800, r(0, 0, 2056, 3088)],
		],
		missing: [
			[730, 487],
			[325, 487],
			[534, 800],
		],
	},
	{
		name: "colorful-cups",
		ext: "jpg",
		source: "colorful-cups.jpg",
		upload: [2560, 1600],
		sizes: [
			[150, 150, r(480, 0, 1600, 1600)],
			[730, 456, r(0, 0, 2560, 1600)],
			[510, 320, r(5, 0, 2550, 1600)],
			[600, 420, r(137, 0, 2286, 1600)],
			[800, 340, r(0, 256, 2560, 1088)],
			[1200, 628, r(0, 130, 2560, 1340)],
			[1200, 750, r(0, 0, 2560, 1600)],
		],
		missing: [
			[730, 487],
			[1200, 800],
		],
	},
	{
		name: "garden-progressive",
		ext: "jpg",
		source: "garden-progressive.jpg",
		upload: [1200, 750],
		sizes: [
			[150, 150, r(225, 0, 750, 750)],
			[730, 456, r(0, 0, 1200, 750)],
			[510, 320, r(2, 0, 1195, 750)],
			[600, 420, r(64, 0, 1071, 750)],
			[800, 340, r(0, 120, 1200, 510)],
			[1200, 628, r(0, 61, 1200, 628)],
		],
		// The 1200x800 box holds the whole 1200x750 photo: no file.
		missing: [
			[1200, 750],
			[1200, 800],
		],
	},
	{
		// Stored 1600x900 with EXIF orientation 6; WordPress wrote an upright -rotated copy.
		name: "elephants-phone",
		ext: "jpg",
		source: "elephants-phone-rotated.jpg",
		upload: [900, 1600],
		sizes: [
			[150, 150, r(0, 350, 900, 900)],
			[274, 487, r(0, 0, 900, 1600)],
			[510, 320, r(0, 517, 900, 565)],
			[600, 420, r(0, 485, 900, 630)],
			[800, 340, r(0, 608, 900, 383)],
			[900, 628, r(0, 486, 900, 628)],
			[450, 800, r(0, 0, 900, 1600)],
		],
		missing: [
			[730, 410],
			[487, 274],
		],
	},
	{
		name: "autumn-tiny",
		ext: "jpg",
		source: "autumn-tiny.jpg",
		upload: [320, 200],
		sizes: [[150, 150, r(60, 0, 200, 200)]],
		missing: [
			[320, 200],
			[320, 201],
			[510, 320],
			[320, 180],
			[300, 188],
		],
	},
];

function url(file: string): string {
	return `http://images.test/files/${DIR}${file}`;
}

beforeAll(async () => {
	await seed(...SEED_UPLOADS);
});

describe.each(FIXTURES)("$name", (fx) => {
	it.each(fx.sizes)("%ix%i is made from the right crop window, then cached", async (w, h, crop) => {
		const file = `${fx.name}-${w}x${h}.${fx.ext}`;
		const miss = await SELF.fetch(url(file));
		expect(miss.status).toBe(200);
		expect(miss.headers.get("Content-Type")).toBe("image/jpeg");
		expect(miss.headers.get("X-Cache")).toBe("MISS");
		// Rendered now, or by the fan-out of an earlier size into the derivative
		// tier (same pipeline); either way the pixels are checked below.
		expect(miss.headers.get("Server-Timing")).toMatch(
			/decode;dur=.*resize;dur=.*encode;dur=|tier;dur=/,
		);
		const bytes = await miss.arrayBuffer();
		expect(Number(miss.headers.get("Content-Length"))).toBe(bytes.byteLength);
		const out = await decode(bytes);
		expect([out.width, out.height]).toEqual([w, h]);

		// Pixels: close to a high-quality resize of the right window, and
		// clearly further from a window shifted by 4% of the source.
		const src = await decode(await fixtureBytes(`originals/${DIR}${fx.source}`));
		const window = scaleRect(crop, fx.upload[0], fx.upload[1], src.width, src.height);
		const ideal = await reference(src, window, w, h);
		const good = psnr(out, ideal);
		// WordPress's own file is a quality-82 JPEG of an sRGB-space resize. Ours
		// must come within 2.5 dB of a quality-82 JPEG of the ideal (linear-light)
		// resize; a wrong window or a nearest-neighbour resize loses far more.
		const floor = psnr(await decode(await referenceJpeg(ideal, 82)), ideal);
		expect(good).toBeGreaterThan(floor - 2.5);
		const dx = Math.round(src.width * 0.04);
		const dy = Math.round(src.height * 0.04);
		const shifted = {
			...window,
			x: window.x >= dx ? window.x - dx : window.x,
			y: window.y >= dy ? window.y - dy : window.y,
			w: window.x >= dx ? window.w : window.w - dx,
			h: window.y >= dy ? window.h : window.h - dy,
		};
		expect(psnr(out, await reference(src, shifted, w, h))).toBeLessThan(good - 2);

		const hit = await SELF.fetch(url(file));
		expect(hit.status).toBe(200);
		expect(hit.headers.get("X-Cache")).toBe("HIT");
		expect(hit.headers.get("ETag")).toBe(miss.headers.get("ETag"));
		expect(new Uint8Array(await hit.arrayBuffer())).toEqual(new Uint8Array(bytes));
	});

	it.each(fx.missing)("%ix%i is not a file WordPress makes: 404", async (w, h) => {
		const res = await SELF.fetch(url(`${fx.name}-${w}x${h}.${fx.ext}`));
		expect(res.status).toBe(404);
		expect(res.headers.get("Content-Type")).toMatch(/^text\/plain/);
		expect(await res.text()).not.toMatch(/at .*\.ts/);
	});
});
