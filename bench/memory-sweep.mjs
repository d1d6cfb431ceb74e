#!/usr/bin/env node
// Peak memory and time for every registered size of big JPEG originals
// (8, 24, 50, 100 MP at 3:2, the seed photo enlarged by sharp at quality 90),
// each in a fresh workerd isolate through the /__bench routes:
//   node bench/memory-sweep.mjs [--sizes 8,24,50,100] [--full] [--wp-core] [--pass]
// --full decodes the shared path at full size (the worst case) instead of
// the scale the sizes need; streamed sources always use their own scales.
// Prints one line per source: all sizes' wall time, peak WASM heaps, and
// what JS held (a shared decode's RGBA, or a streamed source's file).
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { seedingProxy, startLocal } from "./local.mjs";

const { values: opts } = parseArgs({
	options: {
		sizes: { type: "string", default: "8,24,50,100" },
		full: { type: "boolean", default: false },
		"wp-core": { type: "boolean", default: false },
		pass: { type: "boolean", default: false },
	},
});
const root = new URL("../", import.meta.url).pathname;
const DIR = "2025/09/";
const resultsDir = join(root, "bench/results");
await mkdir(resultsDir, { recursive: true });
const wrangler = JSON.parse(
	(await readFile(join(root, "wrangler.jsonc"), "utf8"))
		.replace(/^\s*\/\/.*$/gm, "")
		.replace(/,(\s*[}\]])/g, "$1"),
);
const persist = await mkdtemp(join(tmpdir(), "wp-edge-sweep-"));
const MB = 2 ** 20;
const mb = (n) => `${(n / MB).toFixed(1)} MB`;

const sources = opts.sizes.split(",").map((mp) => {
	const width = Math.floor(Math.sqrt(Number(mp) * 1e6 * 1.5) / 8) * 8;
	return { mp, width, height: Math.floor((width * 2) / 3) };
});
// --wp-core adds WordPress core's 1536x1536 and 2048x2048 to the registry.
const sizes = JSON.parse(wrangler.vars.IMAGE_SIZES);
if (opts["wp-core"]) {
	sizes["1536x1536"] = { width: 1536, height: 1536, crop: false };
	sizes["2048x2048"] = { width: 2048, height: 2048, crop: false };
}

{
	const proxy = await seedingProxy(persist);
	const seed = await readFile(
		join(root, "fixtures/originals", DIR, "AdobeStock_1228396051_Editorial_Use_Only.jpeg"),
	);
	for (const s of sources) {
		const bytes = await sharp(seed, { limitInputPixels: false })
			.resize(s.width, s.height, { fit: "fill" })
			.jpeg({ quality: 90, mozjpeg: false })
			.toBuffer();
		s.fileBytes = bytes.byteLength;
		await proxy.env.ORIGINALS.put(`${DIR}sweep-${s.mp}mp.jpg`, new Uint8Array(bytes));
	}
	await proxy.dispose();
}

let seq = 0;
async function fresh() {
	const path = join(resultsDir, `wrangler.sweep.${++seq}.json`);
	const buckets = wrangler.r2_buckets.filter((b) => b.binding !== "DERIVATIVES");
	const config = {
		...wrangler,
		$schema: undefined,
		name: "bench-sweep",
		main: join(root, "src/index.ts"),
		r2_buckets: buckets,
		observability: undefined,
		vars: { ...wrangler.vars, IMAGE_SIZES: JSON.stringify(sizes), BENCH_ROUTES: "1" },
	};
	await writeFile(path, JSON.stringify(config, null, 2));
	return startLocal(path, persist);
}

async function json(worker, path) {
	const res = await worker.fetch(`http://bench.local${path}`);
	const text = await res.text();
	if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
	return JSON.parse(text);
}

for (const s of sources) {
	// A fresh isolate per source: WASM memories only grow.
	const worker = await fresh();
	let all;
	let stats;
	try {
		// --pass: streamed sources as the fan-out makes them (one decode per pass of sizes).
		const query = opts.full ? "?full=1" : opts.pass ? "?pass=1" : "";
		all = await json(worker, `/__bench/all/${DIR}sweep-${s.mp}mp-150x150.jpg${query}`);
		stats = await json(worker, "/__bench/stats");
	} finally {
		await worker.dispose();
	}
	const wasm = Object.values(stats.wasmPeak).reduce((a, b) => a + b, 0);
	// The largest size's RGBA in JS, resized then oriented (two copies at most).
	const largest = Math.max(...Object.values(sizes).map((z) => z.width * z.width));
	const largestOut = 2 * largest * (2 / 3) * 4;
	const js = all.decodedBytes + all.compressedBytes;
	console.log(
		`${s.mp} MP ${s.width}x${s.height} (${mb(s.fileBytes)}): ${all.sizes.length} sizes in ${all.ms.toFixed(0)} ms; ` +
			`peak WASM ${Object.entries(stats.wasmPeak)
				.filter(([, v]) => v > 0)
				.map(([k, v]) => `${k} ${mb(v)}`)
				.join(
					", ",
				)} = ${mb(wasm)}; JS held ${all.decodedBytes ? `decode ${mb(all.decodedBytes)}` : `file ${mb(all.compressedBytes)}`}; ` +
			`total ${mb(wasm + js)} (+ one size's pixels, ≤ ${mb(largestOut)})`,
	);
}
