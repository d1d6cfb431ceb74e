/**
 * The streamed path against the shared whole-decode path (the reference),
 * size by size, for an upload small enough to take either:
 * the stream tests of JPEG (stream.integration) and WebP (big-webp).
 */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { loadConfig } from "../src/config";
import type { OutputFormat } from "../src/image/formats";
import type { RGBAImage } from "../src/image/orientation";
import { lookupUpload } from "../src/origin/lookup";
import { Storage } from "../src/origin/storage";
import { renderPlan } from "../src/render/make";
import { servableFiles } from "../src/render/plan";
import { sources } from "../src/state";
import { psnr } from "./images";

export async function expectStreamedLikeWhole(
	upload: { dir: string; name: string; ext: string },
	output: OutputFormat,
	decode: (bytes: Uint8Array) => Promise<RGBAImage>,
	minPsnr: number,
): Promise<void> {
	const config = loadConfig(env);
	const storage = new Storage(env.ORIGINALS, config.limits.r2TimeoutMs);
	const meta = await lookupUpload(storage, upload, config);
	const planned = servableFiles(meta, config);
	expect(planned.length).toBeGreaterThan(0);
	for (const { key, render: plan } of planned) {
		sources.forget();
		const whole = await renderPlan(storage, meta, plan, output, config, { streamed: false });
		const streamed = await renderPlan(storage, meta, plan, output, config, { streamed: true });
		const a = await decode(whole.bytes);
		const b = await decode(streamed.bytes);
		expect([a.width, a.height], key).toEqual([plan.width, plan.height]);
		expect([b.width, b.height], key).toEqual([plan.width, plan.height]);
		expect(psnr(a, b), key).toBeGreaterThanOrEqual(minPsnr);
	}
}
