/**
 * Big JPEG, PNG and lossy WebP originals in bounded memory. The shared whole
 * decode (sources.ts) holds an upload's pixels at the scale all its sizes
 * need: fine for a few megapixels, but 25 MB for the 1200x800 size of a
 * 100 MP photo (2/8 scale) and 56 MB for a 2048x1365 (3/8), held both in the
 * codec and in JS; a 50 MP PNG or WebP would be 200 MB. Above
 * STREAM_ABOVE_BYTES (a WebP: MAX_SOURCE_PIXELS_WHOLE) each size
 * streams instead, from its first row down, a chunk of rows at a time
 * straight into the resize kernel (resizeRows): a baseline JPEG through
 * libjpeg at that size's own DCT scale, only the crop window's iMCU columns
 * (jpegRows); a non-interlaced PNG inflated and unfiltered as it is read
 * (pngRows); a lossy WebP without alpha cropped to the window and
 * area-averaged by libwebp to about RESIZE.shrinkGap × the output as it
 * decodes (webpRows, webpRegion). What is shared between the sizes is the
 * compressed file, read from R2 once while it is wanted.
 */
import type { Limits } from "../config";
import type { EncodeSettings, OutputFormat } from "../image/formats";
import { jpegRows, scaledSide } from "../image/jpeg";
import type { Rect, RGBAImage } from "../image/orientation";
import { pngRows, readPng } from "../image/png-decode";
import type { ImageFormat, ImageInfo } from "../image/probe";
import { type RowSource, resizeRows, resizeRowsMany, type SourceWindow } from "../image/resize";
import { codecError } from "../image/wasm-lazy";
import { webpRows } from "../image/webp";
import type { UploadMeta } from "../origin/lookup";
import type { Storage } from "../origin/storage";
import { streamedOriginals } from "../state";
import { SharedTimeoutError, watch } from "../util/shared";
import { streamsRows } from "./limits";
import { type Rendered, type ResizeSettings, render } from "./pipeline";
import type { RenderPlan } from "./plan";
import { readSource } from "./read";
import {
	type DecodeNeed,
	decodeScale,
	FULL_SCALE,
	needOf,
	regionWindow,
	webpRegion,
} from "./scale";

/**
 * A JPEG or PNG whose shared decode would be larger than this (bytes of
 * RGBA) has each size streamed. Above it streaming measured faster for a
 * miss (wrangler, warm isolate, fresh uploads): colorful-cups 1200x628 74 ms
 * against 94 whole, its 730x456 60 against 72 (its own DCT scale and crop
 * window instead of the one all sizes need), the 2560x1440 screenshot's
 * 600x420 111 against 130, as no JS copy of the image is made (such a 15 MB
 * allocation set off a ~45 ms collection on every other miss). Below it the
 * whole decode was faster: goldfish 730x481 123 against 130 ms, the logo's
 * 150x150 35 against 41 (the stream's per-strip overhead). A streamed PNG
 * with an alpha channel counts as transparent from its header (premultiplied
 * resize) where a whole decode looks at its pixels. Memory: a whole
 * decode is held twice at its peak (codec heap and JS copy), two renders at
 * once. Streaming a JPEG costs a Huffman pass over the file per size, or
 * per pass of the queue's sizes (renderStreamedMany).
 */
export const STREAM_ABOVE_BYTES = 8 * 2 ** 20;

/**
 * Whether `meta`'s sizes stream, given the scale one shared decode would
 * need (a PNG's is its full size). A lossy WebP streams only past
 * MAX_SOURCE_PIXELS_WHOLE: it is decoded once per size instead of once for
 * all, so smaller ones share a whole decode.
 */
export function streams(meta: UploadMeta, sharedScale: number, limits: Limits): boolean {
	const { info } = meta.source;
	// Progressive JPEG, interlaced PNG, lossless WebP...: decoded whole (limits.ts keeps them small).
	if (!streamsRows(info)) return false;
	if (info.format === "webp") return info.width * info.height > limits.maxSourcePixelsWhole;
	const w = scaledSide(info.width, sharedScale);
	const h = scaledSide(info.height, sharedScale);
	return w * h * 4 > STREAM_ABOVE_BYTES;
}

export interface StreamJob {
	/** Same key as the shared decodes use: changes with the source's bytes. */
	readonly id: string;
	readonly limits: Limits;
	readonly encode: EncodeSettings;
	readonly resize: ResizeSettings;
	/** The format the upload's sizes are written in (a different output was negotiated). */
	readonly sizesFormat: ImageFormat;
	/** The DCT scale (eighths) this size decodes at: its own (scaleFor). */
	readonly scale: number;
	readonly timing: Record<string, number>;
	readonly onStale: () => void;
}

