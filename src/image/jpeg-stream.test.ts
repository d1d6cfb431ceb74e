/**
 * Streaming JPEG decode (jpegRows → resizeRows): the same pixels as the whole
 * decode followed by the same resize, for cropped windows (only their iMCU
 * columns decoded, the rows above skipped) at every DCT scale, for 4:2:0,
 * 4:4:4 and progressive files; and the decoder's memory stays rows, not the
 * image.
 */
import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { psnr } from "../../test/images";
import { decodeJpeg, jpegRows, scaledSide } from "./jpeg";
import type { RGBAImage } from "./orientation";
import { probeImage } from "./probe";
import { resizeRGBA, resizeRows, resizeRowsMany, type SourceWindow } from "./resize";
import { codecStats, resetCodecs, wasmPeakMemory } from "./wasm-lazy";

const DIR = "originals/2025/09/";
const options = { filter: "lanczos3", premultiply: false, shrinkGap: 3 } as const;

function maxDiff(a: RGBAImage, b: RGBAImage): number {
	let m = 0;
	for (let i = 0; i < a.data.length; i++) {
		m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
	}
	return m;
}

async function both(
	file: string,
	scale: number,
	crop: (w: number, h: number) => SourceWindow,
	out: [number, number],
) {
	const bytes = await fixtureBytes(DIR + file);
	const probed = probeImage(bytes);
	if (!probed.ok) throw new Error(`no header: ${file}`);
	const stored = { width: probed.info.width, height: probed.info.height };
	const win = crop(scaledSide(stored.width, scale), scaledSide(stored.height, scale));
	const whole = await decodeJpeg(bytes, scale);
	const want = await resizeRGBA(whole, win, out[0], out[1], options);
	const got = await jpegRows(bytes, scale, stored, (rows) =>
		resizeRows(rows, win, out[0], out[1], options),
	);
	return { got, want };
}

