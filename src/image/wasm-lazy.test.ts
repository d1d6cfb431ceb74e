/**
 * The WASM holder's registry (every codec named, one reset and one memory
 * report for all) and the status policy for codec failures: bad source data
 * 422, out of memory 503 + Retry-After, a failed encode of our own pixels 500
 * — alike for JPEG, PNG and WebP.
 */
import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { decodeAvif } from "./avif";
import { type EncodeRequest, encodeImage } from "./formats";
import { decodeJpeg, LibjpegError } from "./jpeg";
import type { RGBAImage } from "./orientation";
import { decodePng, optimizePng } from "./png";
import { resizeRGBA } from "./resize";
import { codecError, resetCodecs, wasmMemory, wasmPeakMemory } from "./wasm-lazy";
import { decodeWebp } from "./webp";

const settings = {
	jpegQuality: 80,
	jpegProgressive: false,
	webpQuality: 80,
	negotiatedWebpQuality: 80,
	pngLevel: 2,
};
const request = (format: EncodeRequest["format"]): EncodeRequest => ({
	format,
	settings,
	lossless: false,
	negotiated: false,
});

function solid(width: number, height: number): RGBAImage {
	return { data: new Uint8ClampedArray(width * height * 4).fill(200), width, height };
}

const CODECS = [
	"avif-decode",
	"avif-encode",
	"jpeg",
	"oxipng",
	"png",
	"resize",
	"webp-decode",
	"webp-encode",
];

describe("one registry for every WASM codec", () => {
	it("names every instance: one memory report and one reset cover them all", async () => {
		resetCodecs();
		const jpeg = await decodeJpeg(await fixtureBytes("originals/2025/09/autumn-tiny.jpg"));
		await resizeRGBA(jpeg, { x: 0, y: 0, w: jpeg.width, h: jpeg.height }, 20, 20, {
			filter: "lanczos3",
			premultiply: false,
		});
		for (const format of ["jpeg", "png", "webp"] as const) {
			await encodeImage(solid(16, 16), request(format));
		}
		await decodeAvif(await encodeImage(solid(16, 16), request("avif")));
		const png = await encodeImage(solid(8, 8), request("png"));
		await decodePng(png);
		// oxipng only runs in the background optimisation now.
		await optimizePng(png, 1);
		await decodeWebp(await encodeImage(solid(8, 8), request("webp")));
		await decodeAvif(await encodeImage(solid(8, 8), request("avif")));
		const now = wasmMemory();
		expect(Object.keys(now).sort()).toEqual(CODECS);
		for (const name of CODECS) {
			expect(now[name], name).toBeGreaterThan(0);
			expect(wasmPeakMemory()[name], name).toBeGreaterThanOrEqual(now[name] ?? 0);
		}
		resetCodecs();
		// Reset drops every instance and peak; reporting creates none.
		expect(Object.values(wasmMemory())).toEqual(CODECS.map(() => 0));
		expect(Object.values(wasmPeakMemory())).toEqual(CODECS.map(() => 0));
	});
});

describe("codec failures have one status policy", () => {
	it.each(["jpeg", "png", "webp"] as const)(
		"a %s encoder failing on pixels we made is our bug: 500, not the source's 422",
		async (format) => {
			// Each encoder refuses what it is given: libjpeg a side over 65500,
			// libwebp one over 16383, our PNG encoder a buffer short of width × height × 4.
			const images = {
				jpeg: solid(70000, 1),
				webp: solid(20000, 1),
				png: { data: new Uint8ClampedArray(64), width: 200, height: 200 },
			};
			const image = images[format];
			const err = await encodeImage(image, request(format)).catch((e: unknown) => e);
			expect(err).toMatchObject({ status: 500 });
			expect((err as Error).message).toMatch(new RegExp(`^encode ${format}`, "i"));
		},
	);

	it("out of memory in any codec is a 503 with Retry-After; bad data in a decode is a 422", () => {
		const oom = [
			new RangeError("WebAssembly.Memory.grow(): Maximum memory size exceeded"),
			new LibjpegError("Insufficient memory (case 4)"),
			new LibjpegError("out of memory"),
			new WebAssembly.RuntimeError("Aborted(OOM)"),
		];
		for (const blame of ["source", "ours"] as const) {
			for (const err of oom) {
				const typed = codecError(err, blame, "Could not decode JPEG", "decode");
				expect(typed, err.message).toMatchObject({
					status: 503,
					headers: { "Retry-After": "5" },
				});
			}
		}
		const bad = new LibjpegError("Bogus Huffman table definition");
		expect(codecError(bad, "source", "Could not decode JPEG", "decode")).toMatchObject({
			status: 422,
			publicMessage: "Could not decode JPEG",
			message: "decode: LibjpegError: Bogus Huffman table definition",
		});
		expect(codecError(bad, "ours", "Could not encode image", "encode")).toMatchObject({
			status: 500,
		});
	});
});
