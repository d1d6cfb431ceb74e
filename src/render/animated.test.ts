/**
 * The animated GIF step on its own: which sources it takes, and that its
 * limits stop it before the work they guard (fixtures/README.md: the 400x300,
 * 4-frame bouncing-disc.gif).
 */
import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { LimitExceededError } from "../http/errors";
import { summarizeGif } from "../image/gif";
import { type ImageInfo, probeImage } from "../image/probe";
import { codecStats } from "../image/wasm-lazy";
import { animates, renderAnimated } from "./animated";
import { RESIZE } from "./settings";

const DISC = "originals/2025/10/bouncing-disc.gif";
const STILL = "originals/2025/10/garden-cutout.gif";
const CUPS = "originals/2025/10/colorful-cups.avif";

async function info(path: string): Promise<ImageInfo> {
	const probed = probeImage(await fixtureBytes(path));
	if (!probed.ok) throw new Error(`probe ${path}`);
	return probed.info;
}

function job(bytes: Uint8Array, overrides: Partial<Parameters<typeof renderAnimated>[0]> = {}) {
	return {
		bytes: async () => bytes,
		crop: { x: 50, y: 0, w: 300, h: 300 },
		width: 150,
		height: 150,
		resize: RESIZE,
		maxPixels: 100_000_000,
		deadline: Date.now() + 60_000,
		...overrides,
	};
}

describe("animates", () => {
	it("every GIF written as GIF with ANIMATED_GIF on (frames are counted later)", async () => {
		const disc = await info(DISC);
		const still = await info(STILL);
		expect(animates(disc, "gif", { animatedGif: true })).toBe(true);
		expect(animates(still, "gif", { animatedGif: true })).toBe(true);
		expect(animates(disc, "gif", { animatedGif: false })).toBe(false);
		expect(animates(disc, "webp", { animatedGif: true })).toBe(false);
		expect(animates(await info(CUPS), "avif", { animatedGif: true })).toBe(false);
	});
});

describe("renderAnimated", () => {
	it("makes every frame at the asked size", async () => {
		const out = await renderAnimated(job(await fixtureBytes(DISC)));
		expect([out.width, out.height, out.contentType]).toEqual([150, 150, "image/gif"]);
		expect(summarizeGif(out.bytes)).toEqual({ width: 150, height: 150, frames: 4, loopCount: 0 });
	});

	it("a one-frame GIF comes out a still (no loop extension)", async () => {
		const still = job(await fixtureBytes(STILL), { crop: { x: 80, y: 0, w: 480, h: 480 } });
		const out = await renderAnimated(still);
		expect(summarizeGif(out.bytes)).toEqual({
			width: 150,
			height: 150,
			frames: 1,
			loopCount: null,
		});
	});

	it("refuses an animation over MAX_ANIMATION_PIXELS before decoding a frame", async () => {
		const bytes = await fixtureBytes(DISC);
		const decodes = codecStats.decodes;
		// 4 × 400 × 300 = 480,000 pixels.
		const run = renderAnimated(job(bytes, { maxPixels: 479_999 }));
		await expect(run).rejects.toThrow(LimitExceededError);
		await expect(run).rejects.toThrow(/MAX_ANIMATION_PIXELS/);
		expect(codecStats.decodes).toBe(decodes);
		await expect(renderAnimated(job(bytes, { maxPixels: 480_000 }))).resolves.toBeDefined();
	});

	it("checks the render budget between frames (422 naming RENDER_BUDGET_MS)", async () => {
		const run = renderAnimated(job(await fixtureBytes(DISC), { deadline: Date.now() - 1 }));
		await expect(run).rejects.toThrow(/RENDER_BUDGET_MS/);
	});
});
