/**
 * The codec registry: which formats the worker reads and writes, and one
 * place that dispatches on the format detected from magic bytes.
 *
 * Reads JPEG, PNG and still WebP. GIF and animated WebP are answered with 415
 * (no GIF codec ships with the worker, and a first-frame-only WebP would
 * silently turn an animation into a still under the same name); AVIF
 * originals are refused by the probe.
 */
import { ImageError, InternalError, UnsupportedFormatError } from "../http/errors";
import { assertJpegDecodable, decodeJpeg, describe, encodeJpeg } from "./codecs";
import type { RGBAImage } from "./orientation";
import { decodePng, encodePng } from "./png";
import type { ImageFormat, ImageInfo } from "./probe";
import { decodeWebp, encodeWebp, isLosslessWebp } from "./webp";

/** Formats a derivative can be written in. */
export type OutputFormat = "jpeg" | "png" | "webp";

export interface EncodeSettings {
	readonly jpegQuality: number;
	/** Progressive JPEG (else baseline); see derivatives.ts for the measurement. */
	readonly jpegProgressive: boolean;
	readonly webpQuality: number;
	/** For WebP negotiated from a JPEG/PNG size (not a WebP upload). */
	readonly negotiatedWebpQuality: number;
	/** oxipng effort (0–6) for the background optimisation (optimizePng); not the request path's. */
	readonly pngLevel: number;
}

/** Refuse, before any download, an original this worker will not resize. */
export function assertDecodable(info: ImageInfo): void {
	if (info.format === "gif") {
		throw new UnsupportedFormatError(
			"GIF sizes are not made by this worker; serve the GIF itself or upload a PNG/WebP",
		);
	}
	if (info.format === "webp" && info.animated) {
		throw new UnsupportedFormatError(
			"Animated WebP sizes are not made by this worker; serve the original",
		);
	}
	if (info.format === "avif") throw new UnsupportedFormatError("AVIF originals are not supported");
	assertJpegDecodable(info);
}

/** Decode an original; a JPEG at `jpegScale` eighths of its size (see decodeJpeg). */
export async function decodeImage(
	format: ImageFormat,
	bytes: Uint8Array,
	jpegScale = 8,
): Promise<RGBAImage> {
	switch (format) {
		case "jpeg":
			return decodeJpeg(bytes, jpegScale);
		case "png":
			return decodePng(bytes);
		case "webp":
			return decodeWebp(bytes);
		default:
			throw new UnsupportedFormatError(`${format.toUpperCase()} originals are not supported`);
	}
}

export interface EncodeRequest {
	readonly format: OutputFormat;
	readonly settings: EncodeSettings;
	/** Keep a lossless source lossless (WebP → WebP). */
	readonly lossless: boolean;
	/** The output format differs from the upload's (content negotiation). */
	readonly negotiated: boolean;
}

/**
 * Encode, with every failure typed. An encoder's error exit (libjpeg,
 * libwebp) throws a plain Emscripten `ExitStatus` object, which Hono's
 * onError would never see (it only handles Errors); the pixels are ours, not
 * the client's, so it is a 500 with a short public message.
 */
export async function encodeImage(image: RGBAImage, req: EncodeRequest): Promise<Uint8Array> {
	try {
		return await encodeWith(image, req);
	} catch (err) {
		if (err instanceof ImageError) throw err;
		throw new InternalError("Could not encode image", {
			cause: err,
			detail: describe(`encode ${req.format}`, err),
		});
	}
}

function encodeWith(image: RGBAImage, req: EncodeRequest): Promise<Uint8Array> {
	switch (req.format) {
		case "jpeg":
			return encodeJpeg(image, {
				quality: req.settings.jpegQuality,
				progressive: req.settings.jpegProgressive,
			});
		case "png":
			return encodePng(image);
		case "webp":
			return encodeWebp(image, {
				quality: req.negotiated ? req.settings.negotiatedWebpQuality : req.settings.webpQuality,
				lossless: req.lossless,
			});
	}
}

/** Whether the source's own bytes say "lossless" (so its sizes stay lossless). */
export function isLossless(format: ImageFormat, bytes: Uint8Array): boolean {
	return format === "webp" && isLosslessWebp(bytes);
}

/**
 * Whether any pixel is not fully opaque. Only such images pay for the
 * premultiplied resize (which keeps transparent pixels' colour from bleeding
 * into the edges as a dark fringe).
 */
export function hasTransparency(image: RGBAImage): boolean {
	const { data } = image;
	for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return true;
	return false;
}
