/**
 * Animated GIF sizes (ANIMATED_GIF, off by default; WordPress keeps the first
 * frame only). Every composited frame is cut with the same crop window,
 * resized and written as it comes, so at most one source frame and one
 * resized frame are held at once. Refused before any pixel is decoded when
 * frames × width × height (counted from the GIF's blocks) is over
 * MAX_ANIMATION_PIXELS; the render budget is checked between frames.
 */
import type { Config } from "../config";
import { LimitExceededError } from "../http/errors";
import { hasTransparency, type OutputFormat } from "../image/formats";
import { AnimatedGifWriter, assertGifFrameBudget, gifFrames, summarizeGif } from "../image/gif";
import type { Rect } from "../image/orientation";
import { type ImageInfo, MIME } from "../image/probe";
import { resizeRGBA } from "../image/resize";
import { assertCropInside, type Rendered, type ResizeSettings, type Timings } from "./pipeline";

/**
 * Whether a size of this source is made by renderAnimated rather than the
 * still pipeline: every GIF when ANIMATED_GIF is on. The probe's `animated`
 * only sees a looping extension, and a GIF that plays once has none; the
 * frames are counted from the whole file, and a one-frame GIF comes out a still.
 */
export function animates(
	info: ImageInfo,
	output: OutputFormat,
	config: Pick<Config, "animatedGif">,
): boolean {
	return config.animatedGif && info.format === "gif" && output === "gif";
}

export interface AnimatedJob {
	/** The GIF's bytes (the whole file: frames are only known by walking it). */
	readonly bytes: () => Promise<Uint8Array>;
	/** Crop window in the GIF's canvas pixels (GIFs have no orientation). */
	readonly crop: Rect;
	readonly width: number;
	readonly height: number;
	readonly resize: ResizeSettings;
	/** MAX_ANIMATION_PIXELS. */
	readonly maxPixels: number;
	/** Epoch ms after which the render gives up. */
	readonly deadline: number;
}

function checkDeadline(deadline: number, what: string): void {
	if (Date.now() > deadline) {
		throw new LimitExceededError("RENDER_BUDGET_MS", `Render took too long (${what})`);
	}
}

/** Resize every frame of an animated GIF into an animated GIF of width × height. */
export async function renderAnimated(job: AnimatedJob): Promise<Rendered> {
	const timings: Timings = { decode: 0, resize: 0, encode: 0 };
	const bytes = await job.bytes();
	const summary = summarizeGif(bytes);
	assertGifFrameBudget(summary, job.maxPixels);
	const { crop } = job;
	assertCropInside(crop, crop, summary);
	const writer = new AnimatedGifWriter(job.width, job.height, summary.loopCount);
	const frames = gifFrames(bytes);
	for (let n = 0; ; n++) {
		checkDeadline(job.deadline, `frame ${n}`);
		let started = performance.now();
		const next = frames.next();
		timings.decode += performance.now() - started;
		if (next.done) break;
		const { image, delayMs } = next.value;
		started = performance.now();
		// Premultiply only frames with transparent pixels, as for stills.
		const options = {
			...job.resize,
			premultiply: job.resize.premultiply && hasTransparency(image),
		};
		const resized = await resizeRGBA(image, crop, job.width, job.height, options);
		timings.resize += performance.now() - started;
		started = performance.now();
		writer.addFrame(resized, delayMs);
		timings.encode += performance.now() - started;
	}
	const started = performance.now();
	const out = writer.finish();
	timings.encode += performance.now() - started;
	return { bytes: out, contentType: MIME.gif, width: job.width, height: job.height, timings };
}
