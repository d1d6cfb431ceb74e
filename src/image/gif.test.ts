/**
 * GIF at codec level: real files made by ImageMagick (fixtures/README.md) in,
 * pixels out. The animated fixture's later frames are sub-rectangles over a
 * transparent canvas, so compositing is checked against ImageMagick's own
 * `-coalesce` frames; encoding is checked by decoding what we wrote.
 */
import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { psnr } from "../../test/images";
import { LimitExceededError, UnprocessableError } from "../http/errors";
import {
	AnimatedGifWriter,
	assertGifFrameBudget,
	decodeGif,
	encodeGif,
	gifFrames,
	summarizeGif,
} from "./gif";
import { decodeJpeg } from "./jpeg";
import type { RGBAImage } from "./orientation";
import { decodePng } from "./png";
import { probeImage } from "./probe";
import { resizeRGBA } from "./resize";

const DIR = "originals/2025/10/";
const alphaAt = (img: RGBAImage, x: number, y: number) => img.data[(y * img.width + x) * 4 + 3];

/** Pixels that differ: alpha always, colour only where visible (hidden colours are free). */
function differing(a: RGBAImage, b: RGBAImage): number {
	expect([a.width, a.height]).toEqual([b.width, b.height]);
	let n = 0;
	for (let i = 0; i < a.data.length; i += 4) {
		const visible = (a.data[i + 3] ?? 0) > 0;
		const channels = visible ? [0, 1, 2, 3] : [3];
		if (channels.some((c) => a.data[i + c] !== b.data[i + c])) n++;
	}
	return n;
}

function collect(bytes: Uint8Array) {
	return [...gifFrames(bytes)];
}

describe("decodeGif: the first frame, as GD reads it", () => {
	it("a static GIF with a transparent index: surround alpha 0, middle opaque", async () => {
		const img = decodeGif(await fixtureBytes(`${DIR}garden-cutout.gif`));
		expect([img.width, img.height]).toEqual([640, 480]);
		expect(alphaAt(img, 0, 0)).toBe(0);
		expect(alphaAt(img, 639, 479)).toBe(0);
		expect(alphaAt(img, 320, 240)).toBe(255);
		const alphas = new Set(img.data.filter((_, i) => (i & 3) === 3));
		expect([...alphas].sort()).toEqual([0, 255]);
	});

	it("an animation's first frame, which covers only part of the canvas", async () => {
		const bytes = await fixtureBytes(`${DIR}bouncing-disc.gif`);
		const img = decodeGif(bytes);
		const ref = await decodePng(await fixtureBytes("formats/bouncing-disc-frame0.png"));
		expect(differing(img, ref)).toBe(0);
		expect(alphaAt(img, 80, 150)).toBe(255); // the red disc
		expect(alphaAt(img, 300, 20)).toBe(0);
	});
});

