/**
 * Our resize kernel (wasm/resize.c, built by wasm/build-resize.sh into
 * src/wasm/resize.wasm): separable lanczos3 (or mitchell, catrom, triangle)
 * with SIMD, from a fractional source window. The module imports nothing; one
 * instance per isolate through `Lazy` (dropped after a trap, shed when its
 * heap grows past KEEP_HEAP_BYTES).
 */
import resizeWasm from "../wasm/resize.wasm";
import type { RGBAImage } from "./orientation";
import { codecStats, Lazy } from "./wasm-lazy";

interface ResizeExports {
	readonly memory: WebAssembly.Memory;
	/** Returns a pointer to int32 { inX, inY, inW, inH, inPtr, outPtr, chunk }. */
	rs_prepare(
		srcW: number,
		srcH: number,
		x: number,
		y: number,
		w: number,
		h: number,
		outW: number,
		outH: number,
		filter: number,
		flags: number,
	): number;
	/** Takes the next `rows` (≤ chunk) source rows at inPtr; returns output rows done. */
	rs_feed(rows: number): number;
}

const resizer = new Lazy<ResizeExports>(
	"resize",
	async () => {
		const instance = await WebAssembly.instantiate(resizeWasm, {});
		return instance.exports as unknown as ResizeExports;
	},
	(wasm) => wasm.memory.buffer.byteLength,
);

export const FILTERS = { triangle: 0, catrom: 1, mitchell: 2, lanczos3: 3 } as const;
export type Filter = keyof typeof FILTERS;
/** Area average; only as the pre-shrink (see ResizeOptions.shrinkGap). */
const BOX = 4;

export interface ResizeOptions {
	readonly filter: Filter;
	/** Filter colours weighted by alpha (for sources with transparent pixels). */
	readonly premultiply: boolean;
	/**
	 * f32 arithmetic instead of 16-bit fixed point (premultiply always uses
	 * it). Same maths; the tests check both paths.
	 */
	readonly float?: boolean;
	/**
	 * When the window is more than `shrinkGap` × the output in both
	 * directions, first area-average it (cheap: about one tap per source
	 * pixel) to about `shrinkGap` × the output, so the filter, whose taps
	 * grow with the reduction, works on a smaller image. Geometry stays exact
	 * (the window maps edge to edge onto the smaller image). Opaque pixels only
	 * (ignored with premultiply). Absent or 0: never.
	 */
	readonly shrinkGap?: number;
}

/** A window in source pixels; fractional edges allowed (x = 12.375). */
export interface SourceWindow {
	readonly x: number;
	readonly y: number;
	readonly w: number;
	readonly h: number;
}

const FLAG_PREMULTIPLY = 1;
const FLAG_FLOAT = 2;

/** Slack for windows computed in floating point (e.g. x + w = width + 1e-12). */
const EDGE_SLACK = 1e-6;

/**
 * Source rows pulled in order, so a resize never needs the whole source in
 * memory (e.g. a JPEG decoded a few rows at a time: jpeg.ts jpegRows). The
 * kernel calls begin, then read for consecutive rows, then end, all in one
 * synchronous run.
 */
export interface RowSource {
	readonly width: number;
	readonly height: number;
	/** Rows y .. y+h-1, columns x .. x+w-1 will be read, at most `chunk` rows at a time. */
	begin(x: number, y: number, w: number, h: number, chunk: number): void;
	/** Write `rows` rows from row y, columns x .. x+w-1, packed (w × 4 bytes a row) into `into`. */
	read(y: number, rows: number, into: Uint8Array): void;
	/** Called once after the last read, or after a failure. */
	end(): void;
}

/** An image in memory as a RowSource. */
export function imageRows(src: RGBAImage): RowSource {
	let x0 = 0;
	let w = src.width;
	return {
		width: src.width,
		height: src.height,
		begin(x, _y, width) {
			x0 = x;
			w = width;
		},
		read(y, rows, into) {
			const rowBytes = w * 4;
			if (w === src.width) {
				into.set(src.data.subarray(y * rowBytes, (y + rows) * rowBytes));
				return;
			}
			for (let r = 0; r < rows; r++) {
				const from = ((y + r) * src.width + x0) * 4;
				into.set(src.data.subarray(from, from + rowBytes), r * rowBytes);
			}
		},
		end() {},
	};
}

