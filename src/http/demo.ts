/**
 * The demo page (`GET /` when DEMO_PAGE is on; `npm start` turns it on). For
 * each upload in the bucket it shows the `<img>` WordPress would print, with
 * the srcset/sizes from the size table, and a grid of every file the table
 * lists, with its dimensions, bytes and edge-cache state (read by the page's
 * script from X-Cache). No framework: one server-rendered page.
 */
import type { Context } from "hono";
import { Storage } from "../origin/storage";
import { encodeKey, parseUploadPath, type UploadName, uploadKeys } from "../url/path";
import { keepAlive } from "../util/shared";
import { type SizeTable, sizeTableFor } from "../wp/size-table";
import { ImageError } from "./errors";
import type { AppEnv } from "./respond";

/** Bounds on the listing: one page of keys, at most this many uploads shown. */
export const DEMO_MAX_KEYS = 1000;
export const DEMO_MAX_UPLOADS = 24;

/** Upload names behind a bucket listing: copies fold into their upload, sub-size files are skipped. */
export function uploadsInListing(keys: readonly string[], max = DEMO_MAX_UPLOADS): UploadName[] {
	const seen = new Map<string, UploadName>();
	for (const key of keys) {
		let upload: UploadName;
		try {
			// A sub-size file or a key no URL could name is not an upload.
			upload = parseUploadPath(encodeKey(key));
		} catch {
			continue;
		}
		const id = uploadKeys(upload).upload;
		if (!seen.has(id)) seen.set(id, upload);
		if (seen.size >= max) break;
	}
	return [...seen.values()];
}

const ESCAPES: Record<string, string> = {
	"&": "&amp;",
	"<": "&lt;",
	">": "&gt;",
	'"': "&quot;",
	"'": "&#39;",
};
const esc = (s: string | number): string =>
	String(s).replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);

type Row = { upload: UploadName; table?: SizeTable; error?: string; tableUrl: string };

function section(row: Row): string {
	const title = uploadKeys(row.upload).upload;
	const head = `<h2>${esc(title)} <a href="${esc(row.tableUrl)}">size table</a></h2>`;
	const { table } = row;
	if (!table)
		return `<section class="upload" data-key="${esc(title)}">${head}<p class="error">${esc(row.error ?? "")}</p></section>`;
	const hero = `<img class="hero" alt="${esc(title)}" src="${esc(table.file)}"${
		table.srcset ? ` srcset="${esc(table.srcset)}"` : ""
	} sizes="${esc(table.sizes_attr)}" width="${table.width}" height="${table.height}" data-width="${table.width}">`;
	const cells = Object.entries(table.sizes)
		.map(
			([name, s]) =>
				// Drawn at a third of its size, so the grid shows the sizes relative to each other.
				`<figure class="size" style="width:${Math.max(150, Math.round(s.width / 3))}px" data-name="${esc(name)}" data-url="${esc(s.file)}" data-width="${s.width}" data-height="${s.height}">` +
				`<img alt="${esc(name)}" width="${s.width}" height="${s.height}" style="width:${Math.round(s.width / 3)}px">` +
				`<figcaption><b>${esc(name)}</b> ${s.width}×${s.height} · <span class="bytes">…</span> · <span class="cache">…</span></figcaption></figure>`,
		)
		.join("");
	return `<section class="upload" data-key="${esc(title)}">${head}
<p class="meta">full size ${table.width}×${table.height}, ${table.filesize} bytes · <span class="picked">…</span></p>
${hero}
<div class="grid">${cells}</div></section>`;
}

const STYLE = `body{font:15px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 6px;word-break:break-all}
.hero{display:block;max-width:100%;height:auto;background:#ddd}
.grid{display:flex;flex-wrap:wrap;align-items:flex-start;gap:10px;margin-top:10px}
figure{margin:0;background:#fff;border:1px solid #ddd;padding:6px}
figure img{display:block;max-width:100%;height:auto;background:#eee}
figcaption{font-size:12px;margin-top:4px}.cache{font-weight:bold}
figure[data-cache=HIT] .cache{color:#080}figure[data-cache=MISS] .cache{color:#b60}
.error{color:#a00}.meta{font-size:13px;color:#555;margin:0 0 6px}`;

// Each listed file is fetched past the browser's cache (to see the edge
// cache's state), a few at a time, then shown from the fetched bytes.
const SCRIPT = `
const cells = [...document.querySelectorAll("figure.size")];
async function show(fig) {
  const res = await fetch(fig.dataset.url, { cache: "no-store" });
  const blob = await res.blob();
  fig.dataset.status = String(res.status);
  fig.dataset.cache = res.headers.get("X-Cache") || "none";
  fig.dataset.bytes = String(blob.size);
  fig.querySelector(".bytes").textContent = blob.size.toLocaleString("en") + " bytes";
  fig.querySelector(".cache").textContent = res.status === 200 ? fig.dataset.cache : "HTTP " + res.status;
  const img = fig.querySelector("img");
  await new Promise((done) => { img.onload = img.onerror = done; img.src = URL.createObjectURL(blob); });
}
async function worker() { for (let fig; (fig = cells.shift()); ) await show(fig); }
function picked() {
  for (const img of document.querySelectorAll("img.hero")) {
    const note = img.closest("section").querySelector(".picked");
    note.textContent = "browser picked " + (img.currentSrc || img.src).split("/").pop();
  }
}
Promise.all([1, 2, 3, 4].map(worker)).finally(() => {
  picked();
  document.body.dataset.ready = "true";
});
`;

/** `GET /`: the demo page for the uploads under DEMO_PREFIX. */
export async function serveDemo(c: Context<AppEnv>): Promise<Response> {
	const { config } = c.var;
	const origin = new URL(c.req.url).origin;
	const storage = new Storage(c.env.ORIGINALS, config.limits.r2TimeoutMs);
	const uploads = uploadsInListing(await storage.list(config.demoPrefix, DEMO_MAX_KEYS));
	const rows = await Promise.all(
		uploads.map(async (upload): Promise<Row> => {
			const key = uploadKeys(upload).upload;
			const tableUrl = `${config.sizesPath}/${encodeKey(key)}`;
			try {
				return {
					upload,
					tableUrl,
					table: await sizeTableFor(c.env, config, origin, upload, keepAlive(c.executionCtx)),
				};
			} catch (err) {
				if (!(err instanceof ImageError)) throw err;
				return { upload, tableUrl, error: `${err.status}: ${err.publicMessage}` };
			}
		}),
	);
	const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wp-edge-images demo</title><style>${STYLE}</style></head>
<body><h1>wp-edge-images demo</h1>
<p>${rows.length} upload(s) under <code>${esc(config.demoPrefix || "/")}</code>. Each is shown as WordPress prints it (srcset and sizes from the size table), then every size the worker serves for it, with its bytes and edge-cache state.</p>
${rows.map(section).join("\n")}
<script type="module">${SCRIPT}</script></body></html>`;
	return new Response(c.req.method === "HEAD" ? null : html, {
		headers: {
			"Content-Type": "text/html; charset=utf-8",
			"Cache-Control": "no-store",
			"X-Content-Type-Options": "nosniff",
		},
	});
}
