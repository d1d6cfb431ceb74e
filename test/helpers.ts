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
