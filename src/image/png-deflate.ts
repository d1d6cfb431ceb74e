/**
 * The WASM half of our PNG encoder (in the PNG module, png-wasm.ts): rows
 * packed and filtered strip by strip, and libdeflate's zlib output. libdeflate because
 * the runtime's CompressionStream has no level: at zlib's default it spent
 * 75% of a photo PNG's encode (BENCHMARKS.md, "PNG encoder").
 */
import type { RGBAImage } from "./orientation";
import { heapAlloc, type PngExports } from "./png-wasm";

/**
 * libdeflate's level 7: within 0.2% of zlib level 6's bytes (GD's `imagepng`
 * default, whose bytes ours must not exceed) in half its time; level 6 is
 * 2.5% larger, 8 is 3% smaller at 2.5× the time (goldfish sizes, Node).
 */
const DEFLATE_LEVEL = 7;

/** RGBA bytes copied into the heap per pe_filter call. */
const STRIP_BYTES = 256 * 1024;

/**
 * Rows [from, to) of the image, packed as `colourType` (bpp bytes a pixel)
 * and filtered per row (adaptive) or not, written at `out` in the heap as
 * IDAT holds them. The row above `from` counts as zeros.
 */
export function filterRows(
	wasm: PngExports,
	image: RGBAImage,
	format: { colourType: number; bpp: number },
	adaptive: boolean,
	[from, to]: readonly [number, number],
	out: number,
): void {
	if (!wasm.pe_start(image.width, format.colourType, format.bpp, adaptive ? 1 : 0)) {
		throw new Error("PNG encoder: out of memory");
	}
	const rgbaRow = image.width * 4;
	const stripRows = Math.max(1, Math.floor(STRIP_BYTES / rgbaRow));
	const strip = heapAlloc(wasm, stripRows * rgbaRow);
	try {
		for (let y = from; y < to; y += stripRows) {
			const n = Math.min(stripRows, to - y);
			const rows = image.data.subarray(y * rgbaRow, (y + n) * rgbaRow);
			new Uint8Array(wasm.memory.buffer).set(rows, strip);
			wasm.pe_filter(strip, n, out + (y - from) * (image.width * format.bpp + 1));
		}
	} finally {
		wasm.pe_free(strip);
	}
}

/** zlib-format deflate of `length` heap bytes at `ptr`. */
export function deflateHeap(wasm: PngExports, ptr: number, length: number): Uint8Array {
	const bound = wasm.pe_deflate_bound(length);
	// Filtered photo rows deflate to under half: ask for that much first, so
	// the heap need not hold the worst case as well.
	for (const cap of [Math.min(bound, (length >> 1) + 4096), bound]) {
		const out = heapAlloc(wasm, cap);
		try {
			const size = wasm.pe_deflate(ptr, length, out, cap, DEFLATE_LEVEL);
			if (size < 0) throw new Error("PNG encoder: out of memory");
			if (size > 0) return new Uint8Array(wasm.memory.buffer, out, size).slice();
		} finally {
			wasm.pe_free(out);
		}
	}
	throw new Error(`PNG encoder: ${length} bytes did not fit libdeflate's own bound`);
}
