/**
 * Our libjpeg-turbo build (wasm/jpeg.c): decodes agree with an independent
 * decoder (jSquash's mozjpeg), scaled decodes have libjpeg's sizes and the
 * picture of a full decode averaged down, and the encoder's files decode
 * back to what went in.
 */
import mozjpegDecFactory from "@jsquash/jpeg/codec/dec/mozjpeg_dec.js";
import mozjpegDecWasm from "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";
import { initEmscriptenModule } from "@jsquash/jpeg/utils.js";
import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { psnr } from "../../test/images";
import { decodeJpeg, encodeJpeg } from "./jpeg";
import type { RGBAImage } from "./orientation";

const mozjpeg = initEmscriptenModule(mozjpegDecFactory, mozjpegDecWasm);

async function independentDecode(bytes: Uint8Array): Promise<RGBAImage> {
	const img = (await mozjpeg).decode(bytes, true);
	if (!img) throw new Error("mozjpeg could not decode");
	return { data: img.data, width: img.width, height: img.height };
}

/** Mean of each k×k block (the image's sides are cut to multiples of k). */
function boxDown(img: RGBAImage, k: number): RGBAImage {
	const width = Math.floor(img.width / k);
	const height = Math.floor(img.height / k);
	const data = new Uint8ClampedArray(width * height * 4);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			for (let c = 0; c < 4; c++) {
				let sum = 0;
				for (let dy = 0; dy < k; dy++) {
					for (let dx = 0; dx < k; dx++) {
						sum += img.data[((y * k + dy) * img.width + x * k + dx) * 4 + c] as number;
					}
				}
				data[(y * width + x) * 4 + c] = sum / (k * k);
			}
		}
	}
	return { data, width, height };
}

/** The width × height window of img at (x0, y0). */
function cut(img: RGBAImage, width: number, height: number, x0 = 0, y0 = 0): RGBAImage {
	const data = new Uint8ClampedArray(width * height * 4);
	for (let y = 0; y < height; y++) {
		const from = ((y0 + y) * img.width + x0) * 4;
		data.set(img.data.subarray(from, from + width * 4), y * width * 4);
	}
	return { data, width, height };
}

const PHOTOS = [
	["baseline 4:2:0", "originals/2025/09/harbour-friends-scaled.jpeg"],
	["progressive", "originals/2025/09/garden-progressive.jpg"],
	["72-scan progressive", "hostile/progressive-many-scans.jpg"],
	["greyscale", "hostile/gray.jpg"],
	["tiny", "originals/2025/09/autumn-tiny.jpg"],
] as const;

describe("decodeJpeg", () => {
	it.each(PHOTOS)("%s: exactly the pixels of mozjpeg's decoder", async (_, file) => {
		const bytes = await fixtureBytes(file);
		const ours = await decodeJpeg(bytes);
		const theirs = await independentDecode(bytes);
		expect([ours.width, ours.height]).toEqual([theirs.width, theirs.height]);
		// Both are libjpeg-turbo's accurate integer IDCT and fancy upsampling
		// (ours with WASM SIMD routines, theirs plain C): the same pixels exactly.
		expect(psnr(ours, theirs)).toBe(Number.POSITIVE_INFINITY);
	});

	it.each([1, 2, 3, 4, 5, 6, 7])(
		"at %i/8: libjpeg's rounded-up size, and the picture of a full decode scaled down",
		async (m) => {
			const bytes = await fixtureBytes("originals/2025/09/harbour-friends-scaled.jpeg");
			const full = await decodeJpeg(bytes);
			const small = await decodeJpeg(bytes, m);
			expect([small.width, small.height]).toEqual([
				Math.ceil((full.width * m) / 8),
				Math.ceil((full.height * m) / 8),
			]);
			// For 1/8, 2/8 and 4/8 each decoded pixel covers a k×k block exactly.
			if (8 % m === 0) {
				const k = 8 / m;
				const box = boxDown(full, k);
				const aligned = psnr(cut(small, box.width, box.height), box);
				expect(aligned).toBeGreaterThan(30);
				// …and clearly further from the same picture one block to the side.
				const w = box.width - 1;
				const side = psnr(cut(small, w, box.height, 1), cut(box, w, box.height));
				expect(side).toBeLessThan(aligned - 3);
			}
		},
	);

	it.each([0, 9, 2.5])("refuses a scale of %s/8", async (m) => {
		const bytes = await fixtureBytes("originals/2025/09/autumn-tiny.jpg");
		await expect(decodeJpeg(bytes, m)).rejects.toThrow(RangeError);
	});
});

describe("encodeJpeg", () => {
	it.each([
		[0, 1],
		[0, 2],
		[3, 2],
	] as const)(
		"tables %i, chroma 1/%i: decodes back to the input",
		async (tables, chromaSubsample) => {
			const src = await decodeJpeg(
				await fixtureBytes("originals/2025/09/harbour-friends-scaled.jpeg"),
				2,
			);
			const jpeg = await encodeJpeg(src, {
				quality: 82,
				progressive: false,
				tables,
				chromaSubsample,
			});
			const back = await decodeJpeg(jpeg);
			expect([back.width, back.height]).toEqual([src.width, src.height]);
			expect(psnr(back, src)).toBeGreaterThan(36);
			// A baseline file: SOF0, not SOF2.
			const sof = jpeg.findIndex(
				(v, i) => v === 0xff && (jpeg[i + 1] === 0xc0 || jpeg[i + 1] === 0xc2),
			);
			expect(jpeg[sof + 1]).toBe(0xc0);
		},
	);

	it("progressive files are SOF2 and the same picture", async () => {
		const src = await decodeJpeg(
			await fixtureBytes("originals/2025/09/harbour-friends-scaled.jpeg"),
			2,
		);
		const base = await encodeJpeg(src, { quality: 82, progressive: false });
		const prog = await encodeJpeg(src, { quality: 82, progressive: true });
		expect(prog.some((v, i) => v === 0xff && prog[i + 1] === 0xc2)).toBe(true);
		expect(psnr(await decodeJpeg(prog), await decodeJpeg(base))).toBe(Number.POSITIVE_INFINITY);
	});

	it("higher quality: more bytes, closer to the input", async () => {
		const src = await decodeJpeg(await fixtureBytes("originals/2025/09/garden-progressive.jpg"), 2);
		const low = await encodeJpeg(src, { quality: 60, progressive: false });
		const high = await encodeJpeg(src, { quality: 90, progressive: false });
		expect(high.byteLength).toBeGreaterThan(low.byteLength);
		expect(psnr(await decodeJpeg(high), src)).toBeGreaterThan(psnr(await decodeJpeg(low), src) + 2);
	});
});
