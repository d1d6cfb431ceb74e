/**
 * Resizing a source that arrives a row at a time (a big PNG as it is
 * inflated, png-decode.ts): the rows are fed to our resize kernel
 * (wasm/resize.c) as they come, so the source's pixels are never held whole.
 * The kernel keeps its state between feeds and the rows arrive across
 * awaits, so each stream gets its own kernel instance, dropped afterwards,
 * and streams run one at a time per isolate (each is CPU-bound on the same
 * thread anyway; one at a time bounds the memory they hold together).
 */
import resizeWasm from "../wasm/resize.wasm";
import { codecStats } from "./codecs";
import type { RGBAImage } from "./orientation";
import { FILTERS, type ResizeOptions, type SourceWindow } from "./resize";

interface ResizeExports {
	readonly memory: WebAssembly.Memory;
	rs_prepare(...args: number[]): number;
	rs_feed(rows: number): number;
}

/** A source read top to bottom: rows(onRow) calls onRow(rgba, y) for each row, in order. */
export interface RowSource {
	readonly width: number;
	readonly height: number;
	/** onRow returns false when no more rows are needed (the reader may stop). */
	rows(onRow: (rgba: Uint8Array, y: number) => boolean): Promise<void>;
}

/** What streams cost: the largest kernel heap one reached (bytes). */
export const streamStats = { peakHeap: 0, streams: 0 };

const FLAG_PREMULTIPLY = 1;
const FLAG_FLOAT = 2;

let queue: Promise<unknown> = Promise.resolve();

/** Run fn after every stream queued before it has finished. */
function oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
	const run = queue.then(fn, fn);
	queue = run.catch(() => {});
	return run;
}

/** Resize window `win` of a streamed source to width × height (see resizeRGBA). */
export function resizeStream(
	src: RowSource,
	win: SourceWindow,
	width: number,
	height: number,
	options: ResizeOptions,
): Promise<RGBAImage> {
	const ok =
		Number.isInteger(width) &&
		Number.isInteger(height) &&
		width >= 1 &&
		height >= 1 &&
		win.w > 0 &&
		win.h > 0 &&
		win.x >= 0 &&
		win.y >= 0 &&
		win.x + win.w <= src.width + 1e-6 &&
		win.y + win.h <= src.height + 1e-6;
	if (!ok) {
		throw new RangeError(
			`resize: window ${JSON.stringify(win)} of ${src.width}x${src.height} to ${width}x${height}`,
		);
	}
	codecStats.resizes++;
	return oneAtATime(() => run(src, win, width, height, options));
}

async function run(
	src: RowSource,
	win: SourceWindow,
	width: number,
	height: number,
	options: ResizeOptions,
): Promise<RGBAImage> {
	codecStats.instantiations++;
	const instance = await WebAssembly.instantiate(resizeWasm, {});
	const wasm = instance.exports as unknown as ResizeExports;
	const flags = (options.premultiply ? FLAG_PREMULTIPLY : 0) | (options.float ? FLAG_FLOAT : 0);
	const infoPtr = wasm.rs_prepare(
		src.width,
		src.height,
		win.x,
		win.y,
		win.w,
		win.h,
		width,
		height,
		FILTERS[options.filter],
		flags,
	);
	// Read after rs_prepare (it may grow the memory); rs_feed allocates nothing.
	const heap = new Uint8Array(wasm.memory.buffer);
	const [inX = 0, inY = 0, inW = 0, inH = 0, inPtr = 0, outPtr = 0, chunk = 1] = new Int32Array(
		heap.buffer,
		infoPtr,
		7,
	);
	let held = 0;
	let fed = 0;
	await src.rows((rgba, y) => {
		if (y < inY) return true;
		if (y >= inY + inH) return false;
		heap.set(rgba.subarray(inX * 4, (inX + inW) * 4), inPtr + held * inW * 4);
		held++;
		if (held === chunk || fed + held === inH) {
			wasm.rs_feed(held);
			fed += held;
			held = 0;
		}
		return fed < inH;
	});
	if (fed !== inH) throw new RangeError(`resize stream: ${fed} of ${inH} rows arrived`);
	streamStats.peakHeap = Math.max(streamStats.peakHeap, wasm.memory.buffer.byteLength);
	streamStats.streams++;
	const data = new Uint8ClampedArray(width * height * 4);
	data.set(new Uint8Array(wasm.memory.buffer, outPtr, data.length));
	return { data, width, height };
}
