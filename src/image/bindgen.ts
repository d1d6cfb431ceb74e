/**
 * Just enough wasm-bindgen glue to run the Rust codecs (oxipng; jSquash's PNG
 * decoder, the tests' reference)
 * from statically imported `.wasm` modules. The generated glue keeps its
 * instance in module state and cannot make a second one, so a trap would
 * poison it for the isolate's life; this glue makes a fresh instance on
 * demand (see `Lazy` in wasm-lazy.ts) and copies bytes straight into WASM memory.
 *
 * Imports are matched by name without wasm-bindgen's hash suffix, and an
 * import we do not know fails instantiation loudly (a codec upgrade that
 * needs more glue breaks the tests, not a request).
 */

export interface BindgenExports {
	readonly memory: WebAssembly.Memory;
	__wbindgen_add_to_stack_pointer(delta: number): number;
	__wbindgen_malloc(size: number, align: number): number;
	__wbindgen_free(ptr: number, size: number, align: number): void;
}

// biome-ignore lint/suspicious/noExplicitAny: WASM imports are untyped numbers in and out
type ImportFn = (...args: any[]) => unknown;

/** wasm-bindgen's table of JS objects handed to WASM by index (0..131 are reserved). */
export class ObjectHeap {
	readonly #slots: unknown[] = [...new Array(128).fill(undefined), undefined, null, true, false];
	#next = this.#slots.length;

	add(value: unknown): number {
		if (this.#next === this.#slots.length) this.#slots.push(this.#slots.length + 1);
		const index = this.#next;
		this.#next = this.#slots[index] as number;
		this.#slots[index] = value;
		return index;
	}

	get(index: number): unknown {
		return this.#slots[index];
	}

	take(index: number): unknown {
		const value = this.#slots[index];
		if (index >= 132) {
			this.#slots[index] = this.#next;
			this.#next = index;
		}
		return value;
	}
}

/**
 * Instantiate a wasm-bindgen module. `handlers` maps an import's base name
 * (without the `_<16 hex>` suffix) to its implementation; `exports()` gives
 * handlers the instance once it exists.
 */
export async function instantiateBindgen<T extends BindgenExports>(
	module: WebAssembly.Module,
	handlers: (exports: () => T) => Record<string, ImportFn>,
): Promise<T> {
	let instanceExports: T | undefined;
	const table = handlers(() => {
		if (!instanceExports) throw new Error("wasm-bindgen: instance not ready");
		return instanceExports;
	});
	const imports: Record<string, Record<string, ImportFn>> = {};
	for (const imp of WebAssembly.Module.imports(module)) {
		if (imp.kind !== "function") throw new Error(`wasm-bindgen: unexpected import ${imp.name}`);
		const base = imp.name.replace(/_[0-9a-f]{16}$/, "");
		const fn = table[base];
		if (!fn) throw new Error(`wasm-bindgen: no glue for import ${imp.module}.${imp.name}`);
		imports[imp.module] ??= {};
		(imports[imp.module] as Record<string, ImportFn>)[imp.name] = fn;
	}
	const instance = await WebAssembly.instantiate(module, imports);
	instanceExports = instance.exports as unknown as T;
	return instanceExports;
}

const utf8 = new TextDecoder();

/** The `__wbindgen_throw` import: a Rust panic message becomes a JS Error. */
export function throwFrom(exports: () => BindgenExports): ImportFn {
	return (ptr: number, len: number) => {
		const bytes = new Uint8Array(exports().memory.buffer, ptr >>> 0, len >>> 0);
		throw new Error(utf8.decode(bytes));
	};
}

/** Copy bytes into WASM memory; the callee owns (and frees) them. */
export function passBytes(wasm: BindgenExports, bytes: Uint8Array | Uint8ClampedArray): number {
	const ptr = wasm.__wbindgen_malloc(bytes.byteLength, 1) >>> 0;
	new Uint8Array(wasm.memory.buffer, ptr, bytes.byteLength).set(bytes);
	return ptr;
}

/**
 * Call an export that returns a `Vec<u8>` through a return slot on the
 * shadow stack, copy the bytes out and free them.
 */
export function returningBytes(wasm: BindgenExports, call: (retptr: number) => void): Uint8Array {
	const retptr = wasm.__wbindgen_add_to_stack_pointer(-16);
	try {
		call(retptr);
		const ret = new Int32Array(wasm.memory.buffer, retptr, 2);
		const ptr = (ret[0] ?? 0) >>> 0;
		const len = (ret[1] ?? 0) >>> 0;
		const out = new Uint8Array(wasm.memory.buffer.slice(ptr, ptr + len));
		wasm.__wbindgen_free(ptr, len, 1);
		return out;
	} finally {
		wasm.__wbindgen_add_to_stack_pointer(16);
	}
}
