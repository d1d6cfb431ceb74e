/**
 * Test-side image helpers: decode what the worker returns, compute a
 * high-quality reference resize independently of the worker's pipeline, and
 * compare them with PSNR.
 */
import { env } from "cloudflare:test";
import mozjpegEncFactory from "@jsquash/jpeg/codec/enc/mozjpeg_enc.js";
import mozjpegEncWasm from "@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm";
import { defaultOptions } from "@jsquash/jpeg/meta.js";
import { initEmscriptenModule } from "@jsquash/jpeg/utils.js";
import { decodeJpeg } from "../src/image/jpeg";
import type { Rect, RGBAImage } from "../src/image/orientation";
import { fixtureBytes } from "./helpers";
import { squooshResize } from "./squoosh-resize";

/** The seed site's uploads (and their -scaled/-rotated copies) the golden tests use. */
export const SEED_UPLOADS = [
	"AdobeStock_1228396051_Editorial_Use_Only.jpeg",
	"AdobeStock_1228396051_Editorial_Use_Only-scaled.jpeg",
	"harbour-friends.jpeg",
	"harbour-friends-scaled.jpeg",
	"colorful-cups.jpg",
	"garden-progressive.jpg",
	"elephants-phone.jpg",
	"elephants-phone-rotated.jpg",
	"autumn-tiny.jpg",
] as const;

export const DIR = "2025/09/";

/** Put fixture originals into the test bucket under their WordPress keys. */
export async function seed(...files: string[]): Promise<void> {
	await Promise.all(
		files.map(async (file) =>
			env.ORIGINALS.put(`${DIR}${file}`, await fixtureBytes(`originals/${DIR}${file}`)),
		),
	);
}

export async function decode(bytes: ArrayBuffer | Uint8Array): Promise<RGBAImage> {
	return decodeJpeg(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
}

/** Reference: lanczos3 in linear light, from the exact crop window (not our kernel). */
export async function reference(src: RGBAImage, crop: Rect, width: number, height: number) {
	return squooshResize(src, crop, width, height);
}

let mozjpeg: ReturnType<typeof initEmscriptenModule<typeof mozjpegEncFactory>> | undefined;

/**
 * The quality floor's encoder: mozjpeg (jSquash), progressive at `quality`,
 * independent of the worker's own libjpeg-turbo encoder, and the same
 * encoder the golden floor was first set with.
 */
export async function referenceJpeg(image: RGBAImage, quality: number): Promise<Uint8Array> {
	mozjpeg ??= initEmscriptenModule(mozjpegEncFactory, mozjpegEncWasm);
	const m = await mozjpeg;
	return m
		.encode(image.data, image.width, image.height, {
			...defaultOptions,
			quality,
			progressive: true,
		})
		.slice();
}

/** PSNR over the RGB channels, in dB. */
export function psnr(a: RGBAImage, b: RGBAImage): number {
	if (a.width !== b.width || a.height !== b.height) {
		throw new Error(`size mismatch ${a.width}x${a.height} vs ${b.width}x${b.height}`);
	}
	let sum = 0;
	const n = a.width * a.height;
	for (let i = 0; i < n * 4; i += 4) {
		for (let c = 0; c < 3; c++) {
			const d = (a.data[i + c] ?? 0) - (b.data[i + c] ?? 0);
			sum += d * d;
		}
	}
	const mse = sum / (n * 3);
	return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

/** Map a crop window from upload coordinates onto a proportionally smaller copy. */
export function scaleRect(
	rect: Rect,
	fromW: number,
	fromH: number,
	toW: number,
	toH: number,
): Rect {
	const sx = toW / fromW;
	const sy = toH / fromH;
	const x = Math.round(rect.x * sx);
	const y = Math.round(rect.y * sy);
	return {
		x,
		y,
		w: Math.min(toW, Math.round((rect.x + rect.w) * sx)) - x,
		h: Math.min(toH, Math.round((rect.y + rect.h) * sy)) - y,
	};
}
