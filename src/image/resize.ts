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

const createResizer = async () => {
	const instance = await WebAssembly.instantiate(resizeWasm, {});
	return instance.exports as unknown as ResizeExports;
};
const resizerHeap = (wasm: ResizeExports) => wasm.memory.buffer.byteLength;
const resizer = new Lazy<ResizeExports>("resize", createResizer, resizerHeap);

/** Instances for resizeRowsMany (one per output: the kernel holds one resize at a time). */
const pool: Lazy<ResizeExports>[] = [resizer];

/**
 * Instances for resizes from an async RowSource: never the shared ones (a
 * resize holds its kernel across awaits, where another request's would
 * prepare it again), and one such resize at a time per isolate (each holds
 * a file and its outputs; they are CPU-bound on the same thread anyway).
 */
const asyncPool: Lazy<ResizeExports>[] = [];
let asyncQueue: Promise<unknown> = Promise.resolve();

/** Run fn after every async-source resize queued before it has finished. */
function exclusive<R>(fn: () => Promise<R>): Promise<R> {
	const run = asyncQueue.then(fn, fn);
	asyncQueue = run.catch(() => {});
	return run;
}

/** Run fn with n kernel instances at once, each used (and dropped after a trap) by its Lazy. */
function withResizers<R>(
	n: number,
	fn: (all: ResizeExports[]) => R | Promise<R>,
	async = false,
): Promise<R> {
	const from = async ? asyncPool : pool;
	const prefix = async ? "resize-async" : "resize";
	while (from.length < n) {
		from.push(new Lazy(`${prefix}-${from.length + 1}`, createResizer, resizerHeap));
	}
	const go = (k: number, got: ResizeExports[]): Promise<R> =>
		k === n
			? Promise.resolve(fn(got))
			: (from[k] as Lazy<ResizeExports>).use((wasm) => go(k + 1, [...got, wasm]));
	// The extra instances are let go afterwards: their heaps hold whole outputs.
	const all = () =>
		go(0, []).finally(() => {
			for (const lazy of from.slice(async ? 0 : 1)) lazy.reset();
		});
	return async ? exclusive(all) : all();
}

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
 * memory (a JPEG decoded a few rows at a time: jpeg.ts jpegRows; a PNG
 * inflated as it is read: png-decode.ts pngRows). The kernel calls begin,
 * then read for consecutive rows, then end.
 */
export interface RowSource {
	readonly width: number;
	readonly height: number;
	/**
	 * Its rows arrive asynchronously (read returns a promise: a PNG inflated
	 * by DecompressionStream). Such a resize holds its kernel across awaits,
	 * so it gets kernels of its own (see exclusive); a synchronous one runs
	 * on the shared kernel in one synchronous run.
	 */
	readonly async?: boolean;
	/** Rows y .. y+h-1, columns x .. x+w-1 will be read, at most `chunk` rows at a time. */
	begin(x: number, y: number, w: number, h: number, chunk: number): void;
	/** Write `rows` rows from row y, columns x .. x+w-1, packed (w × 4 bytes a row) into `into`. */
	read(y: number, rows: number, into: Uint8Array): void | Promise<void>;
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

/**
 * Largest area-averaged copy (RGBA bytes) a pre-shrink makes: it is held
 * whole in the kernel's heap. Only a streamed big source reaches it (a
 * 50 MP PNG's 1200x800 would average to 4320x2880, 50 MB); its sizes are
 * then filtered straight from the rows.
 */
export const PRE_SHRINK_MAX_BYTES = 16 * 2 ** 20;

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
	const size = {
		width: Math.max(width, Math.round(win.w / k)),
		height: Math.max(height, Math.round(win.h / k)),
	};
	return size.width * size.height * 4 > PRE_SHRINK_MAX_BYTES ? undefined : size;
}

