/**
 * GIF sizes as WordPress names them: decode the first frame (transparent
 * pixels as alpha 0), as GD does, and write a GIF of exactly the size asked
 * with one transparent palette index for every pixel whose alpha is under 128
 * (WordPress 6.1's GD sizes lose transparency altogether; see fixtures/README.md).
 * Animation is opt-in: `gifFrames` composites each frame onto the canvas
 * (disposal methods 1–3, as browsers show it), one at a time, so a caller can
 * resize and hand it to `AnimatedGifWriter` without holding them all.
 *
 * Parsing is omggif (one file, no dependencies, the reader jimp uses): its
 * constructor only walks the blocks, so frame count and sizes are known before
 * any LZW decoding. Writing is gifenc (LZW writer and PNN quantiser).
 */
import { applyPalette, GIFEncoder, type Palette, quantize } from "gifenc";
import { GifReader } from "omggif";
import { LimitExceededError, UnprocessableError } from "../http/errors";
import type { RGBAImage } from "./orientation";
import { codecStats, describe } from "./wasm-lazy";

/** One composited frame: the whole canvas as it is shown, and for how long. */
export interface GifFrame {
	readonly image: RGBAImage;
	/** Display time in milliseconds (the file stores hundredths). */
	readonly delayMs: number;
}

export interface GifSummary {
	readonly width: number;
	readonly height: number;
	readonly frames: number;
	/** NETSCAPE2.0 loop count: 0 loops forever; null means the file has none (play once). */
	readonly loopCount: number | null;
}

function corrupt(detail: string, cause?: unknown): never {
	throw new UnprocessableError("Could not decode GIF", { cause, detail: `gif: ${detail}` });
}

/**
 * Parse the block structure (no pixels). Frames that reach outside the canvas
 * or have no colour table are refused, as libgd refuses them.
 */
function openGif(bytes: Uint8Array): GifReader {
	let gif: GifReader;
	try {
		gif = new GifReader(bytes);
	} catch (err) {
		corrupt(describe("parse gif", err), err);
	}
	if (gif.width === 0 || gif.height === 0) corrupt(`screen ${gif.width}x${gif.height}`);
	if (gif.numFrames() === 0) corrupt("no image in file");
	for (let i = 0; i < gif.numFrames(); i++) {
		const f = gif.frameInfo(i);
		if (f.x + f.width > gif.width || f.y + f.height > gif.height) {
			corrupt(`frame ${i} ${f.width}x${f.height}+${f.x}+${f.y} outside ${gif.width}x${gif.height}`);
		}
		const paletteEnd = (f.palette_offset ?? 0) + (f.palette_size ?? 0) * 3;
		if (f.palette_offset === null || paletteEnd > bytes.length)
			corrupt(`frame ${i} has no palette`);
	}
	return gif;
}

/** Canvas size, frame count and loop count, without decoding a pixel. */
export function summarizeGif(bytes: Uint8Array): GifSummary {
	const gif = openGif(bytes);
	const loopCount = gif.loopCount();
	return { width: gif.width, height: gif.height, frames: gif.numFrames(), loopCount };
}

/**
 * Decoding every frame costs frames × width × height pixels of work: refuse,
 * before any decoding, an animation over `maxPixels` (422 naming `limit`).
 */
export function assertGifFrameBudget(
	summary: GifSummary,
	maxPixels: number,
	limit = "MAX_ANIMATION_PIXELS",
): void {
	const { frames, width, height } = summary;
	if (frames * width * height > maxPixels) {
		throw new LimitExceededError(limit, `GIF is ${frames} frames of ${width}x${height} pixels`);
	}
}

export interface GifFrameOptions {
	/** Stop after this many frames (1: the first frame only). */
	readonly maxFrames?: number;
	/** Checked with assertGifFrameBudget before the first frame is decoded. */
	readonly budget?: { readonly maxPixels: number; readonly limit?: string };
}

/**
 * The frames as shown: each drawn over what disposal left of the previous one,
 * starting from a fully transparent canvas (browsers ignore the background colour).
 * Each yielded image is the caller's own copy.
 */
export function* gifFrames(bytes: Uint8Array, options: GifFrameOptions = {}): Generator<GifFrame> {
	const gif = openGif(bytes);
	const { width, height } = gif;
	const count = Math.min(gif.numFrames(), options.maxFrames ?? Number.POSITIVE_INFINITY);
	if (options.budget) {
		const { maxPixels, limit } = options.budget;
		assertGifFrameBudget({ width, height, frames: count, loopCount: null }, maxPixels, limit);
	}
	const canvas = new Uint8ClampedArray(width * height * 4);
	for (let i = 0; i < count; i++) {
		const frame = gif.frameInfo(i);
		// Disposal 3 ("restore to previous") needs the canvas as it was before this frame.
		const before = frame.disposal === 3 ? canvas.slice() : null;
		codecStats.decodes++;
		try {
			gif.decodeAndBlitFrameRGBA(i, canvas);
		} catch (err) {
			corrupt(`frame ${i}: ${describe("decode gif", err)}`, err);
		}
		yield { image: { data: canvas.slice(), width, height }, delayMs: frame.delay * 10 };
		if (frame.disposal === 2) clearRect(canvas, width, frame);
		else if (before) canvas.set(before);
	}
}

/** Disposal 2, "restore to background": the frame's rectangle becomes transparent. */
function clearRect(
	canvas: Uint8ClampedArray,
	width: number,
	f: { x: number; y: number; width: number; height: number },
): void {
	for (let y = f.y; y < f.y + f.height; y++) {
		canvas.fill(0, (y * width + f.x) * 4, (y * width + f.x + f.width) * 4);
	}
}

