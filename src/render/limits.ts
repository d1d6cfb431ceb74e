/**
 * Every limit a derivative must pass, checked from the header we probed
 * (before any download or decode). The serving path and the size table both
 * call `assertWithinLimits`, so the table never names a file the server
 * then refuses.
 */
import type { Limits } from "../config";
import { LimitExceededError } from "../http/errors";
import { assertDecodable } from "../image/formats";
import type { UploadMeta } from "../origin/lookup";

/** The output dimensions of one derivative. */
export interface OutputSize {
	readonly width: number;
	readonly height: number;
}

/**
 * Throws the error serving would answer with: 415 for a format the pipeline
 * cannot decode, 422 naming MAX_SOURCE_BYTES, MAX_SOURCE_PIXELS or
 * MAX_OUTPUT_SIDE. The source checks come first: they fail every size alike.
 */
export function assertWithinLimits(meta: UploadMeta, plan: OutputSize, limits: Limits): void {
	const { source } = meta;
	assertDecodable(source.info);
	if (source.size > limits.maxSourceBytes) {
		throw new LimitExceededError("MAX_SOURCE_BYTES", `Original is ${source.size} bytes`);
	}
	if (source.info.width * source.info.height > limits.maxSourcePixels) {
		throw new LimitExceededError(
			"MAX_SOURCE_PIXELS",
			`Original is ${source.info.width}x${source.info.height} pixels`,
		);
	}
	if (plan.width > limits.maxOutputSide || plan.height > limits.maxOutputSide) {
		throw new LimitExceededError(
			"MAX_OUTPUT_SIDE",
			`Output ${plan.width}x${plan.height} is too large`,
		);
	}
}

/** Whether one size fails only by its own output side (the others may still be made). */
export function isOutputLimit(err: unknown): boolean {
	return err instanceof LimitExceededError && err.limit === "MAX_OUTPUT_SIDE";
}
