#!/usr/bin/env node
// Put the fixture originals into the local R2 bucket that `wrangler dev` uses
// (.wrangler/state), so `npm start` serves real photos with no Cloudflare
// account. Idempotent: an object whose bytes are already there is skipped.
// `--persist-to DIR` seeds the state `wrangler dev --persist-to DIR` uses
// instead (the e2e test keeps its own, away from the dev one).
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join, relative } from "node:path";
import { getPlatformProxy } from "wrangler";

const root = new URL("../fixtures/originals/", import.meta.url).pathname;
const TYPES = {
	".jpg": "image/jpeg",
	".jpeg": "image/jpeg",
	".png": "image/png",
	".webp": "image/webp",
	".gif": "image/gif",
};

async function* walk(dir) {
	for (const entry of await readdir(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) yield* walk(path);
		else if (entry.isFile() && extname(entry.name) in TYPES) yield path;
	}
}

const at = process.argv.indexOf("--persist-to");
const persistTo = at > 0 ? process.argv[at + 1] : undefined;
if (at > 0 && !persistTo) throw new Error("--persist-to needs a directory");
// wrangler dev --persist-to DIR keeps its local state under DIR/v3.
const { env, dispose } = await getPlatformProxy({
	persist: persistTo ? { path: join(persistTo, "v3") } : true,
});
let put = 0;
let kept = 0;
try {
	for await (const file of walk(root)) {
		const key = relative(root, file).split("\\").join("/");
		const bytes = await readFile(file);
		const md5 = createHash("md5").update(bytes).digest("hex");
		const existing = await env.ORIGINALS.head(key);
		if (existing && existing.etag === md5 && existing.size === bytes.byteLength) {
			kept++;
			continue;
		}
		await env.ORIGINALS.put(key, new Uint8Array(bytes), {
			httpMetadata: { contentType: TYPES[extname(file)] },
		});
		put++;
	}
} finally {
	await dispose();
}
console.log(`seeded local R2 bucket: ${put} written, ${kept} already there`);