function checkArgs(
	src: { width: number; height: number },
	win: SourceWindow,
	width: number,
	height: number,
): void {
	const ok =
		Number.isInteger(width) &&
		Number.isInteger(height) &&
		width >= 1 &&
		height >= 1 &&
		win.w > 0 &&
		win.h > 0 &&
		win.x >= 0 &&
		win.y >= 0 &&
		win.x + win.w <= src.width + EDGE_SLACK &&
		win.y + win.h <= src.height + EDGE_SLACK;
	if (!ok) {
		throw new RangeError(
			`resize: window ${JSON.stringify(win)} of ${src.width}x${src.height} to ${width}x${height}`,
		);
	}
}

/** The size to area-average `win` to before filtering to width × height, if worth it. */
export function preShrinkSize(
	win: SourceWindow,
	width: number,
	height: number,
	gap: number,
): { width: number; height: number } | undefined {
	if (!(gap >= 1)) return undefined;
	const k = Math.floor(Math.min(win.w / width, win.h / height) / gap);
	if (k < 2) return undefined;
	return {
		width: Math.max(width, Math.round(win.w / k)),
		height: Math.max(height, Math.round(win.h / k)),
	};
}

/** One pass of the kernel over `win` of `src`, a chunk of rows at a time. */
function run(
	wasm: ResizeExports,
	src: RowSource,
	win: SourceWindow,
	width: number,
	height: number,
	filter: number,
	flags: number,
): RGBAImage {
	const infoPtr = wasm.rs_prepare(
		src.width,
		src.height,
		win.x,
		win.y,
		win.w,
		win.h,
		width,
		height,
		filter,
		flags,
	);
	// Read after rs_prepare: growing the memory replaced its buffer (rs_feed
	// allocates nothing).
	const heap = new Uint8Array(wasm.memory.buffer);
	const [inX = 0, inY = 0, inW = 0, inH = 0, inPtr = 0, outPtr = 0, chunk = 1] = new Int32Array(
		heap.buffer,
		infoPtr,
		7,
	);
	// Only the rows and columns the filter reads, a chunk of rows at a time.
	const rowBytes = inW * 4;
	src.begin(inX, inY, inW, inH, chunk);
	try {
		for (let y = 0; y < inH; y += chunk) {
			const rows = Math.min(chunk, inH - y);
			src.read(inY + y, rows, heap.subarray(inPtr, inPtr + rows * rowBytes));
			wasm.rs_feed(rows);
		}
	} finally {
		src.end();
	}
	const data = new Uint8ClampedArray(width * height * 4);
	data.set(new Uint8Array(wasm.memory.buffer, outPtr, data.length));
	return { data, width, height };
}

/**
 * Resize the `win` window of `src` to width × height: output pixel centres
 * map edge to edge onto the window, the filter is widened by the reduction
 * factor when reducing, taps beyond the image repeat its edge pixels.
 */
export async function resizeRGBA(
	src: RGBAImage,
	win: SourceWindow,
	width: number,
	height: number,
	options: ResizeOptions,
): Promise<RGBAImage> {
	if (src.data.length !== src.width * src.height * 4) {
		throw new RangeError(`resize: ${src.data.length} bytes for ${src.width}x${src.height}`);
	}
	return resizeRows(imageRows(src), win, width, height, options);
}

/** resizeRGBA from rows pulled in order (RowSource): the source is never held whole. */
export async function resizeRows(
	src: RowSource,
	win: SourceWindow,
	width: number,
	height: number,
	options: ResizeOptions,
): Promise<RGBAImage> {
	checkArgs(src, win, width, height);
	codecStats.resizes++;
	const flags = (options.premultiply ? FLAG_PREMULTIPLY : 0) | (options.float ? FLAG_FLOAT : 0);
	const filter = FILTERS[options.filter];
	const shrunk = options.premultiply
		? undefined
		: preShrinkSize(win, width, height, options.shrinkGap ?? 0);
	return resizer.use((wasm) => {
		if (!shrunk) return run(wasm, src, win, width, height, filter, flags);
		const small = run(wasm, src, win, shrunk.width, shrunk.height, BOX, flags);
		const all = { x: 0, y: 0, w: small.width, h: small.height };
		return run(wasm, imageRows(small), all, width, height, filter, flags);
	});
}
