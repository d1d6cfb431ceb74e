/**
 * The codec registry: which formats the worker reads and writes, and one
 * place that dispatches on the format detected from magic bytes.
 *
 * Reads JPEG, PNG, still WebP, GIF (first frame, as GD; every frame through
 * gifFrames when ANIMATED_GIF is on, see render/animated.ts) and AVIF; writes
 * those too, each upload's sizes in its own format. Animated WebP stays 415:
 * our libwebp build (webp.ts) has the still-image decoder only, no
 * animation decoder, and a first frame would silently turn an animation into
 * a still under the same name.
 * HEIC is refused by the probe.
 */
import { VARS } from "../config/spec";
import { UnsupportedFormatError } from "../http/errors";
import { decodeAvif, encodeAvif } from "./avif";
import { decodeGif, encodeGif } from "./gif";
import { assertJpegDecodable, decodeJpeg, encodeJpeg } from "./jpeg";
import type { RGBAImage } from "./orientation";
import { decodePng, encodePng } from "./png";
import { HEIC_REFUSAL, type ImageFormat, type ImageInfo, probeImage } from "./probe";
import { codecError } from "./wasm-lazy";
import { decodeWebp, encodeWebp } from "./webp";

/** Formats a derivative can be written in. */
export type OutputFormat = "jpeg" | "png" | "webp" | "gif" | "avif";

/**
 * AVIF encoder settings (BENCHMARKS.md "AVIF"): at speed 8 quality 65 is the
 * lowest measured whose mean SSIM is at least our WebP q80's and JPEG q82's
 * (0.9749 vs 0.9737/0.9730 over 21 sizes), 12% fewer bytes than that WebP and
 * 41% fewer than the JPEG; speed 7 was 2.8x slower for ~1% fewer bytes, 9
 * half the time for 13% more bytes at lower SSIM.
 */
export const AVIF_DEFAULTS = {
	quality: VARS.AVIF_QUALITY.default,
	speed: VARS.AVIF_SPEED.default,
} as const;

export interface EncodeSettings {
	readonly jpegQuality: number;
	/** Progressive JPEG (else baseline); see derivatives.ts for the measurement. */
	readonly jpegProgressive: boolean;
	readonly webpQuality: number;
	/** For WebP negotiated from a JPEG/PNG size (not a WebP upload). */
	readonly negotiatedWebpQuality: number;
	/** oxipng effort (0–6) for the background optimisation (optimizePng); not the request path's. */
	readonly pngLevel: number;
	/** libavif quality (0–100) and libaom speed (0–10); AVIF_DEFAULTS when absent. */
	readonly avifQuality?: number;
	readonly avifSpeed?: number;
	/** Sizes of an animated GIF stay animated (render/animated.ts); absent or false: first frame. */
	readonly animatedGif?: boolean;
}

/** Refuse, before any download, an original this worker will not resize. */
export function assertDecodable(info: ImageInfo): void {
	if (info.format === "webp" && info.animated) {
		throw new UnsupportedFormatError(
			"Animated WebP sizes are not made by this worker; serve the original",
		);
	}
	if (info.format === "heic") throw new UnsupportedFormatError(HEIC_REFUSAL);
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
		case "gif":
			return decodeGif(bytes);
		case "avif":
			return decodeAvif(bytes);
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
 * Encode, with every failure typed alike for JPEG, PNG and WebP: an encoder
 * that fails (libjpeg's error_exit as a LibjpegError, a Rust panic, libwebp
 * returning nothing, a trap) failed on pixels we made, so it is our bug (500)
 * or the isolate out of memory (503 + Retry-After), never the source's (422).
 */
export async function encodeImage(image: RGBAImage, req: EncodeRequest): Promise<Uint8Array> {
	try {
		return await encodeWith(image, req);
	} catch (err) {
		throw codecError(err, "ours", "Could not encode image", `encode ${req.format}`);
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
		case "gif":
			return Promise.resolve(encodeGif(image));
		case "avif":
			return encodeAvif(image, {
				quality: req.settings.avifQuality ?? AVIF_DEFAULTS.quality,
				speed: req.settings.avifSpeed ?? AVIF_DEFAULTS.speed,
			});
	}
}

/**
 * Whether the source's own bytes say "lossless" (so its sizes stay
 * lossless): a VP8L WebP, as the header probe (probe.ts) reads it.
 */
export function isLossless(format: ImageFormat, bytes: Uint8Array): boolean {
	if (format !== "webp") return false;
	const probed = probeImage(bytes);
	return probed.ok && probed.info.webp?.lossless === true;
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
