/**
 * Every limit a derivative must pass, checked from the header we probed
 * (before any download or decode): once for the source (it fails every size
 * alike) and once per output. Serving, the size table and the queue consumer all
 * list sizes through `servableSizes` (plan.ts), so the table never names a
 * file the server then refuses.
 */
import type { Limits } from "../config";
import { LimitExceededError } from "../http/errors";
import { assertDecodable } from "../image/formats";
import type { ImageInfo } from "../image/probe";
import type { UploadMeta } from "../origin/lookup";

/** The output dimensions of one derivative. */
export interface OutputSize {
	readonly width: number;
	readonly height: number;
}

/**
 * Throws what serving any size of this upload would answer: 415 for a format
 * the pipeline cannot decode, 422 naming MAX_SOURCE_BYTES, MAX_SOURCE_PIXELS
 * or MAX_SOURCE_PIXELS_WHOLE.
 */
export function assertSourceWithinLimits(meta: UploadMeta, limits: Limits): void {
	const { source } = meta;
	assertDecodable(source.info);
	if (source.size > limits.maxSourceBytes) {
		throw new LimitExceededError("MAX_SOURCE_BYTES", `Original is ${source.size} bytes`);
	}
	const pixels = source.info.width * source.info.height;
	const size = `${source.info.width}x${source.info.height}`;
	if (pixels > limits.maxSourcePixels) {
		throw new LimitExceededError("MAX_SOURCE_PIXELS", `Original is ${size} pixels`);
	}
	if (pixels > limits.maxSourcePixelsWhole && decodedWhole(source.info)) {
		throw new LimitExceededError(
			"MAX_SOURCE_PIXELS_WHOLE",
			`Original is ${size} pixels (${wholeKind(source.info)})`,
		);
	}
}

/**
 * Originals that cannot stream: PNG and WebP (whole-image decoders), and
 * progressive JPEG (libjpeg holds every coefficient until the last scan:
 * 2-6 bytes a pixel). Only baseline JPEG streams (render/stream.ts).
 */
function decodedWhole(info: ImageInfo): boolean {
	return info.format !== "jpeg" || info.jpeg?.progressive === true;
}

const wholeKind = (info: ImageInfo) =>
	info.format === "jpeg" ? "progressive JPEG" : info.format.toUpperCase();

/** Whether one output is within MAX_OUTPUT_SIDE (the others may still be made). */
export function fitsOutput(size: OutputSize, limits: Limits): boolean {
	return size.width <= limits.maxOutputSide && size.height <= limits.maxOutputSide;
}

/** 422 naming MAX_OUTPUT_SIDE for an output over it. */
export function assertOutputWithinLimits(size: OutputSize, limits: Limits): void {
	if (!fitsOutput(size, limits)) {
		throw new LimitExceededError(
			"MAX_OUTPUT_SIDE",
			`Output ${size.width}x${size.height} is too large`,
		);
	}
}
