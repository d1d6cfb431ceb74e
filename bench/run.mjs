#!/usr/bin/env node
// npm run bench: the real worker in workerd (wrangler's unstable_startWorker,
// local mode, no Cloudflare account) against sharp (libvips) on the same
// outputs. Prints a table and writes bench/results/. Asserts nothing about time.
//
//   npm run bench [-- --runs 5] [-- --only seed,goldfish,png,webp,jpeg] [-- --no-load]
//
// With a JPEG or PNG fixture selected it first times the default config
// (tier + queue bound) against neither and sharp, one fresh upload per timed
// miss, one table per JPEG and PNG fixture, then the queue consumer's
// throughput (first JPEG fixture); BENCH_DEFAULT_ONLY=1 prints that and stops. Each 5 s
// max_batch_timeout is waited out before a default-config miss, so that part
// takes about 5 s × sizes × runs per fixture.
//
// CPU ms (default-config and PNG rows): workerd's own utime + stime, read
// from /proc before the request and after the body (bench/cpu.mjs). /proc
// counts 10 ms ticks, so a row gives the mean over its runs.
//
// --only takes fixture ids (seed, harbour, cups; screenshot, goldfish, logo; garden-webp,
// cups-webp, seed-webp) or the groups jpeg, png, webp. The memory sweep, the
// concurrency line, the derivative tier and the HIT row run when a JPEG
// fixture is selected. PNG rows get a "GD" byte column when `php` with GD is
// installed (bench/gd-resize.php); otherwise that column says so.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import sharp from "sharp";
import { unstable_startWorker } from "wrangler";
import { importTs } from "../scripts/import-ts.mjs";
import { workerdCpuMs } from "./cpu.mjs";
import { seedingProxy, startLocal } from "./local.mjs";
import { ssim } from "./metrics.mjs";

const { values: opts } = parseArgs({
	options: {
		runs: { type: "string", default: "5" },
		only: { type: "string" },
		"no-load": { type: "boolean", default: false },
		"load-seconds": { type: "string", default: "4" },
	},
});
const RUNS = Math.max(1, Number(opts.runs));
const root = new URL("../", import.meta.url).pathname;
const resultsDir = join(root, "bench/results");
const DIR = "2025/09/";
const ADOBE = "AdobeStock_1228396051_Editorial_Use_Only";
const only = opts.only?.split(",");
const selected = (id, group) => !only || only.includes(id) || only.includes(group);
const FIXTURES = [
	{ id: "seed", name: ADOBE, ext: "jpeg", files: [`${ADOBE}.jpeg`, `${ADOBE}-scaled.jpeg`] },
	{
		id: "harbour",
		name: "harbour-friends",
		ext: "jpeg",
		files: ["harbour-friends.jpeg", "harbour-friends-scaled.jpeg"],
	},
	{ id: "cups", name: "colorful-cups", ext: "jpg", files: ["colorful-cups.jpg"] },
].filter((f) => selected(f.id, "jpeg"));
// PNG and WebP: sizes of PNG/WebP originals, and the seed JPEG negotiated to
// WebP (AUTO_FORMAT=true, Accept: image/webp).
const FORMAT_FIXTURES = [
	{
		id: "screenshot",
		group: "png",
		name: "dashboard-screenshot",
		ext: "png",
		files: ["dashboard-screenshot.png"],
	},
	{ id: "goldfish", group: "png", name: "goldfish", ext: "png", files: ["goldfish.png"] },
	{ id: "logo", group: "png", name: "logo-palette", ext: "png", files: ["logo-palette.png"] },
	{
		id: "garden-webp",
		group: "webp",
		name: "garden-lossy",
		ext: "webp",
		files: ["garden-lossy.webp"],
	},
	{
		id: "cups-webp",
		group: "webp",
		alpha: true,
		name: "cups-alpha",
		ext: "webp",
		files: ["cups-alpha.webp"],
	},
	{
		id: "seed-webp",
		group: "webp",
		negotiated: true,
		name: ADOBE,
		ext: "jpeg",
		files: [`${ADOBE}.jpeg`, `${ADOBE}-scaled.jpeg`],
	},
].filter((f) => selected(f.id, f.group));
const MAX_NAME = "bench-max-source";
const QUEUE_UPLOADS = 6;
const jpegSections = FIXTURES.length > 0;
/** Fixtures of the default-config tables: every JPEG one and the PNG ones. */
const DEFAULT_FIXTURES = [...FIXTURES, ...FORMAT_FIXTURES.filter((f) => f.group === "png")];

// libvips caches operations; a repeated identical pipeline must not be answered from it.
sharp.cache(false);

const median = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Per-miss CPU: /proc's 10 ms ticks make each reading ±10 ms, which a mean over runs averages out and a median does not. */
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const log = (...a) => console.error("·", ...a);
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : "–");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : "–");
const kb = (b) => (b / 1024).toFixed(1);
const mb = (b) => (b / 1024 / 1024).toFixed(1);

function readJsonc(path) {
	return readFile(path, "utf8").then((text) =>
		JSON.parse(text.replace(/^\s*\/\/.*$/gm, "").replace(/,(\s*[}\]])/g, "$1")),
	);
}

function serverTiming(header) {
	const out = {};
	for (const part of (header ?? "").split(",")) {
		const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part);
		if (m) out[m[1]] = Number(m[2]);
	}
	return out;
}

// ---- quality -------------------------------------------------------------

async function rgb(bytes) {
	const { data, info } = await sharp(bytes)
		.removeAlpha()
		.raw()
		.toBuffer({ resolveWithObject: true });
	return { data, width: info.width, height: info.height };
}

