/**
 * Test-only: the squoosh resize kernel (@jsquash/resize, Rust, lanczos3 in
 * linear light), an implementation independent of ours that the golden tests
 * use as their reference. Production resizes with src/image/resize.ts.
 * A fresh instance per call: nothing a trap or a big image leaves behind.
 */
import resizeWasm from "@jsquash/resize/lib/resize/pkg/squoosh_resize_bg.wasm";
import type { Rect, RGBAImage } from "../src/image/orientation";

interface SquooshExports {
	readonly memory: WebAssembly.Memory;
	resize(
		retptr: number,
		ptr: number,
		len: number,
		iw: number,
		ih: number,
		ow: number,
		oh: number,
		filter: number,
		premultiply: number,
		linearRGB: number,
	): void;
	__wbindgen_add_to_stack_pointer(delta: number): number;
	__wbindgen_malloc(size: number, align: number): number;
	__wbindgen_free(ptr: number, size: number, align: number): void;
}

const LANCZOS3 = 3;

/** Lanczos3 in linear light from the integer `crop` window of `src`, no premultiply. */
export async function squooshResize(
	src: RGBAImage,
	crop: Rect,
	width: number,
	height: number,
): Promise<RGBAImage> {
	const instance = await WebAssembly.instantiate(resizeWasm, {});
	const wasm = instance.exports as unknown as SquooshExports;
	const rowBytes = crop.w * 4;
	const len = rowBytes * crop.h;
	const ptr = wasm.__wbindgen_malloc(len, 1);
	const heap = new Uint8Array(wasm.memory.buffer);
	for (let y = 0; y < crop.h; y++) {
		const from = ((crop.y + y) * src.width + crop.x) * 4;
		heap.set(src.data.subarray(from, from + rowBytes), ptr + y * rowBytes);
	}
	const retptr = wasm.__wbindgen_add_to_stack_pointer(-16);
	// The kernel frees its input and returns a (ptr, len) pair at retptr.
	wasm.resize(retptr, ptr, len, crop.w, crop.h, width, height, LANCZOS3, 0, 1);
	const [outPtr = 0, outLen = 0] = new Int32Array(wasm.memory.buffer, retptr, 2);
	const data = new Uint8ClampedArray(wasm.memory.buffer.slice(outPtr, outPtr + outLen));
	return { data, width, height };
}
