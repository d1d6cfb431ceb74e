/**
 * The render pipeline: a list of small named steps over one context, with the
 * time budget checked between them. Input is the whole original's bytes and a
 * plan (crop window in the original's stored pixels, output size, EXIF
 * orientation still to apply); output is the encoded derivative.
 */
import { LimitExceededError, UnprocessableError } from "../errors";
import { smoothFaintColours } from "../image/alpha";
import { type ResizeOptions, resizeRGBA } from "../image/codecs";
import {
	assertDecodable,
	decodeImage,
	type EncodeSettings,
	encodeImage,
	hasTransparency,
	isLossless,
	type OutputFormat,
} from "../image/formats";
import { applyOrientation, type Rect, type RGBAImage } from "../image/orientation";
import { type ImageFormat, type ImageInfo, MIME, type Orientation } from "../image/probe";
import { quantize } from "../image/quantize";

export interface RenderJob {
	readonly bytes: Uint8Array;
	readonly format: ImageFormat;
	/** Crop window in the stored (un-rotated) pixels of `bytes`. */
	readonly crop: Rect;
	/** Size to resize the crop to, before orientation is applied. */
	readonly width: number;
	readonly height: number;
	readonly orientation: Orientation;
	/** Format to write: the source's own, or one negotiated from `Accept`. */
	readonly output: OutputFormat;
	readonly encode: EncodeSettings;
	/**
	 * The source is a palette PNG: its PNG sizes are reduced to at most 256
	 * colours again (else resizing's blended colours make them RGBA, ~2x larger).
	 */
	readonly palette: boolean;
	/** `premultiply` is applied only when the decoded pixels have transparency. */
	readonly resize: ResizeOptions;
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
	/** Some pixel is not fully opaque (never true for JPEG). */
	transparent: boolean;
	output?: Uint8Array;
	readonly timings: Timings;
}

type Step = { readonly name: keyof Timings | "orient"; run(ctx: Context): Promise<void> | void };

/**
 * Throws 415 unless the pipeline can make sizes from this original (GIF and
 * animated WebP are refused: see formats.ts). The size table asks the same
 * question, so it lists no file that would answer 415.
 */
export function assertRenderable(info: ImageInfo): void {
	assertDecodable(info);
}

function need<T>(value: T | undefined, what: string): T {
	if (value === undefined) throw new Error(`pipeline: ${what} missing`);
	return value;
}

const decode: Step = {
	name: "decode",
	async run(ctx) {
		const { job } = ctx;
		const image = await decodeImage(job.format, job.bytes);
		const { crop } = job;
		if (
			crop.x < 0 ||
			crop.y < 0 ||
			crop.x + crop.w > image.width ||
			crop.y + crop.h > image.height
		) {
			throw new UnprocessableError("Original changed while it was read", {
				detail: `crop ${JSON.stringify(crop)} outside ${image.width}x${image.height}`,
			});
		}
		ctx.image = image;
		ctx.transparent = job.format !== "jpeg" && hasTransparency(image);
	},
};

const resize: Step = {
	name: "resize",
	async run(ctx) {
		const { job } = ctx;
		const image = need(ctx.image, "image");
		const { crop } = job;
		// A full-frame crop at the original size is a no-op; anything else goes
		// through the kernel, which also crops.
		if (crop.w === job.width && crop.h === job.height && crop.x === 0 && crop.y === 0) {
			if (image.width === crop.w && image.height === crop.h) return;
		}
		ctx.image = await resizeRGBA(image, crop, job.width, job.height, {
			...job.resize,
			premultiply: job.resize.premultiply && ctx.transparent,
		});
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
			if (job.palette) image = quantize(image);
		}
		ctx.output = await encodeImage(image, {
			format: job.output,
			settings: job.encode,
			lossless: job.output === job.format && isLossless(job.format, job.bytes),
		});
	},
};

export const STEPS: readonly Step[] = [decode, resize, orient, encode];

export async function render(job: RenderJob): Promise<Rendered> {
	const ctx: Context = { job, transparent: false, timings: { decode: 0, resize: 0, encode: 0 } };
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