/**
 * Steps of a resize: each yields what src.read returned (a promise from an
 * async source) before the rows are fed. `drive` runs them in one
 * synchronous run; `driveAsync` awaits each read.
 */
type Steps<R> = Generator<void | Promise<void>, R, void>;

function drive<R>(steps: Steps<R>): R {
	for (let next = steps.next(); ; next = steps.next()) {
		if (next.done) return next.value;
		// (thrown into the steps, so the source's end() runs)
		if (next.value instanceof Promise) steps.throw(new TypeError("resize: async rows, sync run"));
	}
}

async function driveAsync<R>(steps: Steps<R>): Promise<R> {
	let next = steps.next();
	while (!next.done) {
		try {
			await next.value;
		} catch (err) {
			// Rethrown at the yield: the source's end() runs on the way out.
			next = steps.throw(err);
			continue;
		}
		next = steps.next();
	}
	return next.value;
}

/** One pass of the kernel over `win` of `src`, a chunk of rows at a time. */
function* run(
	wasm: ResizeExports,
	src: RowSource,
	win: SourceWindow,
	width: number,
	height: number,
	filter: number,
	flags: number,
): Steps<RGBAImage> {
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
	// allocates nothing, and no one else uses this instance until we are done).
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
			yield src.read(inY + y, rows, heap.subarray(inPtr, inPtr + rows * rowBytes));
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
	function* steps(wasm: ResizeExports): Steps<RGBAImage> {
		if (!shrunk) return yield* run(wasm, src, win, width, height, filter, flags);
		const small = yield* run(wasm, src, win, shrunk.width, shrunk.height, BOX, flags);
		const all = { x: 0, y: 0, w: small.width, h: small.height };
		return yield* run(wasm, imageRows(small), all, width, height, filter, flags);
	}
	if (src.async) {
		codecStats.asyncResizes++;
		return withResizers(1, ([wasm]) => driveAsync(steps(wasm as ResizeExports)), true);
	}
	return resizer.use((wasm) => drive(steps(wasm)));
}

/** One resize of several fed from the same rows (resizeRowsMany). */
export interface ResizeTarget {
	readonly win: SourceWindow;
	readonly width: number;
	readonly height: number;
	readonly options: ResizeOptions;
}

/** A kernel prepared for one target: where its rows go, and how many wait to be fed. */
interface Feed {
	readonly wasm: ResizeExports;
	readonly info: Int32Array;
	readonly width: number;
	readonly height: number;
	pending: number;
}

function prepare(wasm: ResizeExports, src: RowSource, t: ResizeTarget, size: OutputSize): Feed {
	const flags = (t.options.premultiply ? FLAG_PREMULTIPLY : 0) | (t.options.float ? FLAG_FLOAT : 0);
	const filter = size.box ? BOX : FILTERS[t.options.filter];
	const { win } = t;
	const at = wasm.rs_prepare(
		src.width,
		src.height,
		win.x,
		win.y,
		win.w,
		win.h,
		size.width,
		size.height,
		filter,
		flags,
	);
	const info = new Int32Array(wasm.memory.buffer, at, 7).slice();
	return { wasm, info, width: size.width, height: size.height, pending: 0 };
}

interface OutputSize {
	readonly width: number;
	readonly height: number;
	/** The area pre-shrink pass (the filter pass follows from its output). */
	readonly box: boolean;
}

/** Copy source row y (columns x0.. of `row`) into each kernel that reads it; feed full chunks. */
function deliver(feeds: readonly Feed[], y: number, row: Uint8Array, x0: number): void {
	for (const f of feeds) {
		const [inX = 0, inY = 0, inW = 0, inH = 0, inPtr = 0, , chunk = 1] = f.info;
		if (y < inY || y >= inY + inH) continue;
		const rowBytes = inW * 4;
		const from = (inX - x0) * 4;
		new Uint8Array(f.wasm.memory.buffer).set(
			row.subarray(from, from + rowBytes),
			inPtr + f.pending * rowBytes,
		);
		f.pending++;
		if (f.pending === chunk || y === inY + inH - 1) {
			f.wasm.rs_feed(f.pending);
			f.pending = 0;
		}
	}
}

