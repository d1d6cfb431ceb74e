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

/** The output dimensions of one derivative. */
export interface OutputSize {
	readonly width: number;
	readonly height: number;
}

/**
 * Throws the error serving would answer with: 415 for a format the pipeline
 * cannot decode, 422 naming MAX_SOURCE_BYTES, MAX_SOURCE_PIXELS,
 * MAX_SOURCE_PIXELS_WHOLE or MAX_OUTPUT_SIDE. The source checks come first: they fail every size alike.
 */
export function assertWithinLimits(meta: UploadMeta, plan: OutputSize, limits: Limits): void {
	const { source } = meta;
	assertDecodable(source.info);
	if (source.size > limits.maxSourceBytes) {
		throw new LimitExceededError("MAX_SOURCE_BYTES", `Original is ${source.size} bytes`);
	}
	const pixels = source.info.width * source.info.height;
	if (pixels > limits.maxSourcePixels) {
		throw new LimitExceededError(
			"MAX_SOURCE_PIXELS",
			`Original is ${source.info.width}x${source.info.height} pixels`,
		);
	}
	if (pixels > limits.maxSourcePixelsWhole && decodedWhole(source.info)) {
		throw new LimitExceededError(
			"MAX_SOURCE_PIXELS_WHOLE",
			`Original is ${source.info.width}x${source.info.height} pixels (${wholeKind(source.info)})`,
		);
	}
	if (plan.width > limits.maxOutputSide || plan.height > limits.maxOutputSide) {
		throw new LimitExceededError(
			"MAX_OUTPUT_SIDE",
			`Output ${plan.width}x${plan.height} is too large`,
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

/** Whether one size fails only by its own output side (the others may still be made). */
export function isOutputLimit(err: unknown): boolean {
	return err instanceof LimitExceededError && err.limit === "MAX_OUTPUT_SIDE";
}
