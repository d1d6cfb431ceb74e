/**
 * The render pipeline: a list of small named steps over one context, with the
 * time budget checked between them. Input is the decoded source (possibly
 * shared with other renders of the same upload, see sources.ts) and a plan
 * (crop window in the source's stored pixels, output size, EXIF orientation
 * still to apply); output is the encoded derivative.
 */
import { LimitExceededError, SourceChangedError } from "../http/errors";
import { smoothFaintColours } from "../image/alpha";
import {
	decodeImage,
	type EncodeSettings,
	encodeImage,
	hasTransparency,
	isLossless,
	type OutputFormat,
} from "../image/formats";
import { applyOrientation, type Rect, type RGBAImage } from "../image/orientation";
import { type ImageFormat, MIME, type Orientation } from "../image/probe";
import { paletteColours, quantize } from "../image/quantize";
import { type ResizeOptions, resizeRGBA } from "../image/resize";
import { FULL_SCALE } from "./scale";

/** Resize settings: the kernel's options, and when a JPEG may be decoded smaller. */
export interface ResizeSettings extends ResizeOptions {
	/**
	 * JPEG shrink-on-load: decode at the smallest M/8 scale that leaves the
	 * filter at least this factor to reduce (0 = always decode at full size).
	 */
	readonly decodeGap: number;
}

/** A decoded original and what the pipeline needs to know about it. */
export interface DecodedSource {
	readonly image: RGBAImage;
	/**
	 * The decode's scale in eighths of the stored size (8 = full size): stored
	 * pixel x maps to x·scale/8 in `image` (see decodeJpeg).
	 */
	readonly scale: number;
	/** Some pixel is not fully opaque (never true for JPEG). */
	readonly transparent: boolean;
	/** The original is stored losslessly (its same-format sizes stay lossless). */
	readonly lossless: boolean;
}

/** Decode an original's bytes once, for every size made from it, at `scale` eighths. */
export async function decodeSource(
	format: ImageFormat,
	bytes: Uint8Array,
	scale = FULL_SCALE,
): Promise<DecodedSource> {
	const image = await decodeImage(format, bytes, scale);
	return {
		image,
		scale: format === "jpeg" ? scale : FULL_SCALE,
		transparent: format !== "jpeg" && hasTransparency(image),
		lossless: isLossless(format, bytes),
	};
}

export interface RenderJob {
	/** The decoded source (may be shared with other renders: never mutated). */
	readonly source?: () => Promise<DecodedSource>;
	/**
	 * Instead of `source`: the crop already resized to width × height, made
	 * without a whole decode (a JPEG or PNG streamed into the kernel, see
	 * render/stream.ts). Orientation and encoding still follow.
	 */
	readonly resized?: () => Promise<RGBAImage>;
	/** With `resized`: the source may have transparent pixels (a PNG with alpha or tRNS). */
	readonly transparent?: boolean;
	readonly format: ImageFormat;
	/** Crop window in the stored (un-rotated) pixels of the source. */
	readonly crop: Rect;
	/** Size to resize the crop to, before orientation is applied. */
	readonly width: number;
	readonly height: number;
	readonly orientation: Orientation;
	/** Format to write: the sizes' own (the source's, or OUTPUT_FORMATS'), or one negotiated from `Accept`. */
	readonly output: OutputFormat;
	/** `output` was negotiated from `Accept` (its own quality setting), not the file's format. */
	readonly negotiated: boolean;
	readonly encode: EncodeSettings;
	/**
	 * The source is a palette PNG: its PNG sizes are reduced to at most 256
	 * colours again (else resizing's blended colours make them RGBA, ~2x larger).
	 */
	readonly palette: boolean;
	/** `premultiply` is applied only when the decoded pixels have transparency. */
	readonly resize: ResizeSettings;
	/** Epoch ms after which the render gives up. */
	readonly deadline: number;
}

export interface Timings {
	decode: number;
	resize: number;
	encode: number;
}

export interface Rendered {
	readonly bytes: Uint8Array;
	readonly contentType: string;
	readonly width: number;
	readonly height: number;
	readonly timings: Timings;
}

