import { env } from "cloudflare:test";

/** The test-only FIXTURES service binding (see vitest.config.ts). */
function fixtures(): Fetcher {
	return (env as unknown as { FIXTURES: Fetcher }).FIXTURES;
}

/** Bytes of a file under the repo's `fixtures/` folder, e.g. `originals/2025/09/autumn-tiny.jpg`. */
export async function fixtureBytes(path: string): Promise<Uint8Array> {
	const res = await fixtures().fetch(`http://fixtures/${path}`);
	if (!res.ok) throw new Error(`fixture ${path}: ${res.status}`);
	return new Uint8Array(await res.arrayBuffer());
}

/**
 * Index of the first byte where two pixel buffers differ (-1: identical,
 * also in length). Deep equality on megapixel arrays takes the test runner
 * seconds per image; this takes milliseconds.
 */
export function firstDifference(
	a: ArrayLike<number> | undefined,
	b: ArrayLike<number> | undefined,
): number {
	if (!a || !b) return 0;
	const n = Math.min(a.length, b.length);
	for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
	return a.length === b.length ? -1 : n;
}