describe("gifFrames: composited frames with their delays", () => {
	it("match ImageMagick's coalesced frames exactly", async () => {
		const frames = collect(await fixtureBytes(`${DIR}bouncing-disc.gif`));
		expect(frames.map((f) => f.delayMs)).toEqual([200, 300, 300, 500]);
		for (const [i, frame] of frames.entries()) {
			const ref = await decodePng(await fixtureBytes(`formats/bouncing-disc-frame${i}.png`));
			expect(differing(frame.image, ref), `frame ${i}`).toBe(0);
		}
	});

	it("disposal 2 (to background) and 3 (to previous) match ImageMagick's coalesced frames", async () => {
		const frames = collect(await fixtureBytes(`${DIR}disposal-mix.gif`));
		expect(frames).toHaveLength(4);
		for (const [i, frame] of frames.entries()) {
			const ref = await decodePng(await fixtureBytes(`formats/disposal-mix-frame${i}.png`));
			expect(differing(frame.image, ref), `frame ${i}`).toBe(0);
		}
		// After frame 1 (disposal 2) its rectangle is transparent; frame 2's is restored to blue.
		const last = frames[3]?.image as RGBAImage;
		expect(alphaAt(last, 100, 70)).toBe(0);
		expect(Array.from(last.data.subarray((100 * 200 + 40) * 4, (100 * 200 + 40) * 4 + 4))).toEqual([
			0, 0, 255, 255,
		]);
	});

	it("an interlaced GIF (4 passes) decodes row for row as ImageMagick does", async () => {
		const img = decodeGif(await fixtureBytes(`${DIR}garden-interlaced.gif`));
		const ref = await decodePng(await fixtureBytes("formats/garden-interlaced.png"));
		expect(differing(img, ref)).toBe(0);
	});

	it("yields copies, so a caller may keep every frame", async () => {
		const frames = collect(await fixtureBytes(`${DIR}bouncing-disc.gif`));
		expect(new Set(frames.map((f) => f.image.data.buffer)).size).toBe(4);
		expect(differing(frames[0]?.image as RGBAImage, frames[3]?.image as RGBAImage)).toBeGreaterThan(
			0,
		);
	});

	it("summarizeGif counts frames without decoding", async () => {
		const bytes = await fixtureBytes(`${DIR}bouncing-disc.gif`);
		expect(summarizeGif(bytes)).toEqual({ width: 400, height: 300, frames: 4, loopCount: 0 });
		expect(summarizeGif(await fixtureBytes(`${DIR}garden-cutout.gif`))).toMatchObject({
			frames: 1,
			loopCount: null,
		});
	});
});

describe("limits: frames × width × height, checked before decoding", () => {
	it("refuses an animation over the budget with 422 naming the limit", async () => {
		const bytes = await fixtureBytes(`${DIR}bouncing-disc.gif`);
		const frames = gifFrames(bytes, { budget: { maxPixels: 4 * 400 * 300 - 1 } });
		const err = (() => {
			try {
				frames.next();
			} catch (e) {
				return e;
			}
		})();
		expect(err).toBeInstanceOf(LimitExceededError);
		expect((err as LimitExceededError).publicMessage).toMatch(/MAX_ANIMATION_PIXELS/);
		expect([...gifFrames(bytes, { budget: { maxPixels: 4 * 400 * 300 } })]).toHaveLength(4);
		// The first frame alone needs one canvas.
		const still = { maxPixels: 400 * 300 - 1, limit: "MAX_SOURCE_PIXELS" };
		expect(() => decodeGif(bytes, still)).toThrow(/limit MAX_SOURCE_PIXELS/);
		expect(decodeGif(bytes, { maxPixels: 400 * 300 }).width).toBe(400);
	});

	it("a header claiming 65535x65535 is refused from its first 20 bytes, before any pixel data", () => {
		// Logical screen 65535x65535, a 2-colour palette, the start of an image descriptor: nothing more.
		const header = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0xff, 0xff, 0xff, 0xff]);
		const r = probeImage(header);
		expect(r.ok).toBe(false);
		const head = new Uint8Array([...header, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x2c]);
		const probed = probeImage(head);
		if (!probed.ok) throw new Error("expected dimensions");
		expect([probed.info.width, probed.info.height]).toEqual([65535, 65535]);
		const summary = { ...probed.info, frames: 1, loopCount: null };
		expect(() => assertGifFrameBudget(summary, 8_000_000, "MAX_SOURCE_PIXELS")).toThrow(
			/limit MAX_SOURCE_PIXELS/,
		);
	});

	it("corrupt and truncated files are 422", async () => {
		const bytes = await fixtureBytes(`${DIR}bouncing-disc.gif`);
		expect(() => decodeGif(bytes.subarray(0, 900))).toThrow(UnprocessableError);
		const outside = bytes.slice();
		// First image descriptor's left edge (400 wide frame) pushed to x = 10: off the canvas.
		const at = outside.indexOf(0x2c, 13 + 3 * 256);
		outside[at + 1] = 10;
		expect(() => decodeGif(outside)).toThrow(UnprocessableError);
		expect(() => decodeGif(outside)).toThrow(/outside 400x300/);
	});
});

