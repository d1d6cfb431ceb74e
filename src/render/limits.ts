/**
 * Every limit a derivative must pass, checked from the header we probed
 * (before any download or decode). The serving path and the size table both
 * call `assertWithinLimits`, so the table never names a file the server
 * then refuses.
 */
import type { Limits } from "../config";
import { LimitExceededError } from "../http/errors";
import { assertDecodable } from "../image/formats";
import type { ImageInfo } from "../image/probe";
import type { UploadMeta } from "../origin/lookup";

/**
 * Most pixels of an original decoded whole (jSquash's WebP and PNG decoders,
 * and our PNG decoder for interlaced files): 32 MB of RGBA, the 72 MB worst
 * case BENCHMARKS.md measured with the codecs' heaps. A non-interlaced PNG
 * past it is read row by row instead (pipeline.ts), up to
 * MAX_LOSSLESS_SOURCE_PIXELS.
 */
export const WHOLE_DECODE_PIXELS = 8_000_000;

/** The output dimensions of one derivative. */
export interface OutputSize {
	readonly width: number;
	readonly height: number;
}

/**
 * Throws the error serving would answer with: 415 for a format the pipeline
 * cannot decode, 422 naming MAX_SOURCE_BYTES, MAX_SOURCE_PIXELS (JPEG),
 * MAX_LOSSLESS_SOURCE_PIXELS (PNG, WebP), WHOLE_DECODE_PIXELS or
 * MAX_OUTPUT_SIDE. The source checks come first: they fail every size alike.
 */
export function assertWithinLimits(meta: UploadMeta, plan: OutputSize, limits: Limits): void {
	const { source } = meta;
	assertDecodable(source.info);
	if (source.size > limits.maxSourceBytes) {
		throw new LimitExceededError("MAX_SOURCE_BYTES", `Original is ${source.size} bytes`);
	}
	assertSourcePixels(source.info, limits);
	if (plan.width > limits.maxOutputSide || plan.height > limits.maxOutputSide) {
		throw new LimitExceededError(
			"MAX_OUTPUT_SIDE",
			`Output ${plan.width}x${plan.height} is too large`,
		);
	}
}

/** JPEG: MAX_SOURCE_PIXELS. PNG and WebP: MAX_LOSSLESS_SOURCE_PIXELS, and WHOLE_DECODE_PIXELS for those decoded whole. */
function assertSourcePixels(info: ImageInfo, limits: Limits): void {
	const pixels = info.width * info.height;
	const size = `Original is ${info.width}x${info.height} pixels`;
	if (info.format !== "png" && info.format !== "webp") {
		if (pixels > limits.maxSourcePixels) throw new LimitExceededError("MAX_SOURCE_PIXELS", size);
		return;
	}
	if (pixels > limits.maxLosslessSourcePixels) {
		throw new LimitExceededError("MAX_LOSSLESS_SOURCE_PIXELS", size);
	}
	if (pixels > WHOLE_DECODE_PIXELS && !streamsRows(info)) {
		throw new LimitExceededError(
			"WHOLE_DECODE_PIXELS",
			`${size}; WebP and interlaced PNG originals are decoded whole, up to ${WHOLE_DECODE_PIXELS}`,
		);
	}
}

/** A PNG read row by row (past WHOLE_DECODE_PIXELS) rather than decoded whole. */
export function streamsRows(info: ImageInfo): boolean {
	return info.format === "png" && info.png?.interlaced === false;
}

/** Whether one size fails only by its own output side (the others may still be made). */
export function isOutputLimit(err: unknown): boolean {
	return err instanceof LimitExceededError && err.limit === "MAX_OUTPUT_SIDE";
}
