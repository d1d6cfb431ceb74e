/**
 * Big JPEG originals in bounded memory. The shared whole decode (sources.ts)
 * holds an upload's pixels at the scale all its sizes need: fine for a few
 * megapixels, but 25 MB for the 1200x800 size of a 100 MP photo (2/8
 * scale) and 56 MB for a 2048x1365 (3/8), held both in the codec and in JS. Above STREAM_ABOVE_BYTES each size streams instead: libjpeg decodes
 * at that size's own DCT scale, only the crop window's iMCU columns, from
 * its first row down, a chunk of rows at a time straight into the resize
 * kernel (jpegRows → resizeRows). What is shared between the sizes is the
 * compressed file, read from R2 once while it is wanted.
 */
import type { Limits } from "../config";
import { UpstreamError } from "../http/errors";
import type { EncodeSettings, OutputFormat } from "../image/formats";
import { jpegRows, scaledSide } from "../image/jpeg";
import { resizeRows } from "../image/resize";
import { codecError } from "../image/wasm-lazy";
import type { UploadMeta } from "../origin/lookup";
import type { Storage } from "../origin/storage";
import { SharedTimeoutError, watch } from "../util/shared";
import { type Rendered, type ResizeSettings, render } from "./pipeline";
import type { RenderPlan } from "./plan";
import { FULL_SCALE } from "./scale";
import { DecodedSources } from "./sources";

/**
 * A JPEG whose shared decode would be larger than this (bytes of RGBA) has
 * its sizes streamed. A whole decode is held twice at its peak (the codec's
 * heap and the JS copy), and two renders run at once: 16 MiB keeps that
 * under 64 MB. A 100 MP photo's sizes up to 1200x800 share a 2/8 decode of
 * 25 MB, so they stream; a 50 MP one's share 12 MB. Streaming costs a
 * Huffman pass over the file per size (about 1 s at 100 MP) instead of one.
 */
export const STREAM_ABOVE_BYTES = 16 * 2 ** 20;

/** Whether `meta`'s sizes stream, given the scale one shared decode would need. */
export function streams(meta: UploadMeta, sharedScale: number): boolean {
	const { info } = meta.source;
	// A progressive file's coefficients are held whole anyway (limits.ts keeps them small).
	if (info.format !== "jpeg" || info.jpeg?.progressive) return false;
	const w = scaledSide(info.width, sharedScale);
	const h = scaledSide(info.height, sharedScale);
	return w * h * 4 > STREAM_ABOVE_BYTES;
}

/**
 * Compressed originals shared by the streamed sizes of an upload (a few
 * seconds). 32 MiB holds the largest file MAX_SOURCE_BYTES lets through.
 */
export const originals = new DecodedSources<Uint8Array>(
	32 * 2 ** 20,
	10_000,
	60_000,
	(bytes) => bytes.byteLength,
);

export interface StreamJob {
	/** Same key as the shared decodes use: changes with the source's bytes. */
	readonly id: string;
	readonly limits: Limits;
	readonly encode: EncodeSettings;
	readonly resize: ResizeSettings;
	/** The DCT scale (eighths) this size decodes at: its own (scaleFor). */
	readonly scale: number;
	readonly timing: Record<string, number>;
	readonly onStale: () => void;
}

/** The version of the original the lookup saw; anything else means the lookup is stale. */
async function readOriginal(storage: Storage, meta: UploadMeta, onStale: () => void) {
	const { source } = meta;
	let read: Awaited<ReturnType<Storage["read"]>>;
	try {
		read = await storage.read(source.key, source.etag);
	} catch (err) {
		onStale();
		throw err;
	}
	if (!read) {
		onStale();
		throw new UpstreamError("Original changed while it was read", {
			detail: `get ${source.key}: gone since lookup`,
			timeout: true,
		});
	}
	return read.bytes;
}

/** The compressed bytes, read once for concurrent sizes (watched, never awaited: util/shared.ts). */
async function sharedBytes(storage: Storage, meta: UploadMeta, job: StreamJob) {
	let readMs = 0;
	const pending = originals.get(job.id, FULL_SCALE, async () => {
		const started = performance.now();
		const bytes = await readOriginal(storage, meta, job.onStale);
		readMs = performance.now() - started;
		return bytes;
	});
	try {
		const bytes = await watch(pending, job.limits.r2TimeoutMs + job.limits.renderBudgetMs);
		return { bytes, readMs };
	} catch (err) {
		if (err instanceof SharedTimeoutError) originals.drop(job.id, pending);
		throw err;
	}
}

/**
 * Render one size of a big JPEG by streaming (see the module comment). Same
 * output as the shared-decode path: the crop window (stored pixels) resized
 * at this size's DCT scale, then EXIF orientation, then the encoder.
 */
export async function renderStreamed(
	storage: Storage,
	meta: UploadMeta,
	plan: RenderPlan,
	output: OutputFormat,
	job: StreamJob,
): Promise<Rendered> {
	const { info } = meta.source;
	const s = job.scale / FULL_SCALE;
	const { crop } = plan;
	const window = { x: crop.x * s, y: crop.y * s, w: crop.w * s, h: crop.h * s };
	// JPEG pixels are opaque: no premultiplied filtering.
	const options = { ...job.resize, premultiply: false };
	let readMs = 0;
	const resized = async () => {
		const read = await sharedBytes(storage, meta, job);
		readMs = read.readMs;
		try {
			return await jpegRows(read.bytes, job.scale, info, (rows) =>
				resizeRows(rows, window, plan.resizeWidth, plan.resizeHeight, options),
			);
		} catch (err) {
			// libjpeg's failures arrive typed (422/503); the kernel's are ours (or OOM).
			throw codecError(err, "ours", "Could not resize image", "stream resize");
		}
	};
	const rendered = await render({
		resized,
		format: "jpeg",
		crop,
		width: plan.resizeWidth,
		height: plan.resizeHeight,
		orientation: plan.orientation,
		output,
		encode: job.encode,
		palette: false,
		resize: job.resize,
		deadline: Date.now() + job.limits.renderBudgetMs,
	});
	job.timing.r2 = (job.timing.r2 ?? 0) + readMs;
	rendered.timings.decode = Math.max(0, rendered.timings.decode - readMs);
	return rendered;
}
