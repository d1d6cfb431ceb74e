#!/usr/bin/env node
// node bench/avif.mjs: choose AVIF_DEFAULTS from measurements. For each size
// WordPress makes of three photos (the seed photo and two fixtures), resize
// once with sharp (lanczos3, the reference), then encode with the same codec
// builds the worker uses (jSquash's libavif/libaom and libwebp; JPEG through
// sharp's libjpeg-turbo, baseline 4:2:0 at JPEG_QUALITY, as ours) and compare
// bytes at equal SSIM (luma, 8×8 windows, as bench/run.mjs). Prints Markdown.
//
//   node bench/avif.mjs [--speeds 6,7,8,9] [--qualities 35,40,45,50,55,60,65]
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import avifEncode, { init as avifInit } from "@jsquash/avif/encode.js";
import webpEncode, { init as webpInit } from "@jsquash/webp/encode.js";
import sharp from "sharp";
import { ssim } from "./metrics.mjs";

const { values: opts } = parseArgs({
	options: {
		speeds: { type: "string", default: "6,7,8,9" },
		qualities: { type: "string", default: "35,40,45,50,55,60,65" },
	},
});
const SPEEDS = opts.speeds.split(",").map(Number);
const QUALITIES = opts.qualities.split(",").map(Number);
const require = createRequire(import.meta.url);
const root = new URL("../", import.meta.url).pathname;
await avifInit({
	wasmBinary: await readFile(require.resolve("@jsquash/avif/codec/enc/avif_enc.wasm")),
});
await webpInit({
	wasmBinary: await readFile(require.resolve("@jsquash/webp/codec/enc/webp_enc_simd.wasm")),
});
sharp.cache(false);

const DIR = `${root}fixtures/originals/2025/09/`;
const PHOTOS = [
	{ id: "seed", file: "AdobeStock_1228396051_Editorial_Use_Only-scaled.jpeg" },
	{ id: "harbour", file: "harbour-friends-scaled.jpeg" },
	{ id: "cups", file: "colorful-cups.jpg" },
];
// The seed site's registered sizes (wrangler.jsonc IMAGE_SIZES), as resize boxes.
const SIZES = [
	[150, 150, true],
	[730, 487, false],
	[510, 320, true],
	[600, 420, true],
	[800, 340, true],
	[1200, 628, true],
	[1200, 800, false],
];
const JPEG_QUALITY = 82;
const WEBP_QUALITY = 80; // NEGOTIATED_WEBP_QUALITY

async function pixels(bytes) {
	const { data, info } = await sharp(bytes)
		.removeAlpha()
		.raw()
		.toBuffer({ resolveWithObject: true });
	return { data, width: info.width, height: info.height, channels: 3 };
}

async function timed(fn) {
	const t0 = performance.now();
	const out = await fn();
	return { out: new Uint8Array(out), ms: performance.now() - t0 };
}

const rows = [];
for (const photo of PHOTOS) {
	const src = await readFile(DIR + photo.file);
	for (const [w, h, crop] of SIZES) {
		const resized = sharp(src)
			.rotate()
			.resize(w, h, {
				fit: crop ? "cover" : "inside",
				kernel: "lanczos3",
				withoutEnlargement: true,
			});
		const { data, info } = await resized.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
		const rgba = { data: new Uint8ClampedArray(data), width: info.width, height: info.height };
		const ref = { data, width: info.width, height: info.height, channels: 4 };
		const jpeg = await timed(() =>
			sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
				.removeAlpha()
				.jpeg({
					quality: JPEG_QUALITY,
					mozjpeg: false,
					chromaSubsampling: "4:2:0",
					optimiseCoding: true,
				})
				.toBuffer(),
		);
		const webp = await timed(() => webpEncode(rgba, { quality: WEBP_QUALITY }));
		const row = {
			photo: photo.id,
			size: `${info.width}x${info.height}`,
			jpeg: { bytes: jpeg.out.byteLength, ssim: ssim(await pixels(jpeg.out), ref), ms: jpeg.ms },
			webp: { bytes: webp.out.byteLength, ssim: ssim(await pixels(webp.out), ref), ms: webp.ms },
			avif: {},
		};
		for (const speed of SPEEDS) {
			for (const quality of QUALITIES) {
				// The quality sweep at speed 8; other speeds at 50 and 60 only (time).
				if (speed !== 8 && quality !== 50 && quality !== 60) continue;
				const a = await timed(() => avifEncode(rgba, { quality, speed, qualityAlpha: 100 }));
				row.avif[`s${speed}q${quality}`] = {
					bytes: a.out.byteLength,
					ssim: ssim(await pixels(a.out), ref),
					ms: a.ms,
				};
			}
		}
		rows.push(row);
		console.error(`· ${row.photo} ${row.size}`);
	}
}

