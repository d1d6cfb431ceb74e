/**
 * The render pipeline: a list of small named steps over one context, with the
 * time budget checked between them. Input is the decoded source (possibly
 * shared with other renders of the same upload) and a plan (crop window in
 * the source's stored pixels, output size, EXIF orientation still to apply);
 * output is the encoded derivative.
 */
import { LimitExceededError, UnprocessableError, UnsupportedFormatError } from "../errors";
import {
	decodeJpeg,
	encodeJpeg,
	type JpegEncodeOptions,
	type ResizeOptions,
	resizeRGBA,
} from "../image/codecs";
import { applyOrientation, type Rect, type RGBAImage } from "../image/orientation";
import { type ImageFormat, MIME, type Orientation } from "../image/probe";
import { areaShrink, shrinkFactor } from "../image/shrink";

/** Resize settings: the windowed filter, and how much a box pre-shrink may take off first. */
export interface ResizeSettings extends ResizeOptions {
	/** The filter reduces by at least this factor after the area step (0 = no area step). */
	readonly shrinkGap: number;
	/**
	 * Memory: the decoded source's pixels plus the filter's input pixels stay
	 * within this (the decoder's and the filter's WASM heaps grow with them and
	 * never shrink). Larger sources get a larger area pre-shrink.
	 */
	readonly pixelBudget: number;
}

/** Decode an original's bytes; only JPEG so far. */
export async function decodeSource(bytes: Uint8Array, format: ImageFormat): Promise<RGBAImage> {
	assertRenderable(format);
	return decodeJpeg(bytes);
}

export interface RenderJob {
	/** The source's decoded, stored pixels (may be shared: never mutated). */
	readonly source: () => Promise<RGBAImage>;
	/** Crop window in the stored (un-rotated) pixels of `bytes`. */
	readonly crop: Rect;
	/** Size to resize the crop to, before orientation is applied. */
	readonly width: number;
	readonly height: number;
	readonly orientation: Orientation;
	readonly jpeg: JpegEncodeOptions;
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
	output?: Uint8Array;
	readonly timings: Timings;
}

type Step = { readonly name: keyof Timings | "orient"; run(ctx: Context): Promise<void> | void };

/**
 * Throws 415 unless the pipeline can make sizes from this format. The size
 * table asks the same question, so it lists no file that would answer 415.
 */
export function assertRenderable(format: ImageFormat): void {
	if (format !== "jpeg") {
		throw new UnsupportedFormatError(`${format.toUpperCase()} originals are not supported`);
	}
}

function need<T>(value: T | undefined, what: string): T {
	if (value === undefined) throw new Error(`pipeline: ${what} missing`);
	return value;
}

const decode: Step = {
	name: "decode",
	async run(ctx) {
		const { job } = ctx;
		const image = await job.source();
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
		// Area pre-shrink: by an integer-ish factor for speed (see shrinkFactor),
		// and further if the filter's input would not fit its memory budget.
		// Exact geometry: the window maps onto the smaller image edge to edge.
		const k = shrinkFactor(crop, job.width, job.height, job.resize.shrinkGap);
		let w = Math.max(job.width, Math.round(crop.w / k));
		let h = Math.max(job.height, Math.round(crop.h / k));
		const budget = Math.max(
			job.resize.pixelBudget - image.width * image.height,
			job.width * job.height,
		);
		const over = Math.sqrt((w * h) / budget);
		if (over > 1) {
			w = Math.max(job.width, Math.floor(w / over));
			h = Math.max(job.height, Math.floor(h / over));
		}
		if (w !== crop.w || h !== crop.h) {
			const shrunk = areaShrink(image, crop, w, h);
			const whole = { x: 0, y: 0, w, h };
			ctx.image = await resizeRGBA(shrunk, whole, job.width, job.height, job.resize);
		} else {
			ctx.image = await resizeRGBA(image, crop, job.width, job.height, job.resize);
		}
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
		ctx.output = await encodeJpeg(need(ctx.image, "image"), ctx.job.jpeg);
	},
};

export const STEPS: readonly Step[] = [decode, resize, orient, encode];

export async function render(job: RenderJob): Promise<Rendered> {
	const ctx: Context = { job, timings: { decode: 0, resize: 0, encode: 0 } };
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
		contentType: MIME.jpeg,
		width: image.width,
		height: image.height,
		timings: ctx.timings,
	};
}
