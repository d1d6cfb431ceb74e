// Lever probe (not part of npm run bench): JPEG encoders and settings on the
// same pixels (sharp lanczos3 from the full upload) — bytes against sharp's
// quality 82, PSNR against the pixels encoded, encode time (medians of 3, in
// Node: the same WASM the worker runs). Our libjpeg-turbo build
// (src/wasm/jpeg.wasm) with the Robidoux (3) or Annex K (0) tables, baseline
// or progressive; jSquash's mozjpeg (trellis always on) for comparison.
// Run: node bench/jpeg-settings.mjs
import { readFile } from "node:fs/promises";
import encodeMozjpeg, { init } from "@jsquash/jpeg/encode.js";
import sharp from "sharp";

const moz = new URL("../node_modules/@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm", import.meta.url);
await init(await WebAssembly.compile(await readFile(moz)));
sharp.cache(false);

let memory;
const { instance } = await WebAssembly.instantiate(
	await readFile(new URL("../src/wasm/jpeg.wasm", import.meta.url)),
	{
		env: {
			fail(ptr) {
				const bytes = new Uint8Array(memory.buffer, ptr);
				throw new Error(new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0))));
			},
		},
		wasi_snapshot_preview1: { fd_close: () => 8, fd_seek: () => 8, fd_write: () => 8 },
	},
);
const ours = instance.exports;
memory = ours.memory;

/** Our encoder, as src/image/jpeg.ts calls it. */
function encodeOurs(rgba, width, height, { quality, progressive = false, tables = 3 }) {
	const input = ours.alloc(rgba.byteLength);
	new Uint8Array(memory.buffer, input, rgba.byteLength).set(rgba);
	const out = ours.encode(input, width, height, quality, progressive ? 1 : 0, 2, tables);
	ours.release(input);
	const length = new Uint32Array(memory.buffer, ours.result(), 4)[2];
	const bytes = new Uint8Array(memory.buffer.slice(out, out + length));
	ours.release(out);
	return bytes;
}

const psnr = (a, b) => {
	let s = 0;
	for (let i = 0; i < a.length; i++) {
		const d = a[i] - b[i];
		s += d * d;
	}
	return 10 * Math.log10((255 * 255) / (s / a.length));
};

const DIR = "fixtures/originals/2025/09/";
const cases = [
	["seed", "AdobeStock_1228396051_Editorial_Use_Only.jpeg", 1200, 800],
	["seed", "AdobeStock_1228396051_Editorial_Use_Only.jpeg", 730, 487],
	["cups", "colorful-cups.jpg", 1200, 750],
	["garden", "garden-progressive.jpg", 730, 456],
	["harbour", "harbour-friends.jpeg", 600, 420],
];
for (const [label, file, w, h] of cases) {
	const { data } = await sharp(await readFile(DIR + file))
		.resize(w, h, { fit: "fill", kernel: "lanczos3" })
		.ensureAlpha()
		.raw()
		.toBuffer({ resolveWithObject: true });
	const ref = await sharp(data, { raw: { width: w, height: h, channels: 4 } })
		.removeAlpha()
		.raw()
		.toBuffer();
	const t0 = performance.now();
	const sj = await sharp(data, { raw: { width: w, height: h, channels: 4 } })
		.jpeg({ quality: 82 })
		.toBuffer();
	const st = performance.now() - t0;
	const sp = psnr(await sharp(sj).removeAlpha().raw().toBuffer(), ref);
	console.log(
		`${label} ${w}x${h} sharp q82: ${sj.length} B psnr ${sp.toFixed(2)} ${st.toFixed(0)}ms`,
	);
	const rgba = new Uint8ClampedArray(data);
	const variants = [
		["ours q82 (worker)", () => encodeOurs(rgba, w, h, { quality: 82 })],
		["ours q78", () => encodeOurs(rgba, w, h, { quality: 78 })],
		["ours q86", () => encodeOurs(rgba, w, h, { quality: 86 })],
		["ours q82 progressive", () => encodeOurs(rgba, w, h, { quality: 82, progressive: true })],
		["ours q82 Annex K", () => encodeOurs(rgba, w, h, { quality: 82, tables: 0 })],
		[
			"mozjpeg q82 trellis",
			async () =>
				new Uint8Array(
					await encodeMozjpeg(
						{ data: rgba, width: w, height: h },
						{ quality: 82, baseline: true, progressive: false },
					),
				),
		],
	];
	for (const [name, run] of variants) {
		const times = [];
		let out;
		for (let i = 0; i < 3; i++) {
			const t = performance.now();
			out = await run();
			times.push(performance.now() - t);
		}
		times.sort((a, b) => a - b);
		const p = psnr(await sharp(out).removeAlpha().raw().toBuffer(), ref);
		console.log(
			`  ${name.padEnd(22)} ${String(out.length).padStart(7)} B (${(out.length / sj.length).toFixed(2)}) psnr ${p.toFixed(2)} (${(p - sp >= 0 ? "+" : "") + (p - sp).toFixed(2)}) ${times[1].toFixed(0)}ms`,
		);
	}
}