/** The compressed bytes, read once for concurrent sizes (watched, never awaited: util/shared.ts). */
async function sharedBytes(storage: Storage, meta: UploadMeta, job: Omit<StreamJob, "scale">) {
	let readMs = 0;
	const pending = streamedOriginals.get(job.id, FULL_SCALE, async () => {
		const started = performance.now();
		const bytes = await readSource(storage, meta, job.onStale);
		readMs = performance.now() - started;
		return bytes;
	});
	try {
		const bytes = await watch(pending, job.limits.r2TimeoutMs + job.limits.renderBudgetMs);
		return { bytes, readMs };
	} catch (err) {
		if (err instanceof SharedTimeoutError) streamedOriginals.drop(job.id, pending);
		throw err;
	}
}

/**
 * One streamed decode of an upload, made to serve some outputs: where a
 * crop window (stored pixels) lands in its pixels, and its rows. A JPEG at
 * `scale` eighths, a PNG at full size, a WebP's region (webpRegion).
 */
interface StreamDecode {
	window(crop: Rect): SourceWindow;
	rows<R>(bytes: Uint8Array, consume: (rows: RowSource) => Promise<R>): Promise<R>;
}

/** The decode that serves `needs` from `info`'s file (a JPEG at `scale` eighths). */
function decodeFor(
	info: ImageInfo,
	scale: number,
	needs: readonly DecodeNeed[],
	resize: ResizeSettings,
): StreamDecode {
	if (info.format === "webp") {
		const region = webpRegion(info, needs, resize.shrinkGap ?? 0);
		return {
			window: (crop) => regionWindow(region, crop),
			rows: (bytes, consume) => webpRows(bytes, region, consume),
		};
	}
	if (info.format === "png") {
		return { window: (crop) => crop, rows: (bytes, consume) => consume(pngRows(readPng(bytes))) };
	}
	const s = scale / FULL_SCALE;
	return {
		window: (crop) => ({ x: crop.x * s, y: crop.y * s, w: crop.w * s, h: crop.h * s }),
		rows: (bytes, consume) => jpegRows(bytes, scale, info, consume),
	};
}

/** Decode (streamed) and resize, typing the kernel's failures as ours. */
async function streamResize<R>(
	storage: Storage,
	meta: UploadMeta,
	job: Omit<StreamJob, "scale">,
	decode: StreamDecode,
	resize: (rows: RowSource) => Promise<R>,
): Promise<{ value: R; readMs: number }> {
	const read = await sharedBytes(storage, meta, job);
	try {
		return { value: await decode.rows(read.bytes, resize), readMs: read.readMs };
	} catch (err) {
		// The decoders' failures arrive typed (422/503); the kernel's are ours (or OOM).
		throw codecError(err, "ours", "Could not resize image", "stream resize");
	}
}

/**
 * Whether a streamed source may have transparent pixels (its pixels are
 * never looked at whole): JPEG never; a PNG with an alpha channel or tRNS
 * (probe.ts). Such a source is filtered premultiplied, its PNG sizes smoothed.
 */
const mayBeTransparent = (info: ImageInfo) => info.format === "png" && info.hasAlpha;

/** The kernel's options for a streamed source. */
const optionsFor = (info: ImageInfo, job: Pick<StreamJob, "resize">) => ({
	...job.resize,
	premultiply: job.resize.premultiply && mayBeTransparent(info),
});

/** Orientation and encoding of one size already resized (pipeline.ts). */
async function finish(
	info: ImageInfo,
	plan: RenderPlan,
	output: OutputFormat,
	job: StreamJob,
	resized: () => Promise<RGBAImage>,
): Promise<Rendered> {
	return render({
		resized,
		transparent: mayBeTransparent(info),
		format: info.format,
		crop: plan.crop,
		width: plan.resizeWidth,
		height: plan.resizeHeight,
		orientation: plan.orientation,
		output,
		negotiated: output !== job.sizesFormat,
		encode: job.encode,
		palette: info.png?.colorType === 3,
		resize: job.resize,
		deadline: Date.now() + job.limits.renderBudgetMs,
	});
}

/**
 * Render one size of a big JPEG or PNG by streaming (see the module
 * comment). Same output as the shared-decode path: the crop window (stored
 * pixels) resized at this size's DCT scale (a PNG's: full), then EXIF
 * orientation, then the encoder.
 */
export async function renderStreamed(
	storage: Storage,
	meta: UploadMeta,
	plan: RenderPlan,
	output: OutputFormat,
	job: StreamJob,
): Promise<Rendered> {
	const { info } = meta.source;
	const options = optionsFor(info, job);
	const decode = decodeFor(info, job.scale, [needOf(plan)], job.resize);
	const window = decode.window(plan.crop);
	let readMs = 0;
	const rendered = await finish(info, plan, output, job, async () => {
		const done = await streamResize(storage, meta, job, decode, (rows) =>
			resizeRows(rows, window, plan.resizeWidth, plan.resizeHeight, options),
		);
		readMs = done.readMs;
		return done.value;
	});
	job.timing.r2 = (job.timing.r2 ?? 0) + readMs;
	rendered.timings.decode = Math.max(0, rendered.timings.decode - readMs);
	return rendered;
}