interface Context {
	readonly job: RenderJob;
	image?: RGBAImage;
	/** The crop window in `image`'s pixels, once decoded. */
	window?: Rect;
	/** Some pixel is not fully opaque (never true for JPEG). */
	transparent: boolean;
	lossless: boolean;
	output?: Uint8Array;
	readonly timings: Timings;
}

type Step = { readonly name: keyof Timings | "orient"; run(ctx: Context): Promise<void> | void };

function need<T>(value: T | undefined, what: string): T {
	if (value === undefined) throw new Error(`pipeline: ${what} missing`);
	return value;
}

/**
 * The crop window (stored pixels; `window`, the same in the decoded ones) must
 * lie inside the decoded image: if not, the file changed since its lookup.
 */
export function assertCropInside(
	crop: Rect,
	window: Rect,
	image: { readonly width: number; readonly height: number },
	note = "",
): void {
	const inside =
		crop.x >= 0 &&
		crop.y >= 0 &&
		window.x + window.w <= image.width &&
		window.y + window.h <= image.height;
	if (!inside) {
		throw new SourceChangedError(
			`crop ${JSON.stringify(crop)} outside ${image.width}x${image.height} ${note}`.trim(),
		);
	}
}

const decode: Step = {
	name: "decode",
	async run(ctx) {
		const { job } = ctx;
		if (job.resized) {
			const image = await job.resized();
			ctx.image = image;
			ctx.window = { x: 0, y: 0, w: image.width, h: image.height };
			ctx.transparent = job.transparent ?? false;
			return;
		}
		const source = await need(job.source, "source")();
		const { image } = source;
		// The crop window in the decoded pixels (fractional after a scaled decode).
		const s = source.scale / FULL_SCALE;
		const crop = job.crop;
		const window = { x: crop.x * s, y: crop.y * s, w: crop.w * s, h: crop.h * s };
		assertCropInside(crop, window, image, `at ${source.scale}/8`);
		ctx.image = image;
		ctx.window = window;
		ctx.transparent = source.transparent;
		ctx.lossless = source.lossless;
	},
};

const resize: Step = {
	name: "resize",
	async run(ctx) {
		const { job } = ctx;
		const image = need(ctx.image, "image");
		const window = need(ctx.window, "window");
		// The whole image at its own size is a no-op; anything else goes
		// through the kernel, which also crops (fractional windows included).
		if (window.w === job.width && window.h === job.height && window.x === 0 && window.y === 0) {
			if (image.width === window.w && image.height === window.h) return;
		}
		const options = { ...job.resize, premultiply: job.resize.premultiply && ctx.transparent };
		ctx.image = await resizeRGBA(image, window, job.width, job.height, options);
	},
};

const orient: Step = {
	name: "orient",
	run(ctx) {
		ctx.image = applyOrientation(need(ctx.image, "image"), ctx.job.orientation);
	},
};

const encode: Step = {
	name: "encode",
	async run(ctx) {
		const { job } = ctx;
		let image = need(ctx.image, "image");
		if (job.output === "png") {
			// Both keep what the pixels look like and make the PNG smaller.
			if (ctx.transparent) image = smoothFaintColours(image);
			if (job.palette) image = quantize(image, paletteColours(image.width * image.height));
		}
		ctx.output = await encodeImage(image, {
			format: job.output,
			settings: job.encode,
			lossless: job.output === job.format && ctx.lossless,
			negotiated: job.negotiated,
		});
	},
};

export const STEPS: readonly Step[] = [decode, resize, orient, encode];

export async function render(job: RenderJob): Promise<Rendered> {
	const ctx: Context = {
		job,
		transparent: false,
		lossless: false,
		timings: { decode: 0, resize: 0, encode: 0 },
	};
	for (const step of STEPS) {
		if (Date.now() > job.deadline) {
			throw new LimitExceededError(
				"RENDER_BUDGET_MS",
				`Render took too long (before ${step.name})`,
			);
		}
		const start = performance.now();
		await step.run(ctx);
		if (step.name !== "orient") ctx.timings[step.name] += performance.now() - start;
	}
	const image = need(ctx.image, "image");
	return {
		bytes: need(ctx.output, "output"),
		contentType: MIME[job.output],
		width: image.width,
		height: image.height,
		timings: ctx.timings,
	};
}
