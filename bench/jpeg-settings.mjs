// Lever probe (not part of npm run bench): mozjpeg settings on the same pixels
// (sharp lanczos3 from the full upload) — bytes, PSNR and encode time against
// sharp q82. Run: node bench/jpeg-settings.mjs
import { readFile } from "node:fs/promises";
import encode, { init } from "@jsquash/jpeg/encode.js";
import sharp from "sharp";

const nm = new URL("../node_modules/@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm", import.meta.url);
await init(await WebAssembly.compile(await readFile(nm)));
sharp.cache(false);
const src = await readFile(
	"fixtures/originals/2025/09/AdobeStock_1228396051_Editorial_Use_Only.jpeg",
);
const cups = await readFile("fixtures/originals/2025/09/colorful-cups.jpg");
const psnr = (a, b) => {
	let s = 0;
	for (let i = 0; i < a.length; i++) {
		const d = a[i] - b[i];
		s += d * d;
	}
	return 10 * Math.log10((255 * 255) / (s / a.length));
};
for (const [label, buf, w, h] of [
	["seed", src, 1200, 800],
	["seed", src, 730, 487],
	["cups", cups, 1200, 750],
]) {
	const { data } = await sharp(buf)
		.resize(w, h, { fit: "fill", kernel: "lanczos3" })
		.ensureAlpha()
		.raw()
		.toBuffer({ resolveWithObject: true });
	const ref = await sharp(data, { raw: { width: w, height: h, channels: 4 } })
		.removeAlpha()
		.raw()
		.toBuffer();
	const rgba = { data: new Uint8ClampedArray(data), width: w, height: h };
	const t0 = performance.now();
	const sj = await sharp(data, { raw: { width: w, height: h, channels: 4 } })
		.jpeg({ quality: 82 })
		.toBuffer();
	const st = performance.now() - t0;
	const sp = psnr(await sharp(sj).removeAlpha().raw().toBuffer(), ref);
	console.log(
		`${label} ${w}x${h} sharp q82: ${sj.length} B psnr ${sp.toFixed(2)} ${st.toFixed(0)}ms`,
	);
	const variants = {
		"prog(default)": { progressive: true },
		baseline: { progressive: false },
		"baseline no-opt": { progressive: false, optimize_coding: false },
		"baseline qt0": { progressive: false, quant_table: 0 },
		"prog qt0": { progressive: true, quant_table: 0 },
		"baseline 444": { progressive: false, auto_subsample: false, chroma_subsample: 1 },
		"prog multipass": { progressive: true, trellis_multipass: true },
	};
	for (const q of [82, 85, 88])
		for (const [name, o] of Object.entries(variants)) {
			if (q !== 82 && !name.startsWith("baseline")) continue;
			const times = [];
			let out;
			for (let i = 0; i < 3; i++) {
				const t = performance.now();
				out = new Uint8Array(await encode(rgba, { quality: q, ...o }));
				times.push(performance.now() - t);
			}
			times.sort((a, b) => a - b);
			const p = psnr(await sharp(out).removeAlpha().raw().toBuffer(), ref);
			console.log(
				`  q${q} ${name.padEnd(16)} ${String(out.length).padStart(7)} B (${(out.length / sj.length).toFixed(2)}) psnr ${p.toFixed(2)} ${times[1].toFixed(0)}ms`,
			);
		}
}
