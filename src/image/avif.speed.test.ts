/**
 * AVIF encode time per size and libaom speed, measured inside workerd (the
 * numbers in BENCHMARKS.md). Off by default, it takes a minute:
 *   VITE_AVIF_SPEED=1 npx vitest run src/image/avif.speed.test.ts
 */
import { describe, expect, it } from "vitest";
import { fixtureBytes } from "../../test/helpers";
import { avifPeakHeap, decodeAvif, encodeAvif } from "./avif";
import { decodeJpeg } from "./jpeg";
import { resizeRGBA } from "./resize";

const SEED = "originals/2025/09/AdobeStock_1228396051_Editorial_Use_Only-scaled.jpeg";
const SIZES = [
	[150, 150],
	[730, 487],
	[1200, 800],
] as const;
const SPEEDS = [6, 8, 10];
const RUNS = 3;

/** Workers' clocks only move across I/O: read one after a tiny fetch (~1 ms, measured below). */
async function now(): Promise<number> {
	await fixtureBytes("hostile/small.png");
	return performance.now();
}

const env = (import.meta as unknown as { env: Record<string, string | undefined> }).env;

describe.runIf(env.VITE_AVIF_SPEED)("AVIF encode time (quality 50)", () => {
	it("per size and speed, median of 3", async () => {
		const seed = await decodeJpeg(await fixtureBytes(SEED));
		const t = await now();
		const rows = [
			`clock read overhead ${((await now()) - t).toFixed(1)} ms`,
			"size       speed  median ms  bytes",
		];
		for (const [w, h] of SIZES) {
			// 150x150 is WordPress's crop: the centre square of the 2560x1707 seed.
			const side = Math.min(seed.width, seed.height);
			const win =
				w === h
					? { x: (seed.width - side) / 2, y: 0, w: side, h: side }
					: { x: 0, y: 0, w: seed.width, h: seed.height };
			const image = await resizeRGBA(seed, win, w, h, { filter: "lanczos3", premultiply: false });
			await encodeAvif(image, { quality: 50, speed: 10 }); // instantiate first
			for (const speed of SPEEDS) {
				const times: number[] = [];
				let size = 0;
				for (let k = 0; k < RUNS; k++) {
					const t0 = await now();
					const out = await encodeAvif(image, { quality: 50, speed });
					times.push((await now()) - t0);
					size = out.length;
					expect((await decodeAvif(out)).width).toBe(w);
				}
				const median = times.sort((a, b) => a - b)[1] ?? 0;
				rows.push(
					`${`${w}x${h}`.padEnd(10)} ${String(speed).padStart(5)}  ${median.toFixed(0).padStart(9)}  ${size}`,
				);
			}
		}
		const { decoder, encoder } = avifPeakHeap();
		rows.push(`peak WASM heap: encoder ${encoder / 2 ** 20} MiB, decoder ${decoder / 2 ** 20} MiB`);
		console.log(rows.join("\n"));
	});
});
