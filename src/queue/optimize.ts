/**
 * The queue's oxipng pass over PNG sizes (optimizePng in src/image/png.ts),
 * never on the request path: a miss answers at once with our encoder's file,
 * and the tier keeps oxipng's instead when it is at least 5% smaller (same
 * pixels, its own ETag: optimizedEtag), so later cold-edge misses read that.
 */
import type { OxipngOutcome } from "../cache/tier";
import { optimizePng } from "../image/png";
import { log } from "../util/log";

/**
 * Largest size (output pixels) oxipng runs on. Measured in workerd at
 * PNG_LEVEL 1 on photo-like PNGs (goldfish scaled up), quiet machine: 1 MP
 * 1.3 s and 22 MB of WASM heap, 2 MP 2.2 s / 35 MB, 4 MP 4.8 s / 50 MB, 9.7
 * MP 8.9 s / 118 MB (screenshots ~0.3 s a MP, same heap). Up to 2 MP one
 * size's pass stays within what a size's AVIF encode may take
 * (AVIF_BUDGET_MS) on the consumer's isolate, which may be serving requests;
 * past 4 MP its heap nears the isolate's 128 MB next to a decode.
 */
export const OPTIMIZE_MAX_PIXELS = 2_000_000;

/** The bytes the tier keeps for a PNG size, and what the pass decided. */
interface Optimized {
	readonly bytes: Uint8Array;
	/** Absent when oxipng failed: ours are kept unmarked, so a later job tries again. */
	readonly oxipng?: OxipngOutcome;
}

/** oxipng over our encoder's file of a width × height size, within OPTIMIZE_MAX_PIXELS. */
export async function optimizeSize(
	ours: Uint8Array,
	width: number,
	height: number,
	level: number,
	key: string,
): Promise<Optimized> {
	if (width * height > OPTIMIZE_MAX_PIXELS) return { bytes: ours, oxipng: "too-large" };
	try {
		const smaller = await optimizePng(ours, level);
		return smaller ? { bytes: smaller, oxipng: "smaller" } : { bytes: ours, oxipng: "kept" };
	} catch (err) {
		// Ours are valid and already served: a failed optimisation must not lose them.
		const message = err instanceof Error ? err.message : String(err);
		log("error", { queue: "oxipng", key, message });
		return { bytes: ours };
	}
}
