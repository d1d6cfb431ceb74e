// The benches' local Cloudflare: one persisted state directory (R2, KV,
// queues) that a platform proxy seeds and workerd workers then serve from,
// as `npm start` runs them (wrangler local mode, no account).
import { join } from "node:path";
import { getPlatformProxy, unstable_startWorker } from "wrangler";

const root = new URL("..", import.meta.url).pathname;

/** Bindings of wrangler.jsonc over `persist`, to seed it; dispose() when done. */
export function seedingProxy(persist) {
	return getPlatformProxy({
		configPath: join(root, "wrangler.jsonc"),
		persist: { path: join(persist, "v3") },
	});
}

/** A worker from `config` (a wrangler config file) on `persist`, ready, on a free port. */
export async function startLocal(config, persist) {
	const worker = await unstable_startWorker({
		config,
		dev: {
			persist,
			watch: false,
			inspector: false,
			logLevel: "error",
			server: { hostname: "127.0.0.1", port: 0 },
		},
	});
	await worker.ready;
	return worker;
}
