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
 * the pipeline cannot decode, 422 naming MAX_SOURCE_BYTES, the format's
 * pixel limit (MAX_SOURCE_PIXELS; MAX_LOSSLESS_SOURCE_PIXELS for PNG and
 * WebP) or, for an original that must be decoded whole, MAX_SOURCE_PIXELS_WHOLE.
 */
export function assertSourceWithinLimits(meta: UploadMeta, limits: Limits): void {
	const { source } = meta;
	assertDecodable(source.info);
	if (source.size > limits.maxSourceBytes) {
		throw new LimitExceededError("MAX_SOURCE_BYTES", `Original is ${source.size} bytes`);
	}
	const { info } = source;
	const pixels = info.width * info.height;
	const size = `${info.width}x${info.height}`;
	const [limit, most] = pixelLimit(info, limits);
	if (pixels > most) throw new LimitExceededError(limit, `Original is ${size} pixels`);
	if (Math.max(info.width, info.height) > MAX_SOURCE_SIDE) {
		throw new LimitExceededError(`${MAX_SOURCE_SIDE} px a side`, `Original is ${size} pixels`);
	}
	if (pixels > limits.maxSourcePixelsWhole && !streamsRows(info)) {
		throw new LimitExceededError(
			"MAX_SOURCE_PIXELS_WHOLE",
			`Original is ${size} pixels (${wholeKind(info)})`,
		);
	}
}

/**
 * Longest side of any original: JPEG's and GIF's own format limit. Only a
 * PNG can be longer within the pixel limits (a 50,000,000x1 strip), and its
 * rows alone would then need hundreds of MB of decoder heap.
 */
const MAX_SOURCE_SIDE = 65_535;

/**
 * The format's own pixel limit: PNG and WebP stop at 50 MP by default (a PNG
 * re-inflated, a WebP re-decoded for every size it streams: seconds each).
 */
function pixelLimit(info: ImageInfo, limits: Limits): [string, number] {
	if (info.format === "png" || info.format === "webp") {
		return ["MAX_LOSSLESS_SOURCE_PIXELS", limits.maxLosslessSourcePixels];
	}
	return ["MAX_SOURCE_PIXELS", limits.maxSourcePixels];
}

/**
 * Originals read row by row into the resize kernel (render/stream.ts), so
 * only MAX_SOURCE_PIXELS / MAX_LOSSLESS_SOURCE_PIXELS bound them: baseline
 * JPEG (libjpeg's scanlines), non-interlaced PNG (our inflater,
 * png-decode.ts) and lossy WebP without alpha (libwebp's macroblock rows,
 * webpRows). Everything else is decoded whole: lossless WebP (libwebp's VP8L
 * decoder holds width × height ARGB) and WebP with alpha (a width × height
 * alpha plane), GIF and AVIF (whole-image decoders), progressive JPEG
 * (libjpeg holds every coefficient until the last scan) and interlaced PNG
 * (every Adam7 pass touches every region).
 */
export function streamsRows(info: ImageInfo): boolean {
	if (info.format === "jpeg") return info.jpeg?.progressive !== true;
	if (info.format === "webp") return info.webp?.lossless === false && !info.hasAlpha;
	return info.format === "png" && info.png?.interlaced === false;
}

const wholeKind = (info: ImageInfo) => {
	if (info.format === "jpeg") return "progressive JPEG";
	if (info.format === "png") return "interlaced PNG";
	if (info.format === "webp" && info.webp?.lossless) return "lossless WebP";
	if (info.format === "webp") return info.hasAlpha ? "WebP with alpha" : "animated WebP";
	return info.format.toUpperCase();
};

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