describe("streamed JPEG decode into the resize kernel", () => {
	const cases: [string, number, string, [number, number]][] = [];
	for (const file of [
		"AdobeStock_1228396051_Editorial_Use_Only.jpeg",
		"elephants-phone.jpg",
		"garden-progressive.jpg",
	]) {
		for (const scale of [1, 3, 4, 8]) {
			cases.push([file, scale, "whole", [150, 100]]);
			cases.push([file, scale, "middle", [150, 150]]);
			cases.push([file, scale, "corner", [97, 61]]);
		}
	}
	const windows: Record<string, (w: number, h: number) => SourceWindow> = {
		whole: (w, h) => ({ x: 0, y: 0, w, h }),
		// A centred square: only about the middle two thirds of a 3:2 photo's columns.
		middle: (w, h) => {
			const s = Math.min(w, h);
			return { x: (w - s) / 2, y: (h - s) / 2, w: s, h: s };
		},
		// Fractional edges, away from both image edges.
		corner: (w, h) => ({ x: w * 0.613, y: h * 0.377, w: w * 0.31, h: h * 0.41 }),
	};
	it.each(cases)(
		"%s at %i/8, %s window → %j: the whole decode's pixels",
		async (file, scale, win, out) => {
			const { got, want } = await both(
				file,
				scale,
				windows[win] ?? ((w, h) => ({ x: 0, y: 0, w, h })),
				out,
			);
			expect([got.width, got.height]).toEqual(out);
			// Exact, but where a cropped iMCU edge meets chroma upsampling (off by one).
			const diff = maxDiff(got, want);
			if (diff > 0) expect(psnr(got, want)).toBeGreaterThanOrEqual(45);
			expect(diff).toBeLessThanOrEqual(1);
		},
	);

	it("decodes only the rows and columns of the window (a corner of the seed photo)", async () => {
		const bytes = await fixtureBytes(`${DIR}AdobeStock_1228396051_Editorial_Use_Only.jpeg`);
		const stored = { width: 3264, height: 2176 };
		const before = codecStats.decodedPixels;
		const win = { x: 2400, y: 1500, w: 600, h: 400 };
		await jpegRows(bytes, 8, stored, (rows) => resizeRows(rows, win, 60, 40, options));
		const decoded = codecStats.decodedPixels - before;
		// Columns widened to iMCUs (16 px) and the filter's taps; rows from the window's top down.
		expect(decoded).toBeLessThan(700 * (2176 - 1490));
		expect(decoded).toBeGreaterThanOrEqual(600 * (2176 - 1500));
	});

	it("holds rows, not the image: a full-size stream of the 7 MP seed photo keeps both heaps small", async () => {
		resetCodecs();
		const bytes = await fixtureBytes(`${DIR}AdobeStock_1228396051_Editorial_Use_Only.jpeg`);
		const stored = { width: 3264, height: 2176 };
		const win = { x: 0, y: 0, w: 3264, h: 2176 };
		const out = await jpegRows(bytes, 8, stored, (rows) =>
			resizeRows(rows, win, 2560, 1707, options),
		);
		expect([out.width, out.height]).toEqual([2560, 1707]);
		const peak = wasmPeakMemory();
		// The whole decode alone is 28 MB of RGBA; the stream holds the file and a few rows.
		expect(peak.jpeg).toBeLessThan(8 * 2 ** 20);
		// The kernel's heap is the 17 MB output plus a few rows.
		expect(peak.resize).toBeLessThan(2560 * 1707 * 4 + 4 * 2 ** 20);
	});

	it("a corrupt file is a 422 and the next stream works", async () => {
		const bytes = (await fixtureBytes(`${DIR}elephants-phone.jpg`)).slice();
		const dht = bytes.findIndex((v, i) => v === 0xff && bytes[i + 1] === 0xc4);
		bytes.fill(0xff, dht + 5, dht + 21);
		const stored = { width: 1600, height: 900 };
		const win = { x: 0, y: 0, w: 1600, h: 900 };
		await expect(
			jpegRows(bytes, 8, stored, (rows) => resizeRows(rows, win, 160, 90, options)),
		).rejects.toMatchObject({ status: 422, publicMessage: "Could not decode JPEG" });
		const { got, want } = await both(
			"elephants-phone.jpg",
			8,
			(w, h) => ({ x: 0, y: 0, w, h }),
			[160, 90],
		);
		expect(maxDiff(got, want)).toBeLessThanOrEqual(8);
	});
});

describe("one streamed decode feeding several resize kernels", () => {
	it("gives each size the pixels of its own resize from the same decode", async () => {
		const bytes = await fixtureBytes(`${DIR}AdobeStock_1228396051_Editorial_Use_Only.jpeg`);
		const stored = { width: 3264, height: 2176 };
		const scale = 4;
		const [w, h] = [scaledSide(3264, scale), scaledSide(2176, scale)];
		const whole = { x: 0, y: 0, w, h };
		const targets = [
			{ win: { x: (w - h) / 2, y: 0, w: h, h }, width: 150, height: 150, options },
			{ win: whole, width: 730, height: 487, options },
			{ win: { x: 0, y: h * 0.18, w, h: h * 0.64 }, width: 800, height: 340, options },
			{ win: { x: 100.5, y: 40.25, w: 900, h: 700 }, width: 97, height: 61, options },
		];
		const many = await jpegRows(bytes, scale, stored, (rows) => resizeRowsMany(rows, targets));
		const decoded = await decodeJpeg(bytes, scale);
		for (const [k, t] of targets.entries()) {
			const want = await resizeRGBA(decoded, t.win, t.width, t.height, t.options);
			expect([many[k]?.width, many[k]?.height]).toEqual([t.width, t.height]);
			expect(maxDiff(many[k] as RGBAImage, want), `${t.width}x${t.height}`).toBe(0);
		}
	});
});