describe("encodeGif: GD's output, exact size, transparency kept", () => {
	it("round-trips a palette image exactly, transparent index included", async () => {
		const src = decodeGif(await fixtureBytes(`${DIR}garden-cutout.gif`));
		const out = encodeGif(src);
		expect(String.fromCharCode(...out.subarray(0, 6))).toBe("GIF89a");
		expect(summarizeGif(out)).toEqual({ width: 640, height: 480, frames: 1, loopCount: null });
		expect(differing(decodeGif(out), src)).toBe(0);
	});

	it("a resized cut-out: alpha under 128 becomes transparent, the rest opaque and close", async () => {
		const src = decodeGif(await fixtureBytes(`${DIR}garden-cutout.gif`));
		const win = { x: 0, y: 0, w: 640, h: 480 };
		const small = await resizeRGBA(src, win, 300, 225, { filter: "lanczos3", premultiply: true });
		const back = decodeGif(encodeGif(small));
		expect([back.width, back.height]).toEqual([300, 225]);
		let opaque = 0;
		for (let i = 3; i < small.data.length; i += 4) {
			const want = (small.data[i] ?? 0) < 128 ? 0 : 255;
			expect(back.data[i]).toBe(want);
			if (want) opaque++;
		}
		expect(opaque).toBeGreaterThan(300 * 225 * 0.5);
		// Colour: a 255-colour palette of a photo, compared where both are opaque.
		const masked = (img: RGBAImage) => ({
			...img,
			data: img.data.map((v, i) => ((back.data[i - (i & 3) + 3] ?? 0) ? v : 0)),
		});
		expect(psnr(masked(back), masked(small))).toBeGreaterThan(28);
	});

	it("an opaque photo with thousands of colours: 256-colour palette, PSNR > 28 dB", async () => {
		const photo = await decodeJpeg(await fixtureBytes("originals/2025/09/autumn-tiny.jpg"));
		const back = decodeGif(encodeGif(photo));
		expect(back.data.every((v, i) => (i & 3) !== 3 || v === 255)).toBe(true);
		expect(psnr(back, photo)).toBeGreaterThan(28);
	});
});

describe("AnimatedGifWriter: resized frames back into an animation", () => {
	it("keeps frame count, delays, loop and each frame's pixels", async () => {
		const bytes = await fixtureBytes(`${DIR}bouncing-disc.gif`);
		const { width, height, loopCount } = summarizeGif(bytes);
		const writer = new AnimatedGifWriter(200, 150, loopCount);
		const resized: RGBAImage[] = [];
		for (const { image, delayMs } of gifFrames(bytes)) {
			const win = { x: 0, y: 0, w: width, h: height };
			const small = await resizeRGBA(image, win, 200, 150, {
				filter: "lanczos3",
				premultiply: true,
			});
			resized.push(small);
			writer.addFrame(small, delayMs);
		}
		const out = writer.finish();
		expect(summarizeGif(out)).toEqual({ width: 200, height: 150, frames: 4, loopCount: 0 });
		const back = collect(out);
		expect(back.map((f) => f.delayMs)).toEqual([200, 300, 300, 500]);
		for (const [i, frame] of back.entries()) {
			const want = resized[i] as RGBAImage;
			// Disposal to background: no trail of the previous disc shows through.
			for (let p = 3; p < want.data.length; p += 4) {
				expect(frame.image.data[p]).toBe((want.data[p] ?? 0) < 128 ? 0 : 255);
			}
		}
	});

	it("refuses a frame of the wrong size", () => {
		const writer = new AnimatedGifWriter(2, 2);
		const image = { data: new Uint8ClampedArray(3 * 2 * 4), width: 3, height: 2 };
		expect(() => writer.addFrame(image, 100)).toThrow(RangeError);
	});
});
