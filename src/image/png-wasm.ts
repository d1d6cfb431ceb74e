/**
 * Our PNG codec's WASM module (wasm/png.c, built by wasm/build-png.sh into
 * src/wasm/png.wasm): the encoder's row packing, filters and libdeflate
 * (png-deflate.ts), and the decoder's libdeflate inflate, unfiltering and
 * expansion to RGBA (png-decode.ts). It imports nothing; one instance per isolate through `Lazy`.
 */
import pngModule from "../wasm/png.wasm";
import { Lazy } from "./wasm-lazy";

export interface PngExports {
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
	/** A decoder's state for rows `width` wide of a colour type and bit depth; 0 if out of memory. */
	pd_new(width: number, colourType: number, bitDepth: number): number;
	pd_free(state: number): void;
	/** Next rows are `width` wide (an Adam7 pass), the row above zeros; 0 if out of memory. */
	pd_segment(state: number, width: number): number;
	/** Where the 256 RGBA palette entries go. */
	pd_palette(state: number): number;
	/** tRNS colour key (grey: k0 only), at the file's bit depth. */
	pd_key(state: number, k0: number, k1: number, k2: number): void;
	/** Inflated in[0..n) to at most maxRows RGBA rows at out: rows written, -1 bad filter type. */
	pd_rows(state: number, input: number, n: number, out: number, maxRows: number): number;
	/** Input bytes the last pd_rows took. */
	pd_consumed(state: number): number;
	/** IDAT's zlib stream in[0..n) inflated whole into exactly cap bytes at out: 1, else 0. */
	pd_inflate(input: number, n: number, out: number, cap: number): number;
}

export const pngWasm = new Lazy<PngExports>(
	"png",
	async () => (await WebAssembly.instantiate(pngModule, {})).exports as unknown as PngExports,
	(wasm) => wasm.memory.buffer.byteLength,
);

/** An allocation in the module's heap (read it through a fresh view: the heap may grow). */
export function heapAlloc(wasm: PngExports, n: number): number {
	const ptr = wasm.pe_malloc(n);
	if (!ptr) throw new Error("PNG codec: out of memory");
	return ptr;
}
