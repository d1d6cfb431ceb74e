/**
 * What a miss costs: workerd's own CPU time (utime + stime of this script's
 * workerd processes, read from /proc before and after), with the default
 * config (wrangler.jsonc as shipped), per derivative made, priced at Workers'
 * published CPU rate against Cloudflare Images' price per unique
 * transformation. Each upload is a fresh copy, so no decode is shared with an
 * earlier one; its sizes are asked for as a page would, then the background
 * work (queue, tier) is let finish before the CPU is read again.
 *
 *   node bench/cost.mjs [--uploads 6]
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { workerdCpuMs } from "./cpu.mjs";
import { seedingProxy, startLocal } from "./local.mjs";

const root = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({ options: { uploads: { type: "string", default: "6" } } });
const UPLOADS = Number(values.uploads);
/** Workers Standard: $0.02 per million CPU ms (developers.cloudflare.com/workers/platform/pricing/). */
const USD_PER_CPU_MS = 0.02 / 1e6;
/** Workers Standard: $0.30 per million requests (same page). */
const USD_PER_REQUEST = 0.3 / 1e6;
/** Cloudflare Images: $0.50 per 1,000 unique transformations (developers.cloudflare.com/images/pricing/). */
const USD_PER_TRANSFORMATION = 0.5 / 1000;

const FIXTURES = [
	["seed JPEG 2560x1707", "2025/09/AdobeStock_1228396051_Editorial_Use_Only-scaled.jpeg", "jpeg"],
	["goldfish PNG 1400x923", "2025/09/goldfish.png", "png"],
];
const SIZES = JSON.parse(
	(await readFile(join(root, "wrangler.jsonc"), "utf8"))
		.match(/"IMAGE_SIZES": "(.*)"/)[1]
		.replaceAll('\\"', '"'),
);

const persist = await mkdtemp(join(tmpdir(), "wp-edge-cost-"));
const proxy = await seedingProxy(persist);
for (const [, key] of FIXTURES) {
	const bytes = new Uint8Array(await readFile(join(root, "fixtures/originals", key)));
	for (let i = 0; i < UPLOADS; i++)
		await proxy.env.ORIGINALS.put(key.replace(/((?:-scaled)?\.[a-z]+)$/, `-cost${i}$1`), bytes);
}
await proxy.dispose();

const worker = await startLocal(join(root, "wrangler.jsonc"), persist);

const rows = [];
for (const [label, key, format] of FIXTURES) {
	const upload = key.replace(/-scaled(\.[a-z]+)$/, "$1");
	const table = async (i) => {
		const name = upload.replace(/(\.[a-z]+)$/, `-cost${i}$1`);
		const res = await worker.fetch(`http://cost.bench/_sizes/${name}`);
		return Object.values((await res.json()).sizes ?? {}).map((s) => new URL(s.file).pathname);
	};
	// The file names, from upload 0's table (its decode also warms the WASM
	// instances); the timed uploads are 1.., whose sources nothing decoded yet.
	const paths = await table(0);
	await new Promise((r) => setTimeout(r, 11_000)); // past the shared decode's 10 s
	const before = await workerdCpuMs();
	let made = 0;
	const started = performance.now();
	for (let i = 1; i < UPLOADS; i++) {
		for (const path of paths.map((p) => p.replace("-cost0", `-cost${i}`))) {
			const res = await worker.fetch(`http://cost.bench${path}`);
			await res.arrayBuffer();
			if (res.status === 200) made++;
		}
	}
	// Let background work (the queue's other sizes, tier puts) finish.
	await new Promise((r) => setTimeout(r, 5000));
	const cpu = (await workerdCpuMs()) - before;
	const perMiss = cpu / made;
	rows.push({
		label,
		format,
		misses: made,
		cpuMsPerMiss: perMiss,
		wallMsPerMiss: (performance.now() - started - 5000) / made,
		workersUsdPer1000: 1000 * (perMiss * USD_PER_CPU_MS + USD_PER_REQUEST),
		imagesUsdPer1000: 1000 * USD_PER_TRANSFORMATION,
	});
}
await worker.dispose();
console.table(rows);
const out = join(root, "bench/results-cost.json");
await writeFile(out, `${JSON.stringify({ sizes: Object.keys(SIZES), rows }, null, 2)}\n`);
// Committed, so written as Biome (in `npm run check`) formats JSON.
execFileSync(join(root, "node_modules/.bin/biome"), ["format", "--write", out], {
	stdio: "ignore",
});
