/**
 * The WASM half of our PNG encoder (wasm/png_encode.c, built by
 * wasm/build-png-encode.sh into src/wasm/png-encode.wasm): rows packed and
 * filtered strip by strip, and libdeflate's zlib output. libdeflate because
 * the runtime's CompressionStream has no level: at zlib's default it spent
 * 75% of a photo PNG's encode (BENCHMARKS.md, "PNG encoder"). The module
 * imports nothing; one instance per isolate through `Lazy`.
 */
import pngEncodeWasm from "../wasm/png-encode.wasm";
import type { RGBAImage } from "./orientation";
import { Lazy } from "./wasm-lazy";

export interface PngEncodeExports {
	readonly memory: WebAssembly.Memory;
	pe_malloc(n: number): number;
	pe_free(ptr: number): void;
	/** Start rows of `width` pixels of a colour type (not palette); 0 if out of memory. */
	pe_start(width: number, colourType: number, bpp: number, adaptive: number): number;
	/** Pack and filter `rows` RGBA rows at rgba into out (filter byte + row each). */
	pe_filter(rgba: number, rows: number, out: number): void;
	/** zlib stream of in[0..n) into out[0..cap): its length, 0 if over cap, -1 out of memory. */
	pe_deflate(input: number, n: number, out: number, cap: number, level: number): number;
	pe_deflate_bound(n: number): number;
}

/**
 * libdeflate's level 7: within 0.2% of zlib level 6's bytes (GD's `imagepng`
 * default, whose bytes ours must not exceed) in half its time; level 6 is
 * 2.5% larger, 8 is 3% smaller at 2.5× the time (goldfish sizes, Node).
 */
export const DEFLATE_LEVEL = 7;

/** RGBA bytes copied into the heap per pe_filter call. */
const STRIP_BYTES = 256 * 1024;

export const pngEncoder = new Lazy<PngEncodeExports>(
	"png-encode",
	async () =>
		(await WebAssembly.instantiate(pngEncodeWasm, {})).exports as unknown as PngEncodeExports,
	(wasm) => wasm.memory.buffer.byteLength,
);

/** An allocation in the encoder's heap (read it through a fresh view: the heap may grow). */
export function heapAlloc(wasm: PngEncodeExports, n: number): number {
	const ptr = wasm.pe_malloc(n);
	if (!ptr) throw new Error("PNG encoder: out of memory");
	return ptr;
}

/**
 * Rows [from, to) of the image, packed as `colourType` (bpp bytes a pixel)
 * and filtered per row (adaptive) or not, written at `out` in the heap as
 * IDAT holds them. The row above `from` counts as zeros.
 */
export function filterRows(
	wasm: PngEncodeExports,
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
export function deflateHeap(wasm: PngEncodeExports, ptr: number, length: number): Uint8Array {
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