function psnr(a, b) {
	if (a.width !== b.width || a.height !== b.height) return Number.NaN;
	let sum = 0;
	for (let i = 0; i < a.data.length; i++) {
		const d = a.data[i] - b.data[i];
		sum += d * d;
	}
	const mse = sum / a.data.length;
	return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

// ---- sharp ---------------------------------------------------------------

function sharpRender(source, plan) {
	const { crop } = plan;
	return sharp(source)
		.extract({ left: crop.x, top: crop.y, width: crop.w, height: crop.h })
		.resize(plan.resizeWidth, plan.resizeHeight, { kernel: "lanczos3", fit: "fill" })
		.jpeg({ quality: 82 })
		.toBuffer();
}

/** sharp's PNG / WebP for the same crop window and size (formats rows). */
function sharpFormat(source, plan, format, quality = WEBP_QUALITY) {
	const { crop } = plan;
	const resized = sharp(source)
		.extract({ left: crop.x, top: crop.y, width: crop.w, height: crop.h })
		.resize(plan.resizeWidth, plan.resizeHeight, { kernel: "lanczos3", fit: "fill" });
	return format === "png"
		? resized.png().toBuffer() // its defaults (compressionLevel 6), as issue 14's target
		: resized.webp({ quality, alphaQuality: 100 }).toBuffer();
}

/** WordPress's GD editor's file (PNG or JPEG q82) for the same window (bench/gd-resize.php), or null without php-gd. */
const GD = (() => {
	try {
		execFileSync("php", ["-r", "exit(function_exists('imagecreatefrompng') ? 0 : 3);"], {
			stdio: "ignore",
		});
		return execFileSync("php", ["-r", "echo 'PHP ', PHP_VERSION, ', GD ', GD_VERSION;"], {
			encoding: "utf8",
		});
	} catch {
		return null;
	}
})();
function gdResize(file, plan) {
	const { crop } = plan;
	return execFileSync(
		"php",
		[
			join(root, "bench/gd-resize.php"),
			file,
			...[crop.x, crop.y, crop.w, crop.h, plan.resizeWidth, plan.resizeHeight].map(String),
		],
		{ maxBuffer: 64 * 1024 * 1024 },
	);
}

/** High-quality reference: lanczos3 from the full upload (not its -scaled copy), no JPEG. */
async function reference(upload, size) {
	const p = size.plan;
	const out = await sharp(upload)
		.rotate()
		.extract({ left: p.srcX, top: p.srcY, width: p.srcW, height: p.srcH })
		.resize(p.width, p.height, { kernel: "lanczos3", fit: "fill" })
		.removeAlpha()
		.raw()
		.toBuffer({ resolveWithObject: true });
	return { data: out.data, width: out.info.width, height: out.info.height };
}

// ---- setup ---------------------------------------------------------------

const wrangler = await readJsonc(join(root, "wrangler.jsonc"));
// The deployed value, else the config spec's default (one source of defaults).
const { VARS } = await importTs(new URL("../src/config/spec.ts", import.meta.url));
const setting = (name) => Number(wrangler.vars?.[name] ?? VARS[name].default);
const maxPixels = setting("MAX_SOURCE_PIXELS");
const WEBP_QUALITY = setting("WEBP_QUALITY");
const NEGOTIATED_WEBP_QUALITY = setting("NEGOTIATED_WEBP_QUALITY");
const SIZE_COUNT = Object.keys(JSON.parse(wrangler.vars.IMAGE_SIZES)).length;
/** Copies of each default-config fixture (DEFAULT_FIXTURES): every size × RUNS × 2 workers, plus QUEUE_UPLOADS for the throughput line. */
const FRESH_UPLOADS = SIZE_COUNT * RUNS * 2 + QUEUE_UPLOADS;
await mkdir(resultsDir, { recursive: true });
const persist = await mkdtemp(join(tmpdir(), "wp-edge-bench-"));

/** withTier: the default config (DERIVATIVES tier and the work queue bound); else neither. */
function benchConfig(withTier, vars) {
	const buckets = wrangler.r2_buckets.filter((b) => withTier || b.binding !== "DERIVATIVES");
	return {
		...wrangler,
		queues: withTier ? wrangler.queues : undefined,
		$schema: undefined,
		name: withTier ? "bench-tier" : "bench-worker",
		main: join(root, "src/index.ts"),
		r2_buckets: buckets,
		observability: undefined,
		vars: { ...wrangler.vars, ...vars, BENCH_ROUTES: "1" },
	};
}

let configSeq = 0;
async function start(withTier, vars = {}) {
	// One config file per worker: rewriting the file a running worker was
	// started from makes wrangler rebuild that worker.
	const path = join(resultsDir, `wrangler.${withTier ? "tier" : "notier"}.${++configSeq}.json`);
	await writeFile(path, JSON.stringify(benchConfig(withTier, vars), null, 2));
	return startLocal(path, persist);
}

log(`seeding local R2 in ${persist}`);
const uploads = {};
{
	const proxy = await seedingProxy(persist);
	for (const fx of [...FIXTURES, ...FORMAT_FIXTURES]) {
		for (const file of fx.files) {
			const bytes = await readFile(join(root, "fixtures/originals", DIR, file));
			await proxy.env.ORIGINALS.put(`${DIR}${file}`, new Uint8Array(bytes));
			uploads[file] = bytes;
		}
	}
	// Memory sources: the largest the worker accepts (MAX_SOURCE_PIXELS at 3:2),
	// 50, 24 and 8 MP (over 32 MiB decoded, baseline JPEGs stream: render/stream.ts),
	// WordPress's largest -scaled copy (2560x2560) and two smaller ones.
	const adobe = await readFile(join(root, "fixtures/originals", DIR, `${ADOBE}.jpeg`));
	const sweep = !jpegSections
		? []
		: [
				[
					Math.floor(Math.sqrt(maxPixels * 1.5)),
					Math.floor(maxPixels / Math.floor(Math.sqrt(maxPixels * 1.5))),
				],
				[8660, 5773],
				[6000, 4000],
				[3464, 2309],
				[2560, 2560],
				[2560, 1920],
				[2560, 1707],
			];
	uploads.memory = [];
	for (const [w, h] of sweep) {
		const name = `${MAX_NAME}-${w}x${h}`.replace(/x/g, "by");
		const big = await sharp(adobe).resize(w, h, { fit: "fill" }).jpeg({ quality: 90 }).toBuffer();
		await proxy.env.ORIGINALS.put(`${DIR}${name}.jpg`, new Uint8Array(big));
		uploads.memory.push({ name, width: w, height: h });
	}
	// Fresh uploads for the default-config tables: one per timed miss (a copy of
	// each JPEG and PNG fixture's files under a new name, -scaled copy included), so no
	// miss finds its size in the tier.
	for (const fx of DEFAULT_FIXTURES) {
		for (let i = 0; i < FRESH_UPLOADS; i++) {
			for (const file of fx.files) {
				const copy = `${DIR}${file.replace(fx.name, `${fx.name}-f${i}`)}`;
				await proxy.env.ORIGINALS.put(copy, new Uint8Array(uploads[file]));
			}
		}
	}
	await proxy.dispose();
}

let hostSeq = 0;
const freshHost = () => `run${++hostSeq}.bench`;

async function get(worker, path, host = "bench.local", init) {
	const res = await worker.fetch(`http://${host}${path}`, init);
	const body = new Uint8Array(await res.arrayBuffer());
	return { res, body };
}

async function json(worker, path, init) {
	const { res, body } = await get(worker, path, "bench.local", init);
	if (!res.ok) throw new Error(`${path}: ${res.status} ${new TextDecoder().decode(body)}`);
	return JSON.parse(new TextDecoder().decode(body));
}

// ---- cold misses -----------------------------------------------------------

const results = { date: new Date().toISOString(), runs: RUNS, machine: {}, rows: [], all: [] };
results.machine = {
	cpus: cpus().length,
	model: cpus()[0]?.model,
	node: process.version,
	sharp: sharp.versions.sharp,
	vips: sharp.versions.vips,
	wrangler: `wrangler ${JSON.parse(await readFile(join(root, "node_modules/wrangler/package.json"), "utf8")).version}`,
};

/**
 * Median cold misses of one size, alternating with sharp's run for the same
 * output so load from other processes on a shared machine falls on both alike.
 * Each worker run is a real miss: state reset and a fresh Host. cpu = mean
 * workerd CPU ms per miss (bench/cpu.mjs), read before the request and after the body.
 */
async function coldMisses(target, path, { accept, expectType, renderSharp }) {
	const workerMs = [];
	const split = { r2: [], decode: [], resize: [], encode: [] };
	const sharpMs = [];
	const cpuMs = [];
	let workerBytes;
	let sharpBytes;
	for (let i = 0; i < RUNS; i++) {
		await json(target, "/__bench/reset", { method: "POST" });
		const cpu0 = await workerdCpuMs();
		const t0 = performance.now();
		const { res, body } = await get(target, path, freshHost(), accept);
		workerMs.push(performance.now() - t0);
		cpuMs.push((await workerdCpuMs()) - cpu0);
		const type = res.headers.get("Content-Type");
		if (
			res.status !== 200 ||
			res.headers.get("X-Cache") !== "MISS" ||
			(expectType && type !== expectType)
		) {
			throw new Error(`${path}: ${res.status} ${res.headers.get("X-Cache")} ${type}`);
		}
		const t = serverTiming(res.headers.get("Server-Timing"));
		for (const k of Object.keys(split)) split[k].push(t[k] ?? 0);
		workerBytes = body;
		const t1 = performance.now();
		sharpBytes = await renderSharp();
		sharpMs.push(performance.now() - t1);
	}
	return {
		timing: {
			worker: median(workerMs),
			r2: median(split.r2),
			decode: median(split.decode),
			resize: median(split.resize),
			encode: median(split.encode),
			sharp: median(sharpMs),
			cpu: mean(cpuMs),
		},
		workerBytes,
		sharpBytes,
	};
}

log("starting the worker (no derivative tier, no queue)");
const worker = await start(false);

// ---- the default config: tier + queue bound, against neither -------------------
// Per JPEG fixture: one fresh upload per timed miss, alternating the two
// workers (and sharp) so load from other processes falls on all alike. First
// byte = the response's headers at the client (the worker buffers the body:
// it is the whole answer).
const defaultWorker = DEFAULT_FIXTURES.length > 0 ? await start(true) : undefined;

/** Wait until the consumer (same isolate, as under `npm start`) has done the jobs earlier misses sent. */
async function idle(target) {
	const deadline = Date.now() + 60_000;
	await new Promise((r) => setTimeout(r, 100));
	for (;;) {
		const { queue } = await json(target, "/__bench/stats");
		if ((queue.handled >= queue.sent && queue.active === 0) || Date.now() > deadline) return;
		await new Promise((r) => setTimeout(r, 100));
	}
}

/**
 * One timed miss: first byte ms, and workerd's CPU ms from before the request
 * to the end of the body (the consumer's later work for it is not counted).
 */
async function firstByte(target, key) {
	await json(target, "/__bench/reset", { method: "POST" });
	const cpu0 = await workerdCpuMs();
	const t0 = performance.now();
	const res = await target.fetch(`http://${freshHost()}/files/${key}`);
	const ms = performance.now() - t0;
	await res.arrayBuffer();
	const cpu = (await workerdCpuMs()) - cpu0;
	if (res.status !== 200 || res.headers.get("X-Cache") !== "MISS") {
		throw new Error(`${key}: ${res.status} ${res.headers.get("X-Cache")}`);
	}
	return { ms, cpu, timing: serverTiming(res.headers.get("Server-Timing")) };
}

/**
 * The fixture's sizes and sharp's source for them. /__bench/all (no cache, no
 * tier, no queue) warms both workers' codecs, so no timed miss instantiates them.
 */
async function fixtureSizes(fx) {
	const firstPath = `${DIR}${fx.name}-150x150.${fx.ext}`;
	const { meta } = await json(worker, `/__bench/plan/${firstPath}`);
	const sizes = await json(worker, `/__bench/all/${firstPath}`);
	await json(defaultWorker, `/__bench/all/${firstPath}`);
	const file = meta.source.key.slice(DIR.length);
	const { width, height } = await sharp(uploads[file]).metadata();
	return { source: uploads[file], label: `${file}, ${width}x${height}`, sizes: sizes.sizes };
}

/** "kv 5 r2 9 decode 30 ...": the median of each Server-Timing stage over a size's misses. */
function stageMedians(timings) {
	const names = [...new Set(timings.flatMap((t) => Object.keys(t)))];
	return names.map((n) => `${n} ${median(timings.map((t) => t[n] ?? 0)).toFixed(0)}`).join(" ");
}

/** One row per size of fx: medians of RUNS misses per worker, each of a fresh copy. */
async function defaultConfigRows(fx) {
	let copy = 0;
	const fresh = (key) => key.replace(fx.name, `${fx.name}-f${copy++}`);
	const { source, label, sizes } = await fixtureSizes(fx);
	const rows = [];
	for (const made of sizes) {
		const { plan } = await json(worker, `/__bench/plan/${made.key}`);
		const runs = { tierQueue: [], neither: [], sharp: [], tierQueueCpu: [], neitherCpu: [] };
		const stages = [];
		for (let i = 0; i < RUNS; i++) {
			await idle(defaultWorker);
			const a = await firstByte(defaultWorker, fresh(made.key));
			if (a.timing.tier !== undefined) throw new Error("a fresh upload was read from the tier");
			const b = await firstByte(worker, fresh(made.key));
			const t0 = performance.now();
			await (fx.ext === "png" ? sharpFormat(source, plan, "png") : sharpRender(source, plan));
			runs.sharp.push(performance.now() - t0);
			runs.tierQueue.push(a.ms);
			runs.neither.push(b.ms);
			runs.tierQueueCpu.push(a.cpu);
			runs.neitherCpu.push(b.cpu);
			stages.push(a.timing);
		}
		const row = { fixture: fx.id, source: label, size: `${plan.width}x${plan.height}` };
		for (const [k, xs] of Object.entries(runs)) row[k] = k.endsWith("Cpu") ? mean(xs) : median(xs);
		rows.push(row);
		log(
			`default ${fx.id} ${row.size}: tier+queue ${row.tierQueue.toFixed(0)} ms (CPU ${row.tierQueueCpu.toFixed(0)}; ${stageMedians(stages)}), neither ${row.neither.toFixed(0)} ms (CPU ${row.neitherCpu.toFixed(0)}), sharp ${row.sharp.toFixed(0)} ms`,
		);
	}
	return { rows, copy };
}

/**
 * Queue throughput: QUEUE_UPLOADS fresh uploads of fx, one miss each; the
 * consumer makes their other sizes. Timed from the first consumer encode
 * (after max_batch_timeout) to the last.
 */
async function queueThroughput(fx, firstCopy, sizeCount) {
	await idle(defaultWorker);
	const before = (await json(defaultWorker, "/__bench/stats")).codecStats;
	for (let i = 0; i < QUEUE_UPLOADS; i++) {
		await firstByte(defaultWorker, `${DIR}${fx.name}-f${firstCopy + i}-150x150.${fx.ext}`);
	}
	const want = before.encodes + QUEUE_UPLOADS * sizeCount;
	let startedAt;
	const deadline = Date.now() + 300_000;
	for (;;) {
		const s = (await json(defaultWorker, "/__bench/stats")).codecStats;
		if (startedAt === undefined && s.encodes > before.encodes + QUEUE_UPLOADS)
			startedAt = performance.now();
		if (s.encodes >= want || Date.now() > deadline) {
			const ms = performance.now() - (startedAt ?? performance.now());
			const encodes = s.encodes - before.encodes;
			return {
				fixture: fx.id,
				uploads: QUEUE_UPLOADS,
				encodes,
				ms,
				perMinute: (QUEUE_UPLOADS * 60_000) / ms,
			};
		}
		await new Promise((r) => setTimeout(r, 50));
	}
}

if (defaultWorker) {
	log("default config: cold misses with tier + queue vs neither (fresh upload each)");
	results.defaultConfig = [];
	for (const fx of DEFAULT_FIXTURES) {
		const { rows, copy } = await defaultConfigRows(fx);
		results.defaultConfig.push(...rows);
		if (fx === FIXTURES[0]) results.queue = await queueThroughput(fx, copy, rows.length);
	}
	await defaultWorker.dispose();
	if (process.env.BENCH_DEFAULT_ONLY) {
		await writeReport([machineLine(), ...defaultConfigLines()]);
		await worker.dispose();
		await rm(persist, { recursive: true, force: true });
		process.exit(0);
	}
}

for (const fx of FIXTURES) {
	const upload = uploads[fx.files[0]];
	const firstPath = `${DIR}${fx.name}-150x150.${fx.ext}`;
	const { meta } = await json(worker, `/__bench/plan/${firstPath}`);
	const source = uploads[meta.source.key.slice(DIR.length)];
	const sizes = await json(worker, `/__bench/all/${firstPath}`); // also warms the codecs
	for (const made of sizes.sizes) {
		const key = made.key;
		const { size, plan } = await json(worker, `/__bench/plan/${key}`);
		const { timing, workerBytes, sharpBytes } = await coldMisses(worker, `/files/${key}`, {
			renderSharp: () => sharpRender(source, plan),
		});
		const ref = await reference(upload, size);
		const ours = await rgb(workerBytes);
		const theirs = await rgb(sharpBytes);
		// What WordPress's GD editor writes for the same window (quality 82).
		const gd = GD ? gdResize(join(root, "fixtures/originals", meta.source.key), plan) : null;
		const gdPixels = gd ? await rgb(gd) : null;
		const row = {
			fixture: fx.id,
			size: `${plan.width}x${plan.height}`,
			...timing,
			workerBytes: workerBytes.byteLength,
			sharpBytes: sharpBytes.byteLength,
			workerPsnr: psnr(ours, ref),
			sharpPsnr: psnr(theirs, ref),
			workerSsim: ssim(ours, ref),
			sharpSsim: ssim(theirs, ref),
			gdBytes: gd?.byteLength ?? null,
			gdPsnr: gdPixels ? psnr(gdPixels, ref) : null,
			gdSsim: gdPixels ? ssim(gdPixels, ref) : null,
		};
		row.ratio = row.worker / row.sharp;
		results.rows.push(row);
		log(
			`${fx.id} ${row.size}: worker ${row.worker.toFixed(0)} ms, sharp ${row.sharp.toFixed(0)} ms`,
		);
	}

	// One decode → every size, against sharp's separate calls (one decode each).
	const plans = [];
	for (const made of sizes.sizes)
		plans.push((await json(worker, `/__bench/plan/${made.key}`)).plan);
	const allMs = [];
	const sharpAll = [];
	for (let i = 0; i < RUNS; i++) {
		allMs.push((await json(worker, `/__bench/all/${firstPath}`)).ms);
		const t0 = performance.now();
		for (const plan of plans) await sharpRender(source, plan);
		sharpAll.push(performance.now() - t0);
	}
	results.all.push({
		fixture: fx.id,
		sizes: plans.length,
		worker: median(allMs),
		sharp: median(sharpAll),
		ratio: median(allMs) / median(sharpAll),
	});
}

// ---- PNG and WebP ------------------------------------------------------------
// Same method as the JPEG rows: median of RUNS cold misses (reset + fresh Host)
// alternating with sharp's run for the same crop window and size.

results.formats = [];
let autoWorker;
for (const fx of FORMAT_FIXTURES) {
	let target = worker;
	const accept = fx.negotiated ? { headers: { Accept: "image/webp,image/*;q=0.8" } } : undefined;
	if (fx.negotiated) {
		log("starting a worker with AUTO_FORMAT=true (negotiated WebP)");
		autoWorker ??= await start(false, { AUTO_FORMAT: "true" });
		target = autoWorker;
	}
	const upload = uploads[fx.files[0]];
	const firstPath = `${DIR}${fx.name}-150x150.${fx.ext}`;
	const { meta } = await json(target, `/__bench/plan/${firstPath}`);
	const sourceFile = meta.source.key.slice(DIR.length);
	const source = uploads[sourceFile];
	const sizes = await json(target, `/__bench/all/${firstPath}`); // warms the codecs
	const format = fx.ext === "png" ? "png" : "webp";
	const expectType = `image/${format}`;
	// Warm the WebP encoder, which /__bench/all (JPEG output) did not use.
	if (fx.negotiated) await get(target, `/files/${firstPath}`, freshHost(), accept);
	for (const made of sizes.sizes) {
		const { size, plan } = await json(target, `/__bench/plan/${made.key}`);
		const path = `/files/${made.key}`;
		const quality = fx.negotiated ? NEGOTIATED_WEBP_QUALITY : WEBP_QUALITY;
		const { timing, workerBytes, sharpBytes } = await coldMisses(target, path, {
			accept,
			expectType,
			renderSharp: () => sharpFormat(source, plan, format, quality),
		});
		const row = {
			fixture: fx.id,
			group: fx.group,
			size: `${plan.width}x${plan.height}`,
			...timing,
			workerBytes: workerBytes.byteLength,
			sharpBytes: sharpBytes.byteLength,
		};
		row.ratio = row.worker / row.sharp;
		if (format === "png") {
			row.gdBytes = GD
				? gdResize(join(root, "fixtures/originals", DIR, sourceFile), plan).byteLength
				: null;
		}
		if (fx.negotiated) {
			// Our JPEG for the same size: the same worker, a client that takes no WebP.
			const { res, body } = await get(target, path, freshHost(), {
				headers: { Accept: "image/jpeg,image/*;q=0.8" },
			});
			if (res.headers.get("Content-Type") !== "image/jpeg") throw new Error(`${path}: not JPEG`);
			row.jpegBytes = body.byteLength;
		}
		if (format === "webp" && !fx.alpha) {
			// Opaque images only: removing alpha from a transparent one compares hidden colours.
			const ref = await reference(upload, size);
			row.workerPsnr = psnr(await rgb(workerBytes), ref);
			row.sharpPsnr = psnr(await rgb(sharpBytes), ref);
		}
		results.formats.push(row);
		log(
			`${fx.id} ${row.size}: worker ${row.worker.toFixed(0)} ms ${row.workerBytes} B, sharp ${row.sharp.toFixed(0)} ms ${row.sharpBytes} B${row.gdBytes ? `, GD ${row.gdBytes} B` : ""}`,
		);
	}
}
await autoWorker?.dispose();

// ---- memory and concurrency ---------------------------------------------------

results.memory = [];
for (const m of uploads.memory) {
	for (const full of [false, true]) {
		// A fresh isolate per source: WASM memories only grow.
		log(`peak memory for a ${m.width}x${m.height} source${full ? ", full-size decode" : ""}`);
		const fresh = await start(false);
		const all = await json(
			fresh,
			`/__bench/all/${DIR}${m.name}-150x150.jpg${full ? "?full=1" : ""}`,
		);
		const stats = await json(fresh, "/__bench/stats");
		await fresh.dispose();
		results.memory.push({
			source: `${m.width}x${m.height}`,
			decode: full ? "full size (worst case)" : "shrink-on-load",
			sourcePixels: m.width * m.height,
			accepted: m.width * m.height <= maxPixels,
			allSizesMs: all.ms,
			// Peaks: an instance whose heap passed 32 MiB after a call is shed,
			// so the heaps alive now can be smaller than what the render needed.
			wasm: stats.wasmPeak,
			wasmTotal: Object.values(stats.wasmPeak).reduce((a, b) => a + b, 0),
			// Decoded RGBA of the source, held in JS (not WASM) while its sizes are
			// made; for a streamed source, its compressed file instead.
			decodedBytes: all.decodedBytes,
			compressedBytes: all.compressedBytes,
		});
	}
}

if (jpegSections) {
	log("20 concurrent misses on one isolate");
	await json(worker, "/__bench/reset", { method: "POST" });
	const before = (await json(worker, "/__bench/stats")).codecStats;
	const keys = results.rows.map((r) => {
		const fx = FIXTURES.find((f) => f.id === r.fixture);
		return `/files/${DIR}${fx.name}-${r.size}.${fx.ext}`;
	});
	const host = freshHost();
	const batch = Array.from({ length: 20 }, (_, i) => keys[i % keys.length]);
	const t0 = performance.now();
	const settled = await Promise.allSettled(batch.map((p) => get(worker, p, host)));
	const ms = performance.now() - t0;
	const after = (await json(worker, "/__bench/stats")).codecStats;
	results.concurrency = {
		requests: batch.length,
		distinct: new Set(batch).size,
		ok: settled.filter((s) => s.status === "fulfilled" && s.value.res.status === 200).length,
		ms,
		decodes: after.decodes - before.decodes,
		traps: after.traps - before.traps,
		wasmAfter: (await json(worker, "/__bench/stats")).wasmPeak,
	};
}

// ---- the derivative tier ---------------------------------------------------------

const tierWorker = jpegSections ? await start(true) : undefined;
if (tierWorker) {
	log("derivative tier: a miss fills it, later misses read it");
	const fx = FIXTURES[0];
	const rows = results.rows.filter((r) => r.fixture === fx.id);
	const first = `/files/${DIR}${fx.name}-${rows[0].size}.${fx.ext}`;
	const before = (await json(tierWorker, "/__bench/stats")).codecStats;
	await get(tierWorker, first, freshHost());
	// Wait for the queue consumer (after max_batch_timeout) to encode the other sizes.
	const deadline = Date.now() + 60_000;
	for (;;) {
		const s = (await json(tierWorker, "/__bench/stats")).codecStats;
		if (s.encodes - before.encodes >= rows.length || Date.now() > deadline) break;
		await new Promise((r) => setTimeout(r, 200));
	}
	await new Promise((r) => setTimeout(r, 500));
	const mid = (await json(tierWorker, "/__bench/stats")).codecStats;
	const ms = [];
	for (const row of rows.slice(1)) {
		for (let i = 0; i < RUNS; i++) {
			const t0 = performance.now();
			const { res } = await get(
				tierWorker,
				`/files/${DIR}${fx.name}-${row.size}.${fx.ext}`,
				freshHost(),
			);
			ms.push(performance.now() - t0);
			if (res.status !== 200 || res.headers.get("X-Cache") !== "MISS") throw new Error("tier miss");
		}
	}
	const after = (await json(tierWorker, "/__bench/stats")).codecStats;
	results.tier = {
		fixture: fx.id,
		fanOutDecodes: mid.decodes - before.decodes,
		fanOutEncodes: mid.encodes - before.encodes,
		missFromTierMs: median(ms),
		decodesWhileServingFromTier: after.decodes - mid.decodes,
	};
}

// ---- cache HIT throughput --------------------------------------------------------

async function load(url) {
	const r = await autocannon({
		url,
		connections: 10,
		duration: Number(opts["load-seconds"]),
		headers: { accept: "image/*" },
	});
	return { rps: r.requests.average, p50: r.latency.p50, non2xx: r.non2xx, errors: r.errors };
}

if (!opts["no-load"] && jpegSections) {
	log("cache HIT requests/s (autocannon)");
	const fx = FIXTURES[0];
	const path = `/files/${DIR}${fx.name}-${results.rows[1]?.size ?? "730x487"}.${fx.ext}`;
	const base = await worker.url;
	const url = new URL(path, base).href;
	const primed = await fetch(url);
	const bytes = new Uint8Array(await primed.arrayBuffer());
	const again = await fetch(url);
	await again.arrayBuffer();
	const headers = Object.fromEntries(
		[...again.headers].filter(([k]) => !["content-length", "date", "connection"].includes(k)),
	);
	const memoryWorker = join(resultsDir, "memory-worker.mjs");
	await writeFile(
		memoryWorker,
		`const bytes = Uint8Array.from(atob(${JSON.stringify(Buffer.from(bytes).toString("base64"))}), (c) => c.charCodeAt(0));
const headers = ${JSON.stringify(headers)};
export default { fetch() { return new Response(bytes, { headers }); } };\n`,
	);
	const mem = await unstable_startWorker({
		name: "bench-memory",
		entrypoint: memoryWorker,
		compatibilityDate: wrangler.compatibility_date,
		dev: {
			persist: false,
			watch: false,
			inspector: false,
			logLevel: "error",
			server: { hostname: "127.0.0.1", port: 0 },
		},
	});
	await mem.ready;
	const memUrl = new URL(path, await mem.url).href;
	// Alternate the two targets (3 rounds each) and take medians, so a burst of
	// load from elsewhere does not land on one side only.
	const rounds = { worker: [], memory: [] };
	for (let i = 0; i < 3; i++) {
		rounds.worker.push(await load(url));
		rounds.memory.push(await load(memUrl));
	}
	const mid = (xs) => ({
		rps: median(xs.map((x) => x.rps)),
		p50: median(xs.map((x) => x.p50)),
		non2xx: xs.reduce((a, x) => a + x.non2xx, 0),
		errors: xs.reduce((a, x) => a + x.errors, 0),
	});
	results.hit = {
		xCache: again.headers.get("X-Cache"),
		bytes: bytes.byteLength,
		worker: mid(rounds.worker),
		memory: mid(rounds.memory),
	};
	results.hit.ratio = results.hit.worker.rps / results.hit.memory.rps;
	await mem.dispose();
}

await tierWorker?.dispose();
await worker.dispose();
await rm(persist, { recursive: true, force: true });

// ---- report ----------------------------------------------------------------

function machineLine() {
	const m = results.machine;
	return `${results.date} · ${m.cpus} cores (${m.model}) · node ${m.node} · ${m.wrangler} · sharp ${m.sharp} (libvips ${m.vips}) · medians of ${RUNS} runs`;
}

/** What the CPU columns measure, for the table headers. */
function cpuNote() {
	return `CPU ms = workerd's utime + stime per miss from /proc, read before the request and after the body: mean of ${RUNS} misses, each reading ±10 ms (/proc counts 10 ms ticks); it includes the local R2 and wrangler's dev proxy, which run in the same workerd process`;
}

/** "median 1.32, max 2.49 (1200x628)" of one ratio over a fixture's rows. */
function ratioSummary(rows, ratio) {
	const worst = rows.reduce((a, r) => (ratio(r) > ratio(a) ? r : a));
	return `median ${f2(median(rows.map(ratio)))}, max ${f2(ratio(worst))} (${worst.size})`;
}

/** The default-config tables: one per JPEG fixture, with its ratio summary line. */
function defaultConfigLines() {
	if (!results.defaultConfig) return [];
	const lines = [
		"",
		`Default config (DERIVATIVES tier + work queue bound, as \`npm start\`) vs neither: cold-miss first byte (ms, medians of ${RUNS}), one fresh upload per timed miss; ${cpuNote()} (the consumer's later work not counted)`,
	];
	for (const fx of DEFAULT_FIXTURES) {
		const rows = results.defaultConfig.filter((r) => r.fixture === fx.id);
		if (!rows.length) continue;
		lines.push(
			"",
			`**${fx.id}** (${rows[0].source})`,
			"",
			"| size | tier+queue ms | neither ms | tier+queue / neither | sharp ms | tier+queue / sharp | neither / sharp | CPU ms tier+queue | CPU ms neither |",
			"|---|--:|--:|--:|--:|--:|--:|--:|--:|",
		);
		for (const r of rows) {
			lines.push(
				`| ${r.size} | ${f0(r.tierQueue)} | ${f0(r.neither)} | ${f2(r.tierQueue / r.neither)} | ${f0(r.sharp)} | ${f2(r.tierQueue / r.sharp)} | ${f2(r.neither / r.sharp)} | ${f0(r.tierQueueCpu)} | ${f0(r.neitherCpu)} |`,
			);
		}
		lines.push(
			"",
			`${fx.id}: tier+queue / sharp ${ratioSummary(rows, (r) => r.tierQueue / r.sharp)}; neither / sharp ${ratioSummary(rows, (r) => r.neither / r.sharp)}`,
		);
	}
	const q = results.queue;
	if (q)
		lines.push(
			"",
			`Queue consumer, one isolate: ${q.uploads} fresh ${q.fixture} uploads → their other sizes (${q.encodes} encodes incl. the misses) in ${f0(q.ms)} ms = ${f0(q.perMinute)} uploads/min`,
		);
	return lines;
}

/** Print the report and write it with the raw results to bench/results/. */
async function writeReport(lines) {
	const report = lines.join("\n");
	console.log(report);
	const stamp = results.date.replace(/[:.]/g, "-");
	await writeFile(join(resultsDir, `${stamp}.json`), JSON.stringify(results, null, 2));
	await writeFile(join(resultsDir, `${stamp}.md`), `${report}\n`);
	await writeFile(join(resultsDir, "latest.md"), `${report}\n`);
	log(`wrote bench/results/${stamp}.{json,md}`);
}

const lines = [machineLine(), ...defaultConfigLines()];
if (jpegSections)
	lines.push(
		"",
		"Cold miss (ms; worker = client-side round trip through workerd incl. R2 read; split from Server-Timing) · bytes · quality against lanczos3 from the full upload",
		"",
		`GD = WordPress's GD editor at quality 82 for the same window (${GD ? `bench/gd-resize.php, ${GD}` : "php-gd not installed: not measured"})`,
		"",
		"| image | size | worker | r2 | decode | resize | encode | sharp | ratio | KB worker | KB sharp | bytes ratio | PSNR worker | PSNR sharp | SSIM worker | SSIM sharp | KB GD | PSNR GD | SSIM GD |",
		"|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
	);
for (const r of results.rows) {
	const gd =
		r.gdBytes == null ? "– | – | –" : `${kb(r.gdBytes)} | ${f2(r.gdPsnr)} | ${f3(r.gdSsim)}`;
	lines.push(
		`| ${r.fixture} | ${r.size} | ${f0(r.worker)} | ${f0(r.r2)} | ${f0(r.decode)} | ${f0(r.resize)} | ${f0(r.encode)} | ${f0(r.sharp)} | ${f2(r.ratio)} | ${kb(r.workerBytes)} | ${kb(r.sharpBytes)} | ${f2(r.workerBytes / r.sharpBytes)} | ${f2(r.workerPsnr)} | ${f2(r.sharpPsnr)} | ${f3(r.workerSsim)} | ${f3(r.sharpSsim)} | ${gd} |`,
	);
}
if (jpegSections) {
	lines.push("", "One decode → all sizes (worker, in-isolate) vs sharp's separate calls", "");
	lines.push("| image | sizes | worker ms | sharp ms | ratio |", "|---|--:|--:|--:|--:|");
}
for (const a of results.all) {
	lines.push(`| ${a.fixture} | ${a.sizes} | ${f0(a.worker)} | ${f0(a.sharp)} | ${f2(a.ratio)} |`);
}
if (jpegSections)
	lines.push(
		"",
		`Peak memory per source (fresh isolate, all sizes from one decode, or streamed per size above 32 MiB decoded; MAX_SOURCE_PIXELS=${maxPixels})`,
		"",
		"| source | MP | accepted | decode | WASM MB (sum of peaks) | per codec MB | decoded RGBA (or streamed file) in JS MB | WASM + JS MB | all sizes ms |",
		"|---|--:|---|---|--:|---|--:|--:|--:|",
	);
for (const m of results.memory) {
	lines.push(
		`| ${m.source} | ${(m.sourcePixels / 1e6).toFixed(2)} | ${m.accepted ? "yes" : "no"} | ${m.decode} | ${mb(m.wasmTotal)} | ${Object.entries(
			m.wasm,
		)
			.map(([codec, bytes]) => `${codec} ${mb(bytes)}`)
			.join(
				", ",
			)} | ${mb(m.decodedBytes + (m.compressedBytes ?? 0))} | ${mb(m.wasmTotal + m.decodedBytes + (m.compressedBytes ?? 0))} | ${f0(m.allSizesMs)} |`,
	);
}
const cc = results.concurrency;
if (cc)
	lines.push(
		"",
		`20 concurrent misses on one isolate (${cc.distinct} distinct derivatives): ${cc.ok}/${cc.requests} 200 OK in ${f0(cc.ms)} ms, ${cc.decodes} decodes, ${cc.traps} traps; sum of WASM peaks in that isolate ${mb(Object.values(cc.wasmAfter).reduce((a, b) => a + b, 0))} MB`,
	);
const t = results.tier;
if (t)
	lines.push(
		`Derivative tier (${t.fixture}): one miss + the queue consumer made ${t.fanOutEncodes} sizes from ${t.fanOutDecodes} decodes (the miss its own, the consumer one for the rest); a later cold-edge miss is served from R2 in ${f0(t.missFromTierMs)} ms with ${t.decodesWhileServingFromTier} decodes`,
	);
if (results.hit) {
	const h = results.hit;
	lines.push(
		`Cache HIT (${kb(h.bytes)} KB, autocannon 10 connections, medians of 3 alternating ${opts["load-seconds"]} s rounds): worker ${f0(h.worker.rps)} req/s (p50 ${h.worker.p50} ms) vs in-memory worker ${f0(h.memory.rps)} req/s (p50 ${h.memory.p50} ms) → ${f2(h.ratio)}; non-2xx ${h.worker.non2xx}/${h.memory.non2xx}`,
	);
}
const pngRows = results.formats.filter((r) => r.group === "png");
const webpRows = results.formats.filter((r) => r.group === "webp");
if (pngRows.length) {
	lines.push(
		"",
		`PNG sizes (cold miss ms, bytes): sharp = png() at its defaults (compressionLevel 6, no adaptive filtering); GD = ${GD ? `bench/gd-resize.php (${GD})` : "php-gd not installed, not measured"}; ${cpuNote()}`,
		"",
		"| image | size | worker | r2 | decode | resize | encode | sharp | ratio | CPU ms | KB worker | KB sharp | KB GD | bytes / sharp | bytes / GD |",
		"|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
	);
	for (const r of pngRows) {
		const gd = r.gdBytes == null ? "GD: php-gd not installed" : kb(r.gdBytes);
		const gdRatio = r.gdBytes == null ? "–" : f2(r.workerBytes / r.gdBytes);
		lines.push(
			`| ${r.fixture} | ${r.size} | ${f0(r.worker)} | ${f0(r.r2)} | ${f0(r.decode)} | ${f0(r.resize)} | ${f0(r.encode)} | ${f0(r.sharp)} | ${f2(r.ratio)} | ${f0(r.cpu)} | ${kb(r.workerBytes)} | ${kb(r.sharpBytes)} | ${gd} | ${f2(r.workerBytes / r.sharpBytes)} | ${gdRatio} |`,
		);
	}
}
if (webpRows.length) {
	lines.push(
		"",
		`WebP sizes (cold miss ms, bytes): WebP originals, and seed-webp = the seed JPEG served as WebP (AUTO_FORMAT=true, Accept: image/webp); sharp = webp({ quality: ${WEBP_QUALITY} for WebP originals, ${NEGOTIATED_WEBP_QUALITY} for seed-webp, alphaQuality: 100 }); PSNR against lanczos3 from the full upload (opaque images only)`,
		"",
		"| image | size | worker | decode | resize | encode | sharp | ratio | KB worker | KB sharp | bytes / sharp | KB our JPEG | WebP / JPEG | PSNR worker | PSNR sharp |",
		"|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
	);
	for (const r of webpRows) {
		const jpeg = r.jpegBytes == null ? "–" : kb(r.jpegBytes);
		const jpegRatio = r.jpegBytes == null ? "–" : f2(r.workerBytes / r.jpegBytes);
		lines.push(
			`| ${r.fixture} | ${r.size} | ${f0(r.worker)} | ${f0(r.decode)} | ${f0(r.resize)} | ${f0(r.encode)} | ${f0(r.sharp)} | ${f2(r.ratio)} | ${kb(r.workerBytes)} | ${kb(r.sharpBytes)} | ${f2(r.workerBytes / r.sharpBytes)} | ${jpeg} | ${jpegRatio} | ${f2(r.workerPsnr)} | ${f2(r.sharpPsnr)} |`,
		);
	}
}
await writeReport(lines);
