/**
 * Routes for `npm run bench` only, mounted when BENCH_ROUTES=1 (the bench's
 * own wrangler config sets it; wrangler.jsonc never does). They expose
 * counters and WASM heap sizes, the render plan the worker uses (so sharp can
 * cut the same window), a one-decode render of every size, and a reset so a
 * run is a cold miss in a warm isolate.
 */
import type { Hono } from "hono";
import { codecStats, wasmMemory, wasmPeakMemory } from "../image/codecs";
import { extensionFormat } from "../origin/extensions";
import { lookupUpload } from "../origin/lookup";
import { Storage } from "../origin/storage";
import { renderPlan, uploadScale } from "../render/make";
import { matchSize, planRender, servableFiles } from "../render/plan";
import { FULL_SCALE } from "../render/scale";
import { directory, queueStats, sources } from "../state";
import { parseImagePath } from "../url/path";
import { BadRequestError } from "./errors";
import type { AppEnv } from "./respond";

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
			queue: queueStats,
		}),
	);

	app.post("/__bench/reset", (c) => {
		sources.forget();
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
	app.get("/__bench/all/*", async (c) => {
		const { config } = c.var;
		const path = derivativeOf(c.req.path.slice("/__bench/all/".length));
		const storage = new Storage(c.env.ORIGINALS, config.limits.r2TimeoutMs);
		const meta = await lookupUpload(storage, path, config);
		const output = extensionFormat(path.ext) ?? "jpeg";
		if (output !== "jpeg" && output !== "png" && output !== "webp") {
			throw new BadRequestError("No sizes for this format");
		}
		sources.forget();
		const started = performance.now();
		const sizes = [];
		let decodedBytes = 0;
		// ?full=1: decode at full size (the worst case for memory) instead of
		// the scale the sizes need.
		const scale = c.req.query("full") === "1" ? FULL_SCALE : uploadScale(meta, config);
		for (const { key, render: plan } of servableFiles(meta, config)) {
			const timing: Record<string, number> = {};
			const rendered = await renderPlan(storage, meta, plan, output, config, { timing, scale });
			sizes.push({ key, bytes: rendered.bytes.byteLength, ...timing, ...rendered.timings });
			decodedBytes = Math.max(decodedBytes, sources.heldBytes);
		}
		const ms = performance.now() - started;
		sources.forget();
		return c.json({ ms, sizes, decodedBytes });
	});
}
