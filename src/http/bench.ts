/**
 * Routes for `npm run bench` only, mounted when BENCH_ROUTES=1 (the bench's
 * own wrangler config sets it; wrangler.jsonc never does). They expose
 * counters and WASM heap sizes, the render plan the worker uses (so sharp can
 * cut the same window), a one-decode render of every size, and a reset so a
 * run is a cold miss in a warm isolate.
 */
import type { Context, Hono } from "hono";

import type { Config } from "../config";
import type { OutputFormat } from "../image/formats";
import { codecStats, wasmMemory, wasmPeakMemory } from "../image/wasm-lazy";
import { extensionFormat } from "../origin/extensions";
import { lookupUpload, type UploadMeta } from "../origin/lookup";
import { Storage } from "../origin/storage";
import { renderPlan, streamJob, uploadScale } from "../render/make";
import { matchSize, planRender, servableFiles } from "../render/plan";
import { FULL_SCALE } from "../render/scale";
import { renderStreamedMany, streams } from "../render/stream";
import { directory, queueStats, sources, streamedOriginals } from "../state";

import { parseImagePath } from "../url/path";
import { BadRequestError } from "./errors";
import type { AppEnv } from "./respond";

/** A streamed upload's sizes as the fan-out makes them: one decode per pass of sizes. */
async function allInPasses(
	storage: Storage,
	meta: UploadMeta,
	output: OutputFormat,
	config: Config,
) {
	const started = performance.now();
	const planned = servableFiles(meta, config);
	const plans = planned.map((p) => p.render);
	const all = await renderStreamedMany(storage, meta, plans, output, streamJob(meta, config));
	const ms = performance.now() - started;
	const sizes = all.map((r, k) => ({ key: planned[k]?.key, bytes: r.bytes.byteLength }));
	const compressedBytes = streamedOriginals.heldBytes;
	streamedOriginals.forget();
	return { ms, sizes, decodedBytes: 0, compressedBytes };
}

function derivativeOf(rest: string) {
	const path = parseImagePath(rest);
	if (path.kind !== "derivative") throw new BadRequestError("Not a derivative path");
	return path;
}

export function mountBenchRoutes(app: Hono<AppEnv>): void {
	app.get("/__bench/stats", async (c) =>
		c.json({
			codecStats,
			wasm: await wasmMemory(),
			wasmPeak: wasmPeakMemory(),
			decodedBytes: sources.heldBytes,
			compressedBytes: streamedOriginals.heldBytes,
			queue: queueStats,
		}),
	);

	app.post("/__bench/reset", (c) => {
		sources.forget();
		streamedOriginals.forget();
		directory.forget("");
		return c.json({ ok: true });
	});

	app.get("/__bench/plan/*", async (c) => {
		const { config } = c.var;
		const path = derivativeOf(c.req.path.slice("/__bench/plan/".length));
		const storage = new Storage(c.env.ORIGINALS, config.limits.r2TimeoutMs);
		const meta = await lookupUpload(storage, path, config);
		const size = matchSize(meta, path.width, path.height, config.sizes);
		return c.json({ meta, size, plan: planRender(meta, size) });
	});

	// One decode, then every registered size (what WordPress does at upload).
	// `path` is any derivative of the upload; caches and the tier are bypassed.
	app.get("/__bench/all/*", allSizes);
}

/** `/__bench/all/<derivative>`: every size of the upload from one decode, timed. */
async function allSizes(c: Context<AppEnv>): Promise<Response> {
	const { config } = c.var;
	const path = derivativeOf(c.req.path.slice("/__bench/all/".length));
	const storage = new Storage(c.env.ORIGINALS, config.limits.r2TimeoutMs);
	const meta = await lookupUpload(storage, path, config);
	const output = extensionFormat(path.ext) ?? "jpeg";
	if (output !== "jpeg" && output !== "png" && output !== "webp") {
		throw new BadRequestError("No sizes for this format");
	}
	sources.forget();
	// ?pass=1: a streamed source's sizes as one pass of the stream makes them.
	if (c.req.query("pass") === "1" && streams(meta, uploadScale(meta, config), config.limits)) {
		return c.json(await allInPasses(storage, meta, output, config));
	}
	// ?full=1: decode at full size (the worst case for memory) instead of
	// the scale the sizes need.
	const scale = c.req.query("full") === "1" ? FULL_SCALE : uploadScale(meta, config);
	return c.json(await everySize(storage, meta, output, config, scale));
}

async function everySize(
	storage: Storage,
	meta: UploadMeta,
	output: OutputFormat,
	config: Config,
	scale: number,
) {
	const started = performance.now();
	const sizes = [];
	let decodedBytes = 0;
	let compressedBytes = 0;
	for (const { key, render: plan } of servableFiles(meta, config)) {
		const timing: Record<string, number> = {};
		const rendered = await renderPlan(storage, meta, plan, output, config, { timing, scale });
		sizes.push({ key, bytes: rendered.bytes.byteLength, ...timing, ...rendered.timings });
		decodedBytes = Math.max(decodedBytes, sources.heldBytes);
		compressedBytes = Math.max(compressedBytes, streamedOriginals.heldBytes);
	}
	const ms = performance.now() - started;
	sources.forget();
	streamedOriginals.forget();
	return { ms, sizes, decodedBytes, compressedBytes };
}