/** Bytes of the AVIF at speed s whose SSIM matches `target`, by linear interpolation over the sweep. */
function bytesAtSsim(row, speed, target) {
	const pts = Object.entries(row.avif)
		.filter(([k]) => k.startsWith(`s${speed}q`))
		.map(([, v]) => v)
		.sort((a, b) => a.ssim - b.ssim);
	for (let i = 1; i < pts.length; i++) {
		const a = pts[i - 1];
		const b = pts[i];
		if (target >= a.ssim && target <= b.ssim) {
			const t = (target - a.ssim) / (b.ssim - a.ssim || 1);
			return a.bytes + t * (b.bytes - a.bytes);
		}
	}
	return Number.NaN;
}

const kb = (b) => (Number.isFinite(b) ? (b / 1024).toFixed(1) : "–");
const f3 = (x) => x.toFixed(4);
console.log(
	"| photo | size | JPEG q82 KB | SSIM | WebP q80 KB | SSIM | AVIF s8 q50 KB | SSIM | AVIF s8 q60 KB | SSIM | AVIF s8 KB at WebP's SSIM | at JPEG's SSIM | AVIF ms s6/s7/s8/s9 (q50) |",
);
console.log("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");
for (const r of rows) {
	const a50 = r.avif.s8q50;
	const a60 = r.avif.s8q60;
	const ms = SPEEDS.map((s) => r.avif[`s${s}q50`]?.ms.toFixed(0) ?? "–").join("/");
	console.log(
		`| ${r.photo} | ${r.size} | ${kb(r.jpeg.bytes)} | ${f3(r.jpeg.ssim)} | ${kb(r.webp.bytes)} | ${f3(r.webp.ssim)} | ${kb(a50.bytes)} | ${f3(a50.ssim)} | ${kb(a60.bytes)} | ${f3(a60.ssim)} | ${kb(bytesAtSsim(r, 8, r.webp.ssim))} | ${kb(bytesAtSsim(r, 8, r.jpeg.ssim))} | ${ms} |`,
	);
}
console.log("");
console.log("| speed | quality | total KB (21 sizes) | mean SSIM | total encode ms |");
console.log("|--:|--:|--:|--:|--:|");
const keys = Object.keys(rows[0].avif);
for (const k of keys) {
	const sum = (f) => rows.reduce((s, r) => s + f(r.avif[k]), 0);
	const [, s, q] = /s(\d+)q(\d+)/.exec(k);
	console.log(
		`| ${s} | ${q} | ${kb(sum((v) => v.bytes))} | ${f3(sum((v) => v.ssim) / rows.length)} | ${sum((v) => v.ms).toFixed(0)} |`,
	);
}
const tot = (f) => rows.reduce((s, r) => s + f(r), 0);
console.log(
	`| WebP q80 | | ${kb(tot((r) => r.webp.bytes))} | ${f3(tot((r) => r.webp.ssim) / rows.length)} | ${tot((r) => r.webp.ms).toFixed(0)} |`,
);
console.log(
	`| JPEG q82 | | ${kb(tot((r) => r.jpeg.bytes))} | ${f3(tot((r) => r.jpeg.ssim) / rows.length)} | ${tot((r) => r.jpeg.ms).toFixed(0)} |`,
);
