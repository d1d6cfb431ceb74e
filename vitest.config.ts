import { readFile } from "node:fs/promises";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc" },
    miniflare: { serviceBindings: { FIXTURES: async (req: Request) => {
      const p = new URL(req.url).pathname;
      try { return new Response(await readFile(new URL(`./fixtures${p}`, import.meta.url))); } catch { return new Response("no", {status:404}); }
    } } } })],
});
