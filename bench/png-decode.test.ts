/**
 * PNG decode times in workerd (not part of `npm test`): our decoder
 * (png-decode.ts: libdeflate's inflate, wasm/png.c's unfilter and RGBA)
 * against jSquash's (Rust `png` crate, test/jsquash-png.ts), whole image,
 * best of 3 each: jSquash's on a warm instance, and dropped after a call
 * that left its heap past KEEP_HEAP_BYTES (as the worker's Lazy sheds it);
 * and the runtime's streaming inflate alone (what ours used before libdeflate).
 * One JSON line per file.
 *
 *   npx vitest run -c bench/vitest.config.ts bench/png-decode.test.ts
 */
import { beforeAll, describe, it } from "vitest";
import { decodePngImage, readPng } from "../src/image/png-decode";
import { fixtureBytes } from "../test/helpers";
import { decodePngJsquash } from "../test/jsquash-png";
import { PNG_FIXTURES } from "../test/png-fixtures";

const FILES = PNG_FIXTURES;

/** Only the runtime's streaming inflate of IDAT, read to the end. */
async function inflateAll(bytes: Uint8Array): Promise<void> {
	const stream = new DecompressionStream("deflate");
	const writer = stream.writable.getWriter();
	const feed = (async () => {
		for (const data of readPng(bytes).idat) await writer.write(data.slice());
		await writer.close();
	})();
	const reader = stream.readable.getReader();
	let chunks = 0;
	let total = 0;
	for (let r = await reader.read(); !r.done; r = await reader.read()) {
		chunks++;
		total += r.value.length;
	}
	await feed.catch(() => {});
	lastInflate = { chunks, total };
}
let lastInflate = { chunks: 0, total: 0 };

const files = new Map<string, Uint8Array>();

async function best(fn: () => Promise<unknown>): Promise<number> {
	let ms = Number.POSITIVE_INFINITY;
	for (let i = 0; i < 3; i++) {
		const start = performance.now();
		await fn();
		ms = Math.min(ms, performance.now() - start);
	}
	return Math.round(ms * 10) / 10;
}

describe("PNG decode in workerd", () => {
	beforeAll(async () => {
		for (const file of FILES) files.set(file, await fixtureBytes(file));
	});

	it.each(FILES)(
		"%s",
		async (file) => {
			const bytes = files.get(file) as Uint8Array;
			const theirs = await decodePngJsquash(bytes);
			const row = {
				file,
				size: `${theirs.width}x${theirs.height}`,
				jsquash: await best(() => decodePngJsquash(bytes)),
				jsquashShed: await best(() => decodePngJsquash(bytes, true)),
				ours: await best(() => decodePngImage(bytes)),
				inflateOnly: await best(() => inflateAll(bytes)),
			};
			console.log(JSON.stringify({ ...row, ...lastInflate }));
		},
		120_000,
	);
});
