/**
 * PNG sizes in workerd, for BENCHMARKS.md (not part of `npm test`): for each
 * fixture, every size the seed site's registry makes, rendered from the
 * decode (already made, as the shared decode is) through the real pipeline:
 * resize + (smooth, quantise) + our encoder. Prints one JSON line per size
 * with the best of 3 and the bytes; bench/png-sharp.mjs makes sharp's.
 *
 *   npx vitest run -c bench/vitest.png.config.ts
 */
import { beforeAll, describe, it } from "vitest";
import type { UploadMeta } from "../src/origin/lookup";
import { decodeSource, render } from "../src/render/pipeline";
import { uploadSizes } from "../src/render/plan";
import { RESIZE } from "../src/render/settings";
import { DEFAULT_SIZES } from "../src/wp/sizes";
import { fixtureBytes } from "../test/helpers";

const FILES = ["dashboard-screenshot.png", "goldfish.png", "logo-palette.png"];
const SETTINGS = {
	jpegQuality: 82,
	jpegProgressive: false,
	webpQuality: 86,
	negotiatedWebpQuality: 80,
	pngLevel: 1,
};

const files = new Map<string, Uint8Array>();

describe("PNG sizes in workerd", () => {
	// All read first: a fixture read after minutes of rendering has lost its connection.
	beforeAll(async () => {
		for (const file of FILES) files.set(file, await fixtureBytes(`originals/2025/09/${file}`));
	});

	it.each(FILES)(
		"%s",
		async (file) => {
			const bytes = files.get(file) as Uint8Array;
			const t0 = performance.now();
			const source = await decodeSource("png", bytes);
			const decodeMs = performance.now() - t0;
			const { width, height } = source.image;
			const meta = {
				uploadKey: `2025/09/${file}`,
				width,
				height,
				storedWidth: width,
				storedHeight: height,
			} as UploadMeta;
			for (const size of uploadSizes(meta, DEFAULT_SIZES)) {
				const p = size.plan;
				let best = { ms: Number.POSITIVE_INFINITY, resize: 0, encode: 0, bytes: 0 };
				for (let i = 0; i < 3; i++) {
					const start = performance.now();
					const out = await render({
						source: async () => source,
						format: "png",
						crop: { x: p.srcX, y: p.srcY, w: p.srcW, h: p.srcH },
						width: p.width,
						height: p.height,
						orientation: 1,
						output: "png",
						negotiated: false,
						encode: SETTINGS,
						palette: file.includes("palette"),
						resize: RESIZE,
						deadline: Date.now() + 60_000,
					});
					const ms = performance.now() - start;
					if (ms < best.ms)
						best = {
							ms,
							resize: out.timings.resize,
							encode: out.timings.encode,
							bytes: out.bytes.byteLength,
						};
				}
				console.log(
					JSON.stringify({
						file,
						size: `${p.width}x${p.height}`,
						decodeMs: Math.round(decodeMs),
						...best,
					}),
				);
			}
		},
		600_000,
	);
});
