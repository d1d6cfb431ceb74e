/**
 * jSquash's PNG decoder (the Rust `png` crate, EXPAND | STRIP_16), kept as
 * the reference our decoder (src/image/png-decode.ts) is checked against
 * pixel for pixel, and the bench's baseline. Not used by the worker.
 */
import pngWasm from "@jsquash/png/codec/pkg/squoosh_png_bg.wasm";
import {
	type BindgenExports,
	instantiateBindgen,
	ObjectHeap,
	passBytes,
	throwFrom,
} from "../src/image/bindgen";
import type { RGBAImage } from "../src/image/orientation";
import { KEEP_HEAP_BYTES } from "../src/image/wasm-lazy";

interface PngDecoder extends BindgenExports {
	decode(ptr: number, len: number): number;
}

async function instantiate(): Promise<{ wasm: PngDecoder; heap: ObjectHeap }> {
	const heap = new ObjectHeap();
	const wasm = await instantiateBindgen<PngDecoder>(pngWasm, (exports) => ({
		__wbindgen_memory: () => heap.add(exports().memory),
		__wbg_buffer: (i: number) => heap.add((heap.get(i) as WebAssembly.Memory).buffer),
		__wbg_newwithbyteoffsetandlength: (buf: number, offset: number, len: number) =>
			heap.add(new Uint16Array(heap.get(buf) as ArrayBuffer, offset >>> 0, len >>> 0)),
		__wbindgen_object_drop_ref: (i: number) => heap.take(i),
		// The decoder hands over its RGBA buffer and the size: copy out, free, wrap.
		__wbg_newwithownedu8clampedarrayandsh: (ptr: number, len: number, w: number, h: number) => {
			const wasm = exports();
			const p = ptr >>> 0;
			const data = new Uint8ClampedArray(wasm.memory.buffer.slice(p, p + (len >>> 0)));
			wasm.__wbindgen_free(p, len >>> 0, 1);
			return heap.add({ data, width: w >>> 0, height: h >>> 0 } satisfies RGBAImage);
		},
		__wbindgen_throw: throwFrom(exports),
	}));
	return { wasm, heap };
}

let instance: ReturnType<typeof instantiate> | undefined;

/**
 * Decode a whole PNG with jSquash's decoder (a fresh instance after it
 * throws). With `shed`, the instance is also dropped when its heap ends past
 * KEEP_HEAP_BYTES, as the worker's Lazy did when this decoder was its own:
 * the cost a request paid (the bench's "jsquashShed").
 */
export async function decodePngJsquash(bytes: Uint8Array, shed = false): Promise<RGBAImage> {
	instance ??= instantiate();
	const { wasm, heap } = await instance;
	try {
		return heap.take(wasm.decode(passBytes(wasm, bytes), bytes.byteLength)) as RGBAImage;
	} catch (err) {
		instance = undefined;
		throw err;
	} finally {
		if (shed && wasm.memory.buffer.byteLength > KEEP_HEAP_BYTES) instance = undefined;
	}
}
