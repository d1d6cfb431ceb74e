import webpDecFactory from "@jsquash/webp/codec/dec/webp_dec.js";
import webpDecWasm from "@jsquash/webp/codec/dec/webp_dec.wasm";
import { initEmscriptenModule } from "@jsquash/webp/utils.js";
import { describe, expect, it } from "vitest";
import { firstDifference, fixtureBytes } from "../../test/helpers";
import { psnr } from "../../test/images";
import { UnprocessableError } from "../http/errors";
import type { RGBAImage } from "./orientation";
import type { RowSource } from "./resize";
import { decodeWebp, type WebpRegion, webpRows } from "./webp";

/** Every still WebP fixture: lossy (simple and VP8X), lossless, lossy + alpha. */
const FIXTURES = [
	"originals/2024/11/big-photo-scaled.webp",
	"originals/2024/11/big-photo-150x150.webp",
	"originals/2024/11/big-photo-2048x1365.webp",
	"originals/2024/11/photo.webp",
	"originals/2024/11/photo-300x188.webp",
	"originals/2025/09/garden-lossy.webp",
	"originals/2025/09/badge-lossless.webp",
	"originals/2025/09/cups-alpha.webp",
	"hostile/small.webp",
];

const PHOTO = "originals/2024/11/big-photo-scaled.webp"; // 2560x1706 lossy

async function jsquashDecode(bytes: Uint8Array): Promise<RGBAImage> {
	const m = await initEmscriptenModule(webpDecFactory, webpDecWasm);
	const image = m.decode(bytes);
	if (!image) throw new Error("jSquash could not decode");
	return { data: image.data, width: image.width, height: image.height };
}

/** Rows y0.. and columns x0..x0+w-1 of a streamed region, read `chunk` rows at a time. */
function collect(x0: number, y0: number, w: number, chunk: number) {
	return async (rows: RowSource): Promise<RGBAImage> => {
		const h = rows.height - y0;
		const data = new Uint8ClampedArray(w * h * 4);
		rows.begin(x0, y0, w, h, chunk);
		try {
			for (let y = 0; y < h; y += chunk) {
				const n = Math.min(chunk, h - y);
				const into = new Uint8Array(w * n * 4);
				await rows.read(y0 + y, n, into);
				data.set(into, y * w * 4);
			}
		} finally {
			rows.end();
		}
		return { data, width: w, height: h };
	};
}

const whole = (info: { width: number; height: number }): WebpRegion => ({
	x: 0,
	y: 0,
	w: info.width,
	h: info.height,
	width: info.width,
	height: info.height,
});

/** Exact k × k area average (the image's sides divisible by k). */
function boxShrink(src: RGBAImage, k: number): RGBAImage {
	const width = src.width / k;
	const height = src.height / k;
	const data = new Uint8ClampedArray(width * height * 4);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			for (let c = 0; c < 4; c++) {
				let s = 0;
				for (let dy = 0; dy < k; dy++) {
					for (let dx = 0; dx < k; dx++) {
						s += src.data[((y * k + dy) * src.width + x * k + dx) * 4 + c] ?? 0;
					}
				}
				data[(y * width + x) * 4 + c] = Math.round(s / (k * k));
			}
		}
	}
	return { data, width, height };
}

describe("our WebP decoder, whole", () => {
	it.each(FIXTURES)("%s: the same pixels as jSquash's decoder", async (path) => {
		const bytes = await fixtureBytes(path);
		const theirs = await jsquashDecode(bytes);
		const ours = await decodeWebp(bytes);
		expect([ours.width, ours.height]).toEqual([theirs.width, theirs.height]);
		expect(firstDifference(ours.data, theirs.data)).toBe(-1);
	});

	it("a truncated file is a 422 naming the truncation", async () => {
		const bytes = await fixtureBytes(PHOTO);
		const err = await decodeWebp(bytes.subarray(0, bytes.length >> 1)).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(UnprocessableError);
		expect((err as UnprocessableError).publicMessage).toMatch(/truncated/);
	});
});

describe("our WebP decoder, streamed (lossy, cropped and scaled by libwebp)", () => {
	it("the whole image at its own size: the whole decode's pixels but for chroma upsampling", async () => {
		const bytes = await fixtureBytes(PHOTO);
		const full = await decodeWebp(bytes);
		const streamed = await webpRows(bytes, whole(full), collect(0, 0, full.width, 16));
		expect([streamed.width, streamed.height]).toEqual([full.width, full.height]);
		// (linear chroma expansion in the rescaler, not the fancy upsampler)
		expect(psnr(streamed, full)).toBeGreaterThan(50);
	});

	it("scaled: an area average of the region, as it is decoded", async () => {
		const bytes = await fixtureBytes(PHOTO);
		const full = await decodeWebp(bytes);
		const top = { data: full.data.subarray(0, 2560 * 1704 * 4), width: 2560, height: 1704 };
		const region = { x: 0, y: 0, w: 2560, h: 1704, width: 640, height: 426 };
		const streamed = await webpRows(bytes, region, collect(0, 0, 640, 5));
		expect(psnr(streamed, boxShrink(top, 4))).toBeGreaterThan(40);
	});

	it("rows from any first row, columns from any first column, any chunk", async () => {
		const bytes = await fixtureBytes(PHOTO);
		const region = { x: 200, y: 100, w: 1000, h: 800, width: 500, height: 400 };
		const all = await webpRows(bytes, region, collect(0, 0, 500, 16));
		const part = await webpRows(bytes, region, collect(100, 37, 300, 7));
		for (let y = 0; y < part.height; y++) {
			const from = ((y + 37) * 500 + 100) * 4;
			const row = all.data.subarray(from, from + 300 * 4);
			expect(firstDifference(part.data.subarray(y * 1200, (y + 1) * 1200), row), `row ${y}`).toBe(
				-1,
			);
		}
	});

	it.each([
		["lossless", "originals/2025/09/badge-lossless.webp"],
		["alpha", "originals/2025/09/cups-alpha.webp"],
	])("a %s file is refused (422): libwebp would hold it whole", async (_, path) => {
		const bytes = await fixtureBytes(path);
		const full = await decodeWebp(bytes);
		const err = await webpRows(bytes, whole(full), collect(0, 0, full.width, 16)).catch(
			(e: unknown) => e,
		);
		expect(err).toBeInstanceOf(UnprocessableError);
		expect((err as Error).message).toMatch(/unsupported feature/);
	});

	it("a file cut short after its header (sizes patched to match) fails mid-stream: 422", async () => {
		const bytes = await fixtureBytes(PHOTO);
		const cut = bytes.slice(0, Math.floor(bytes.length * 0.6));
		const view = new DataView(cut.buffer);
		view.setUint32(4, cut.length - 8, true); // RIFF size
		view.setUint32(16, cut.length - 20, true); // VP8 chunk size
		let rowsRead = 0;
		const counting = collect(0, 0, 2560, 16);
		const err = await webpRows(cut, whole({ width: 2560, height: 1706 }), (rows) =>
			counting({
				...rows,
				begin: rows.begin.bind(rows),
				end: rows.end.bind(rows),
				read: (y, n, into) => {
					rows.read(y, n, into);
					rowsRead += n;
				},
			}),
		).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(UnprocessableError);
		expect((err as UnprocessableError).publicMessage).toMatch(/truncated/);
		expect(rowsRead).toBeGreaterThan(0);
	});
});