/**
 * Most output bytes one pass of renderStreamedMany makes at once: each is
 * held in its kernel's heap and then in JS until encoded. A pass costs a
 * Huffman decode of the file (about 0.2-1 s at 100 MP).
 */
export const PASS_OUTPUT_BYTES = 8 * 2 ** 20;

/** Groups of plans whose outputs together stay within PASS_OUTPUT_BYTES (one pass each). */
function groups(plans: readonly RenderPlan[]): RenderPlan[][] {
	const out: RenderPlan[][] = [];
	let bytes = Number.POSITIVE_INFINITY;
	for (const plan of plans) {
		const size = plan.resizeWidth * plan.resizeHeight * 4;
		if (bytes + size > PASS_OUTPUT_BYTES) {
			out.push([]);
			bytes = 0;
		}
		out[out.length - 1]?.push(plan);
		bytes += size;
	}
	return out;
}

/** What a caller of renderStreamedMany may hook into each pass. */
interface PassHooks {
	/** Runs each pass (e.g. one render-gate turn per pass); default: as is. */
	readonly run?: <T>(work: () => Promise<T>) => Promise<T>;
	/** Called with each output as its pass ends, by index into `plans` (e.g. to store it). */
	readonly made?: (k: number, rendered: Rendered) => Promise<void>;
}

/**
 * Several sizes of a big JPEG or PNG (the fan-out) from one streamed decode per
 * group of sizes: decoded once at the scale the group needs (decodeScale),
 * the rows fed to one resize kernel per size (resizeRowsMany). Outputs in
 * the order of `plans`.
 */
export async function renderStreamedMany(
	storage: Storage,
	meta: UploadMeta,
	plans: readonly RenderPlan[],
	output: OutputFormat,
	job: Omit<StreamJob, "scale">,
	{ run = (work) => work(), made }: PassHooks = {},
): Promise<Rendered[]> {
	const out: Rendered[] = [];
	for (const group of groups(plans)) {
		const first = out.length;
		out.push(...(await run(() => renderPass(storage, meta, group, output, job))));
		if (made) for (let k = first; k < out.length; k++) await made(k, out[k] as Rendered);
	}
	return out;
}

/** One pass of renderStreamedMany: one streamed decode at the scale `group` needs. */
async function renderPass(
	storage: Storage,
	meta: UploadMeta,
	group: readonly RenderPlan[],
	output: OutputFormat,
	job: Omit<StreamJob, "scale">,
): Promise<Rendered[]> {
	const { info } = meta.source;
	const options = optionsFor(info, job);
	const needs = group.map(needOf);
	const scale = decodeScale(info.format, needs, job.resize.decodeGap);
	const decode = decodeFor(info, scale, needs, job.resize);
	const targets = group.map((plan) => ({
		win: decode.window(plan.crop),
		width: plan.resizeWidth,
		height: plan.resizeHeight,
		options,
	}));
	const whole = { ...job, scale };
	const { value: images } = await streamResize(storage, meta, whole, decode, (rows) =>
		resizeRowsMany(rows, targets),
	);
	const out: Rendered[] = [];
	for (const [k, plan] of group.entries()) {
		const image = images[k] as RGBAImage;
		out.push(await finish(info, plan, output, whole, async () => image));
	}
	return out;
}

/** Longest side of renderStreamedPreview's image. */
export const PREVIEW_SIDE = 64;

/**
 * The whole upload at most PREVIEW_SIDE pixels a side, streamed (a look at
 * all of a big original, e.g. its placeholder colour, without a whole
 * decode): a JPEG from its 1/8 decode, a PNG as it is inflated, a WebP
 * area-averaged by libwebp as it decodes.
 */
export async function renderStreamedPreview(
	storage: Storage,
	meta: UploadMeta,
	job: Omit<StreamJob, "scale">,
): Promise<RGBAImage> {
	const { info } = meta.source;
	const scale = info.format === "jpeg" ? 1 : FULL_SCALE;
	const k = Math.max(1, Math.max(info.width, info.height) / PREVIEW_SIDE);
	const width = Math.max(1, Math.round(info.width / k));
	const height = Math.max(1, Math.round(info.height / k));
	const crop = { x: 0, y: 0, w: info.width, h: info.height };
	const decode = decodeFor(info, scale, [{ crop, width, height }], job.resize);
	const win = decode.window(crop);
	const options = { filter: "triangle", premultiply: mayBeTransparent(info) } as const;
	const { value } = await streamResize(storage, meta, job, decode, (rows) =>
		resizeRows(rows, win, width, height, options),
	);
	return value;
}