/** Rows read from the source per step in resizeRowsMany. */
const MANY_CHUNK_ROWS = 16;

/** One pass over `src` feeding every kernel; returns each kernel's output. */
function* runMany(src: RowSource, feeds: readonly Feed[]): Steps<RGBAImage[]> {
	const x0 = Math.min(...feeds.map((f) => f.info[0] ?? 0));
	const y0 = Math.min(...feeds.map((f) => f.info[1] ?? 0));
	const x1 = Math.max(...feeds.map((f) => (f.info[0] ?? 0) + (f.info[2] ?? 0)));
	const y1 = Math.max(...feeds.map((f) => (f.info[1] ?? 0) + (f.info[3] ?? 0)));
	const rowBytes = (x1 - x0) * 4;
	const buffer = new Uint8Array(rowBytes * MANY_CHUNK_ROWS);
	src.begin(x0, y0, x1 - x0, y1 - y0, MANY_CHUNK_ROWS);
	try {
		for (let y = y0; y < y1; y += MANY_CHUNK_ROWS) {
			const rows = Math.min(MANY_CHUNK_ROWS, y1 - y);
			yield src.read(y, rows, buffer.subarray(0, rows * rowBytes));
			for (let r = 0; r < rows; r++) {
				deliver(feeds, y + r, buffer.subarray(r * rowBytes, (r + 1) * rowBytes), x0);
			}
		}
	} finally {
		src.end();
	}
	return feeds.map((f) => {
		const data = new Uint8ClampedArray(f.width * f.height * 4);
		data.set(new Uint8Array(f.wasm.memory.buffer, f.info[5] ?? 0, data.length));
		return { data, width: f.width, height: f.height };
	});
}

/** The filter pass after an area pre-shrink (sizes[k].box), on that target's kernel. */
function filterPass(wasm: ResizeExports, image: RGBAImage, t: ResizeTarget): RGBAImage {
	const flags = t.options.float ? FLAG_FLOAT : 0;
	const all = { x: 0, y: 0, w: image.width, h: image.height };
	return drive(
		run(wasm, imageRows(image), all, t.width, t.height, FILTERS[t.options.filter], flags),
	);
}

/**
 * Several resizes of one source in one pass over its rows (e.g. every size
 * of an upload from one streamed decode): each target gets its own kernel
 * instance, holding its output and a few rows; the source is read once, in
 * order. Same pixels as resizeRows per target.
 */
export async function resizeRowsMany(
	src: RowSource,
	targets: readonly ResizeTarget[],
): Promise<RGBAImage[]> {
	for (const t of targets) checkArgs(src, t.win, t.width, t.height);
	codecStats.resizes += targets.length;
	if (src.async) codecStats.asyncResizes += targets.length;
	const sizes = targets.map((t): OutputSize => {
		const shrunk = t.options.premultiply
			? undefined
			: preShrinkSize(t.win, t.width, t.height, t.options.shrinkGap ?? 0);
		return shrunk ? { ...shrunk, box: true } : { width: t.width, height: t.height, box: false };
	});
	const finish = (wasms: ResizeExports[], firstPass: RGBAImage[]) =>
		firstPass.map((image, k) =>
			sizes[k]?.box
				? filterPass(wasms[k] as ResizeExports, image, targets[k] as ResizeTarget)
				: image,
		);
	return withResizers(
		targets.length,
		async (wasms) => {
			const feeds = targets.map((t, k) =>
				prepare(wasms[k] as ResizeExports, src, t, sizes[k] as OutputSize),
			);
			const steps = runMany(src, feeds);
			return finish(wasms, src.async ? await driveAsync(steps) : drive(steps));
		},
		src.async,
	);
}
