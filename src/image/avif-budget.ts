/**
 * Which sizes get an AVIF at all: the WASM encoder (libaom, one thread) is
 * slow, so a size whose encode would take longer than AVIF_BUDGET_MS stays on
 * WebP for every client. The estimate is linear in output pixels, from the
 * slowest measurement at AVIF_DEFAULTS (BENCHMARKS.md "AVIF"): 1200x800 took
 * up to 1.3 s under load, ~1.4 s per megapixel. Pure.
 */

/** Longest AVIF encode the queue consumer takes on for one size (ms). */
export const AVIF_BUDGET_MS = 2500;
/** Worst measured encode time per output megapixel at AVIF_DEFAULTS (ms). */
export const AVIF_MS_PER_MEGAPIXEL = 1400;

/** Estimated encode time of a width × height AVIF (ms). */
export function avifEstimateMs(width: number, height: number): number {
	return ((width * height) / 1e6) * AVIF_MS_PER_MEGAPIXEL;
}

/** Whether a size of width × height is made as AVIF (else it stays WebP). */
export function avifWithinBudget(width: number, height: number): boolean {
	return avifEstimateMs(width, height) <= AVIF_BUDGET_MS;
}