/**
 * The first frame, as GD (and so WordPress) reads a GIF. With `budget`, a canvas
 * over it is refused before anything is allocated (the probe's screen size is the same).
 */
export function decodeGif(bytes: Uint8Array, budget?: GifFrameOptions["budget"]): RGBAImage {
	for (const frame of gifFrames(bytes, { maxFrames: 1, budget })) return frame.image;
	return corrupt("no image in file");
}

/** GIF alpha is one bit: a pixel with alpha under 128 is written as the transparent index. */
const OPAQUE_FROM = 128;

interface Indexed {
	readonly index: Uint8Array;
	readonly palette: Palette;
	/** -1 when every pixel is opaque. */
	readonly transparentIndex: number;
}

/** Exact palette when the opaque pixels have few enough colours (kept losslessly), else null. */
function exactPalette(rgba: Uint8ClampedArray, max: number): Indexed | null {
	const seen = new Map<number, number>();
	const palette: Palette = [];
	const index = new Uint8Array(rgba.length / 4);
	let transparent = false;
	for (let p = 0; p < index.length; p++) {
		const o = p * 4;
		if ((rgba[o + 3] ?? 0) < OPAQUE_FROM) {
			transparent = true;
			continue;
		}
		const key = ((rgba[o] ?? 0) << 16) | ((rgba[o + 1] ?? 0) << 8) | (rgba[o + 2] ?? 0);
		let i = seen.get(key);
		if (i === undefined) {
			if (palette.length === max) return null;
			i = palette.length;
			seen.set(key, i);
			palette.push([rgba[o] ?? 0, rgba[o + 1] ?? 0, rgba[o + 2] ?? 0]);
		}
		index[p] = i;
	}
	if (!transparent)
		return { index, palette: palette.length ? palette : [[0, 0, 0]], transparentIndex: -1 };
	return withTransparent(rgba, index, palette);
}

/** Append the transparent entry and point every pixel under the cut-off at it. */
function withTransparent(rgba: Uint8ClampedArray, index: Uint8Array, palette: Palette): Indexed {
	const transparentIndex = palette.length;
	for (let p = 0; p < index.length; p++) {
		if ((rgba[p * 4 + 3] ?? 0) < OPAQUE_FROM) index[p] = transparentIndex;
	}
	return { index, palette: [...palette, [0, 0, 0]], transparentIndex };
}

/** Palette and indices for one frame: ≤ 256 entries, one of them transparent if needed. */
function toIndexed(image: RGBAImage): Indexed {
	const rgba = image.data;
	const hasTransparent = rgba.some((v, i) => (i & 3) === 3 && v < OPAQUE_FROM);
	const max = hasTransparent ? 255 : 256;
	const exact = exactPalette(rgba, max);
	if (exact) return exact;
	// Quantise only the visible pixels, so the hidden colour of transparent ones takes no entry.
	const opaque = new Uint8ClampedArray(rgba.length);
	let n = 0;
	for (let o = 0; o < rgba.length; o += 4) {
		if ((rgba[o + 3] ?? 0) < OPAQUE_FROM) continue;
		opaque.set(rgba.subarray(o, o + 3), n);
		opaque[n + 3] = 255;
		n += 4;
	}
	const palette = quantize(opaque.slice(0, n), max, { format: "rgb565" }).map((c) =>
		c.slice(0, 3).map((v) => Math.min(255, Math.max(0, Math.round(v)))),
	);
	const index = applyPalette(new Uint8ClampedArray(rgba), palette, "rgb565");
	if (!hasTransparent) return { index, palette, transparentIndex: -1 };
	return withTransparent(rgba, index, palette);
}

function writeFrame(
	encoder: ReturnType<typeof GIFEncoder>,
	image: RGBAImage,
	extra: { repeat: number; delayMs: number; dispose: number },
): void {
	const { index, palette, transparentIndex } = toIndexed(image);
	encoder.writeFrame(index, image.width, image.height, {
		palette,
		transparent: transparentIndex >= 0,
		transparentIndex: Math.max(transparentIndex, 0),
		delay: extra.delayMs,
		repeat: extra.repeat,
		dispose: extra.dispose,
	});
}

/** A still GIF of exactly the image's size (no loop extension, as GD writes it). */
export function encodeGif(image: RGBAImage): Uint8Array {
	codecStats.encodes++;
	const encoder = GIFEncoder();
	writeFrame(encoder, image, { repeat: -1, delayMs: 0, dispose: -1 });
	encoder.finish();
	return encoder.bytes();
}

/**
 * An animated GIF written frame by frame (each a whole canvas with its own
 * palette). Every frame is disposed to background, so transparent pixels of
 * the next one never show the previous frame through.
 */
export class AnimatedGifWriter {
	readonly #encoder = GIFEncoder();
	#frames = 0;

	constructor(
		readonly width: number,
		readonly height: number,
		/** As in GifSummary: 0 forever, null no loop extension. */
		readonly loopCount: number | null = 0,
	) {}

	addFrame(image: RGBAImage, delayMs: number): void {
		if (image.width !== this.width || image.height !== this.height) {
			throw new RangeError(
				`frame ${image.width}x${image.height} in a ${this.width}x${this.height} GIF`,
			);
		}
		codecStats.encodes++;
		const repeat = this.loopCount ?? -1;
		writeFrame(this.#encoder, image, { repeat, delayMs, dispose: 2 });
		this.#frames++;
	}

	finish(): Uint8Array {
		if (this.#frames === 0) throw new RangeError("an animated GIF needs at least one frame");
		this.#encoder.finish();
		return this.#encoder.bytes();
	}
}
