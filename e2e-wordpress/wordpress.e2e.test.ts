/**
 * The WordPress plugin against a real WordPress: Debian's `wordpress` package
 * on PHP's built-in server, a MariaDB server of its own (datadir in a temp
 * dir, socket only), `wrangler dev` with the site's sizes, and Chromium.
 *
 * Run with `npm run test:wordpress` (scripts/test-wordpress.sh checks the
 * Debian packages first). Not part of `npm test`: a machine without PHP must
 * stay green there.
 *
 * WP-CLI is packaged neither by Debian nor on npm, so WordPress is driven
 * through php-cli and wp-load.php: e2e-wordpress/wp-helper.php for the test's
 * own steps, the plugin's bin/wp-edge-images.php for its commands (the same
 * code `wp edge-images ...` runs).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join, relative } from "node:path";
import { promisify } from "node:util";
import { type Browser, chromium } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPlatformProxy } from "wrangler";
import { testChromium } from "../e2e/chromium";
import { freePort, stopGroup } from "../e2e/processes";

const run = promisify(execFile);

const ROOT = new URL("..", import.meta.url).pathname;
const HERE = new URL(".", import.meta.url).pathname;
const PLUGIN_SRC = join(ROOT, "wordpress/wp-edge-images");
const WORDPRESS_SRC = process.env.WORDPRESS_DIR ?? "/usr/share/wordpress";
const FIXTURES = join(ROOT, "fixtures/originals/2025/09");

/** The Chromium to drive: one place to change when the project ships its own. */

/** The uploads: a JPEG over 2560 px (-scaled), an EXIF-rotated JPEG (-rotated), a PNG, a GIF. */
const UPLOADS = [
	{ label: "jpeg", file: "AdobeStock_1228396051_Editorial_Use_Only.jpeg", mime: "image/jpeg" },
	{ label: "rotated", file: "elephants-phone.jpg", mime: "image/jpeg" },
	{ label: "png", file: "goldfish.png", mime: "image/png" },
	{ label: "gif", file: "spinner-animated.gif", mime: "image/gif" },
] as const;
/**
 * Uploaded as well (with and without the plugin) while the site maps JPEG
 * output to WebP (`image_editor_output_format`, in the test's mu-plugin):
 * only its metadata is compared; the worker is not asked for its sizes.
 */
const WEBP_OUTPUT = {
	label: "webp-output",
	file: "garden-progressive.jpg",
	mime: "image/jpeg",
} as const;
type Label = (typeof UPLOADS)[number]["label"] | typeof WEBP_OUTPUT.label;

interface SizeMeta {
	file: string;
	width: number;
	height: number;
	"mime-type": string;
	filesize?: number;
}
interface AttachmentMeta {
	file: string;
	width: number;
	height: number;
	original_image?: string;
	sizes: Record<string, SizeMeta>;
	dominant_color?: string;
	has_transparency?: boolean;
}
interface Media {
	id: number;
	source_url: string;
}

const TOKEN = `e2e-${randomBytes(24).toString("hex")}`;
const USER = "admin";
const PASSWORD = `pw-${randomBytes(8).toString("hex")}`;

let tmp = "";
let wpRoot = "";
let uploadsDir = "";
let workerState = "";
let wpOrigin = "";
let workerOrigin = "";
let auth = "";
let browser: Browser | undefined;
let workerPort: { port: number; release: () => Promise<void> } | undefined;
const children: { name: string; child: ChildProcess; log: string }[] = [];

/** Attachments uploaded with the plugin active, and the same files uploaded without it. */
const withPlugin = new Map<Label, Media>();
const withoutPlugin = new Map<Label, Media>();

/**
 * A port held open until `release()`, so nothing else started meanwhile (the
 * R2 proxy's workerd, say) gets it from the OS before wrangler dev binds it.
 */
function reservePort(): Promise<{ port: number; release: () => Promise<void> }> {
	return new Promise((resolve, reject) => {
		// Connections are reset at once: the plugin's calls fail fast, as with no worker.
		const server = createServer((socket) => socket.destroy());
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			const port = typeof address === "object" && address ? address.port : 0;
			resolve({ port, release: () => new Promise((r) => server.close(() => r())) });
		});
	});
}

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
	const child = spawn(command, args, {
		cwd: ROOT,
		detached: true,
		stdio: ["ignore", "pipe", "pipe"],
		env: { ...process.env, ...env },
	});
	const entry = { name, child, log: "" };
	const log = (chunk: Buffer) => {
		entry.log = (entry.log + chunk.toString()).slice(-20_000);
	};
	child.stdout?.on("data", log);
	child.stderr?.on("data", log);
	children.push(entry);
	return entry;
}

async function waitFor(
	what: string,
	entry: { child: ChildProcess; log: string },
	ready: () => Promise<boolean>,
	ms: number,
): Promise<void> {
	const deadline = Date.now() + ms;
	for (;;) {
		if (entry.child.exitCode !== null) {
			throw new Error(`${what} exited (${entry.child.exitCode}):\n${entry.log}`);
		}
		try {
			if (await ready()) return;
		} catch {
			// not up yet
		}
		if (Date.now() > deadline) throw new Error(`${what} not up after ${ms} ms:\n${entry.log}`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

async function stop(entry: { child: ChildProcess }): Promise<void> {
	await stopGroup(entry.child);
}

const killOnExit = () => {
	for (const { child } of children) {
		if (child.pid && child.exitCode === null) {
			try {
				process.kill(-child.pid, "SIGKILL");
			} catch {
				// already gone
			}
		}
	}
};

/** The test's helper inside WordPress (php-cli + wp-load.php); returns its JSON. */
async function wp<T = unknown>(command: string, ...args: string[]): Promise<T> {
	const { stdout } = await run("php", [join(HERE, "wp-helper.php"), wpRoot, command, ...args], {
		cwd: ROOT,
		maxBuffer: 16 << 20,
	});
	return JSON.parse(stdout) as T;
}

/** The plugin's own command line (bin/wp-edge-images.php), exit code and all. */
async function pluginCli(
	...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
	const script = join(wpRoot, "wp-content/plugins/wp-edge-images/bin/wp-edge-images.php");
	try {
		const { stdout, stderr } = await run("php", [script, `--path=${wpRoot}`, ...args], {
			cwd: ROOT,
			maxBuffer: 16 << 20,
		});
		return { code: 0, stdout, stderr };
	} catch (err) {
		const e = err as { code?: number; stdout?: string; stderr?: string };
		return { code: Number(e.code ?? 1), stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
	}
}

/** A REST call as the admin, with the application password. */
async function rest(route: string, init: RequestInit = {}, query = ""): Promise<Response> {
	// Plain permalinks: the route goes in ?rest_route=.
	const url = `${wpOrigin}/?rest_route=${route}${query ? `&${query}` : ""}`;
	return fetch(url, {
		...init,
		headers: { Authorization: auth, ...(init.headers as Record<string, string> | undefined) },
	});
}

/**
 * Ask for a size until the worker answers from its cache (the first answer
 * is a MISS whose cache write finishes after the response): its X-Cache then.
 */
async function cachedState(url: string): Promise<string | null> {
	let state: string | null = null;
	for (let i = 0; i < 20 && state !== "HIT"; i++) {
		const res = await fetch(url);
		await res.arrayBuffer();
		state = res.headers.get("X-Cache");
		if (state !== "HIT") await new Promise((r) => setTimeout(r, 250));
	}
	return state;
}

async function upload(file: string, name: string, mime: string): Promise<Media> {
	const res = await rest("/wp/v2/media", {
		method: "POST",
		headers: { "Content-Type": mime, "Content-Disposition": `attachment; filename="${name}"` },
		body: await readFile(join(FIXTURES, file)),
	});
	const body = (await res.json()) as Media & { message?: string };
	if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(body)}`);
	return body;
}

function meta(id: number): Promise<AttachmentMeta> {
	return wp<AttachmentMeta>("meta", String(id));
}

/** `sizes` without `filesize`, file names with the upload's own stem replaced by STEM. */
function comparable(m: AttachmentMeta): Record<string, Omit<SizeMeta, "filesize">> {
	const stem = basename(m.original_image ?? m.file).replace(/\.[^.]+$/, "");
	return Object.fromEntries(
		Object.entries(m.sizes).map(([name, { filesize: _, ...size }]) => [
			name,
			{ ...size, file: size.file.replace(stem, "STEM") },
		]),
	);
}

async function filesUnder(dir: string): Promise<string[]> {
	const out: string[] = [];
	for (const entry of await readdir(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) out.push(...(await filesUnder(path)));
		else out.push(path);
	}
	return out;
}

function wpConfig(db: { socket: string }): string {
	const salt = () => randomBytes(32).toString("hex");
	const keys = [
		"AUTH_KEY",
		"SECURE_AUTH_KEY",
		"LOGGED_IN_KEY",
		"NONCE_KEY",
		"AUTH_SALT",
		"SECURE_AUTH_SALT",
		"LOGGED_IN_SALT",
		"NONCE_SALT",
	];
	const define = (name: string, value: string | boolean) =>
		`if ( ! defined( '${name}' ) ) { define( '${name}', ${typeof value === "boolean" ? String(value) : `'${value}'`} ); }`;
	return [
		"<?php",
		"// Written by e2e-wordpress/wordpress.e2e.test.ts.",
		define("DB_NAME", "wp"),
		define("DB_USER", "wp"),
		define("DB_PASSWORD", "wp"),
		define("DB_HOST", `localhost:${db.socket}`),
		define("DB_CHARSET", "utf8mb4"),
		define("DB_COLLATE", ""),
		"$table_prefix = 'wp_';",
		...keys.map((k) => define(k, salt())),
		define("WP_HOME", wpOrigin),
		define("WP_SITEURL", wpOrigin),
		define("WP_ENVIRONMENT_TYPE", "local"),
		define("DISABLE_WP_CRON", true),
		define("AUTOMATIC_UPDATER_DISABLED", true),
		define("WP_AUTO_UPDATE_CORE", false),
		// Nothing leaves the machine: only this site and the worker (both 127.0.0.1).
		define("WP_HTTP_BLOCK_EXTERNAL", true),
		define("WP_DEBUG", true),
		define("WP_DEBUG_LOG", join(tmp, "debug.log")),
		define("WP_DEBUG_DISPLAY", false),
		define("FS_METHOD", "direct"),
		define("WP_EDGE_IMAGES_ORIGIN", workerOrigin),
		define("WP_EDGE_IMAGES_MOUNT", "/files"),
		define("WP_EDGE_IMAGES_ADMIN_TOKEN", TOKEN),
		"if ( ! defined( 'ABSPATH' ) ) { define( 'ABSPATH', __DIR__ . '/' ); }",
		"require_once ABSPATH . 'wp-settings.php';",
		"",
	].join("\n");
}

async function startMariadb(): Promise<{ socket: string }> {
	const datadir = join(tmp, "mysql");
	const socket = join(tmp, "mysqld.sock");
	await run(
		"mariadb-install-db",
		[
			"--no-defaults",
			`--datadir=${datadir}`,
			"--user=root",
			"--auth-root-authentication-method=socket",
			"--skip-test-db",
		],
		{ cwd: tmp },
	);
	const server = start("mariadbd", "/usr/sbin/mariadbd", [
		"--no-defaults",
		`--datadir=${datadir}`,
		`--socket=${socket}`,
		`--pid-file=${join(tmp, "mysqld.pid")}`,
		"--skip-networking",
		"--user=root",
		"--innodb-buffer-pool-size=64M",
		`--log-error=${join(tmp, "mysqld.err")}`,
	]);
	const sql = (statement: string) =>
		run("mariadb", ["--no-defaults", `--socket=${socket}`, "-uroot", "-e", statement]);
	await waitFor(
		"mariadbd",
		server,
		async () => {
			await sql("SELECT 1");
			return true;
		},
		60_000,
	);
	await sql(
		"CREATE DATABASE wp; CREATE USER 'wp'@'localhost' IDENTIFIED BY 'wp'; GRANT ALL ON wp.* TO 'wp'@'localhost';",
	);
	return { socket };
}

async function putIntoR2(files: { key: string; path: string; mime: string }[]): Promise<void> {
	const { env, dispose } = await getPlatformProxy<{
		ORIGINALS: {
			put(key: string, value: Uint8Array, options: object): Promise<unknown>;
		};
	}>({
		configPath: join(ROOT, "wrangler.jsonc"),
		persist: { path: join(workerState, "v3") },
	});
	try {
		for (const file of files) {
			await env.ORIGINALS.put(file.key, new Uint8Array(await readFile(file.path)), {
				httpMetadata: { contentType: file.mime },
			});
		}
	} finally {
		await dispose();
	}
}

const MIME: Record<string, string> = {
	".jpg": "image/jpeg",
	".jpeg": "image/jpeg",
	".png": "image/png",
	".gif": "image/gif",
	".webp": "image/webp",
};

beforeAll(async () => {
	// The npm-shipped Chromium the browser test uses (CHROMIUM_PATH overrides).
	const browserBinary = await testChromium(ROOT);
	tmp = await mkdtemp(join(tmpdir(), "wp-edge-images-wordpress-"));
	process.once("exit", killOnExit);
	const wpPort = await freePort();
	workerPort = await reservePort();
	wpOrigin = `http://127.0.0.1:${wpPort}`;
	workerOrigin = `http://127.0.0.1:${workerPort.port}`;

	const db = await startMariadb();

	// A site of its own: Debian's WordPress copied (its wp-config.php reads
	// /etc/wordpress, ours does not), the plugin and the test theme copied in.
	wpRoot = join(tmp, "wordpress");
	await cp(WORDPRESS_SRC, wpRoot, { recursive: true, verbatimSymlinks: true });
	await rm(join(wpRoot, "wp-config.php"), { force: true });
	await writeFile(join(wpRoot, "wp-config.php"), wpConfig(db));
	await cp(PLUGIN_SRC, join(wpRoot, "wp-content/plugins/wp-edge-images"), { recursive: true });
	await cp(join(HERE, "mu-plugins"), join(wpRoot, "wp-content/mu-plugins"), { recursive: true });
	await cp(
		join(HERE, "theme/edge-images-test"),
		join(wpRoot, "wp-content/themes/edge-images-test"),
		{
			recursive: true,
		},
	);
	uploadsDir = join(wpRoot, "wp-content/uploads");
	await mkdir(uploadsDir, { recursive: true });

	const php = start("php -S", "php", ["-S", `127.0.0.1:${wpPort}`, "-t", wpRoot], {
		PHP_CLI_SERVER_WORKERS: "4",
	});
	await wp("install", wpOrigin, USER, PASSWORD);
	await wp("theme", "edge-images-test");
	await waitFor("php -S", php, async () => (await fetch(`${wpOrigin}/`)).ok, 30_000);
	const appPassword = await wp<string>("app-password", USER);
	auth = `Basic ${Buffer.from(`${USER}:${appPassword}`).toString("base64")}`;

	// What WordPress writes on its own: the same files, uploaded with the plugin inactive.
	const uploadAll = async (into: Map<Label, Media>, prefix: string) => {
		for (const u of UPLOADS) into.set(u.label, await upload(u.file, `${prefix}${u.file}`, u.mime));
		await wp("set-option", "edge_test_webp_output", "true");
		const w = WEBP_OUTPUT;
		into.set(w.label, await upload(w.file, `${prefix}webp-output-${w.file}`, w.mime));
		await wp("set-option", "edge_test_webp_output", "false");
	};
	await uploadAll(withoutPlugin, "core-");
	await wp("activate", "wp-edge-images/wp-edge-images.php");
	await uploadAll(withPlugin, "");

	workerState = join(tmp, "worker");
	browser = await chromium.launch({
		executablePath: browserBinary.executablePath,
		env: browserBinary.env,
		headless: true,
		args: [
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--no-first-run",
			"--disable-background-networking",
		],
	});
}, 300_000);

afterAll(async () => {
	await workerPort?.release().catch(() => {});
	await browser?.close().catch(() => {});
	for (const entry of children.reverse()) await stop(entry);
	process.off("exit", killOnExit);
	if (tmp && !process.env.KEEP_WORDPRESS_TMP) await rm(tmp, { recursive: true, force: true });
});

describe("WordPress with the wp-edge-images plugin", () => {
	it("writes no sub-size file at upload, only the upload and its -scaled/-rotated copy", async () => {
		for (const u of UPLOADS) {
			const m = await meta(withPlugin.get(u.label)?.id ?? 0);
			const dir = join(uploadsDir, dirname(m.file));
			const stem = u.file.replace(/\.[^.]+$/, "");
			const written = (await readdir(dir)).filter((f) => f.startsWith(`${stem}`)).sort();
			const expected: string[] = [u.file];
			if (m.original_image) expected.push(basename(m.file));
			expect(written, u.label).toEqual(expected.sort());
			expect(Object.keys(m.sizes).length, u.label).toBeGreaterThan(0);
			for (const size of Object.values(m.sizes)) {
				expect(existsSync(join(dir, size.file)), size.file).toBe(false);
			}
		}
		// The baseline did write its sizes (so the check above means something).
		const core = await meta(withoutPlugin.get("png")?.id ?? 0);
		const coreDir = join(uploadsDir, dirname(core.file));
		for (const size of Object.values(core.sizes)) {
			expect(existsSync(join(coreDir, size.file)), size.file).toBe(true);
		}
	});

	it("records exactly the sizes WordPress itself records (filesize aside)", async () => {
		const jpeg = await meta(withPlugin.get("jpeg")?.id ?? 0);
		expect(jpeg.original_image).toBe(UPLOADS[0].file);
		expect(basename(jpeg.file)).toMatch(/-scaled\.jpeg$/);
		const rotated = await meta(withPlugin.get("rotated")?.id ?? 0);
		expect(basename(rotated.file)).toMatch(/-rotated\.jpg$/);
		const webp = await meta(withPlugin.get(WEBP_OUTPUT.label)?.id ?? 0);
		expect(webp.sizes.thumbnail).toMatchObject({ "mime-type": "image/webp" });
		expect(webp.sizes.thumbnail?.file).toMatch(/-150x150\.webp$/);
		for (const u of [...UPLOADS, WEBP_OUTPUT]) {
			const ours = await meta(withPlugin.get(u.label)?.id ?? 0);
			const core = await meta(withoutPlugin.get(u.label)?.id ?? 0);
			expect(comparable(ours), u.label).toEqual(comparable(core));
			// Same order of sizes as core writes them.
			expect(Object.keys(ours.sizes), u.label).toEqual(Object.keys(core.sizes));
			expect([ours.width, ours.height], u.label).toEqual([core.width, core.height]);
			for (const size of Object.values(ours.sizes)) expect(size.filesize).toBeUndefined();
			for (const size of Object.values(core.sizes)) expect(size.filesize).toBeGreaterThan(0);
		}
	});

	it("points upload URLs at the worker", () => {
		for (const u of UPLOADS) {
			expect(withPlugin.get(u.label)?.source_url.startsWith(`${workerOrigin}/files/`)).toBe(true);
		}
	});

	describe("served by the worker", () => {
		let worker: ReturnType<typeof start> | undefined;
		let postUrl = "";

		beforeAll(async () => {
			// The uploads go into the worker's local R2, as an offload plugin would put them.
			const files = (await filesUnder(uploadsDir))
				.filter(
					(path) =>
						!/^(core|webp-output)-/.test(basename(path)) && extname(path).toLowerCase() in MIME,
				)
				.map((path) => ({
					key: relative(uploadsDir, path).split("\\").join("/"),
					path,
					mime: MIME[extname(path).toLowerCase()] ?? "application/octet-stream",
				}));
			await putIntoR2(files);

			const sizes = await pluginCli("sizes-json");
			expect(sizes.code, sizes.stderr).toBe(0);
			const imageSizes = sizes.stdout.trim();
			expect(JSON.parse(imageSizes)).toHaveProperty("edge-card", {
				width: 510,
				height: 320,
				crop: true,
			});
			const port = new URL(workerOrigin).port;
			await workerPort?.release();
			worker = start(
				"wrangler dev",
				process.execPath,
				[
					join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
					"dev",
					"--ip",
					"127.0.0.1",
					"--port",
					port,
					"--persist-to",
					workerState,
					"--var",
					`IMAGE_SIZES:${imageSizes}`,
					"--var",
					`ADMIN_TOKEN:${TOKEN}`,
					"--show-interactive-dev-session=false",
					"--log-level",
					"warn",
				],
				{ WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
			);
			const key = relative(
				uploadsDir,
				join(uploadsDir, (await meta(withPlugin.get("png")?.id ?? 0)).file),
			);
			await waitFor(
				"wrangler dev",
				worker,
				async () => (await fetch(`${workerOrigin}/_sizes/${key}`)).ok,
				120_000,
			);

			const img = (label: Label, m: AttachmentMeta, media: Media) =>
				`<p><img src="${media.source_url}" alt="${label}" width="${m.width}" height="${m.height}" class="wp-image-${media.id}" /></p>`;
			let content = "";
			for (const u of UPLOADS) {
				const media = withPlugin.get(u.label);
				if (!media) throw new Error(u.label);
				content += img(u.label, await meta(media.id), media);
			}
			const res = await rest("/wp/v2/posts", {
				method: "POST",
				headers: { "Content-Type": "application/json" },
				body: JSON.stringify({ title: "Edge images", status: "publish", content }),
			});
			const post = (await res.json()) as { link: string };
			expect(res.status).toBe(201);
			postUrl = post.link;
		}, 240_000);

		it("the worker's status route answers the token (as the settings page shows it)", async () => {
			const res = await fetch(`${workerOrigin}/_admin/status`, {
				headers: { Authorization: `Bearer ${TOKEN}` },
			});
			expect(res.status).toBe(200);
		});

		it("a published post's srcset candidates all load at their listed sizes", async () => {
			if (!browser) throw new Error("no browser");
			const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
			try {
				const response = await page.goto(postUrl);
				expect(response?.status()).toBe(200);
				// WordPress marks the images loading="lazy": bring each into view, as a reader scrolling would.
				const locators = await page.locator("article img").all();
				for (const locator of locators) {
					await locator.scrollIntoViewIfNeeded();
					await locator.evaluate(
						(i: HTMLImageElement) =>
							i.complete ||
							new Promise((resolve) => {
								i.addEventListener("load", resolve, { once: true });
								i.addEventListener("error", resolve, { once: true });
							}),
					);
				}
				const imgs = await page.evaluate(() =>
					[...document.querySelectorAll<HTMLImageElement>("article img")].map((i) => ({
						alt: i.alt,
						loading: i.getAttribute("loading"),
						srcset: i.getAttribute("srcset") ?? "",
						currentSrc: i.currentSrc,
						naturalWidth: i.naturalWidth,
					})),
				);
				await page.screenshot({
					path: join(ROOT, "test-results/wordpress-post.png"),
					fullPage: true,
				});
				expect(imgs.map((i) => i.alt)).toEqual(UPLOADS.map((u) => u.label));
				for (const img of imgs) {
					const label = img.alt as Label;
					const m = await meta(withPlugin.get(label)?.id ?? 0);
					const heights = new Map<string, number>([
						[basename(m.file), m.height],
						...Object.values(m.sizes).map((s) => [s.file, s.height] as [string, number]),
					]);
					if (label === "gif") {
						// WordPress prints no srcset for a full-size GIF (its sizes are single frames);
						// the GIF's sizes are checked on their own below.
						expect(img.srcset).toBe("");
						expect(img.naturalWidth, label).toBe(m.width);
						continue;
					}
					const candidates = img.srcset.split(", ").map((c) => {
						const [url = "", w = ""] = c.split(" ");
						return { url, width: Number(w.replace(/w$/, "")) };
					});
					expect(candidates.length, label).toBeGreaterThan(1);
					expect(img.naturalWidth, label).toBeGreaterThan(0);
					for (const { url, width } of candidates) {
						expect(url.startsWith(`${workerOrigin}/files/`), url).toBe(true);
						const res = await fetch(url);
						expect(res.status, url).toBe(200);
						const info = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
						expect([info.width, info.height], url).toEqual([
							width,
							heights.get(decodeURIComponent(basename(new URL(url).pathname))),
						]);
					}
				}
			} finally {
				await page.close();
			}
		});

		it("the GIF's sizes load at their listed sizes", async () => {
			const media = withPlugin.get("gif");
			const m = await meta(media?.id ?? 0);
			const base = dirname(media?.source_url ?? "");
			for (const size of Object.values(m.sizes)) {
				const res = await fetch(`${base}/${size.file}`);
				expect(res.status, size.file).toBe(200);
				const info = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
				expect([info.width, info.height, info.format]).toEqual([size.width, size.height, "gif"]);
			}
		});

		it("`check` passes a healthy attachment and reports a broken one", async () => {
			const png = withPlugin.get("png")?.id ?? 0;
			const healthy = await pluginCli("check", String(png));
			expect(healthy.code, healthy.stdout + healthy.stderr).toBe(0);
			expect(healthy.stdout).toMatch(/^ok\s+thumbnail\s/m);
			expect(healthy.stdout).toMatch(/0 differ from the metadata/);

			const jpeg = withPlugin.get("jpeg")?.id ?? 0;
			const before = await pluginCli("check", String(jpeg));
			expect(before.code, before.stdout + before.stderr).toBe(0);
			// Tamper with the metadata: a size the worker serves at 150x150, and a file it does not make.
			await wp("set-size", String(jpeg), "thumbnail", "width", "151");
			const mediumFile = (await meta(jpeg)).sizes.medium?.file ?? "";
			await wp(
				"set-size",
				String(jpeg),
				"medium",
				"file",
				mediumFile.replace(/-(\d+)x(\d+)\./, "-$1x999."),
			);
			const broken = await pluginCli("check", String(jpeg));
			expect(broken.code).toBe(1);
			expect(broken.stdout).toMatch(
				/^DIFF\s+thumbnail\s.*dimensions 150x150 \(expected 151x150\)/m,
			);
			expect(broken.stdout).toMatch(/^DIFF\s+medium\s.*status 404 \(expected 200\)/m);
			expect(broken.stdout).toMatch(/2 differ from the metadata/);

			const gif = await pluginCli("check", String(withPlugin.get("gif")?.id ?? 0));
			expect(gif.code, gif.stdout).toBe(0);
		});

		it("stores the size table's placeholder fields when there are any", async () => {
			const id = withPlugin.get("png")?.id ?? 0;
			const result = await pluginCli("placeholders", String(id));
			expect(result.code, result.stderr).toBe(0);
			const fields = JSON.parse(result.stdout) as Partial<AttachmentMeta>;
			const m = await meta(id);
			// The worker's size table gives both (from its smallest decode); the plugin stores them.
			expect(fields.dominant_color).toMatch(/^[0-9a-f]{6}$/);
			expect(m.dominant_color).toBe(fields.dominant_color);
			expect(m.has_transparency).toBe(fields.has_transparency);
			expect(Object.keys(m.sizes).length).toBeGreaterThan(0);
		});

		it("reads the size table right after an upload when the bucket already has the file", async () => {
			// As when an offload plugin copies the upload before the plugin's late hook runs:
			// the file is in the bucket under the key the upload is about to get.
			const folder = dirname((await meta(withPlugin.get("png")?.id ?? 0)).file);
			const name = "logo-palette.png";
			await putIntoR2([
				{ key: `${folder}/${name}`, path: join(FIXTURES, name), mime: "image/png" },
			]);
			const media = await upload(name, name, "image/png");
			const m = await meta(media.id);
			expect(m.file).toBe(`${folder}/${name}`);
			// The worker answered at upload time: no retry was scheduled.
			expect(
				await wp("next-scheduled", "wp_edge_images_placeholders", JSON.stringify([media.id, 2])),
			).toBe(false);
			const table = (await (await fetch(`${workerOrigin}/_sizes/${m.file}`)).json()) as {
				dominant_color?: string;
				has_transparency?: boolean;
			};
			// Stored exactly when the worker's table has them (another change adds them).
			expect(m.dominant_color).toBe(table.dominant_color?.toLowerCase());
			expect(m.has_transparency).toBe(table.has_transparency);
		});

		it("regenerating, and filling in a missing size, record the same sizes without files; the rewritten file is purged", async () => {
			const media = withPlugin.get("rotated");
			const id = media?.id ?? 0;
			const before = await meta(id);
			const dir = join(uploadsDir, dirname(before.file));
			const thumb = `${dirname(media?.source_url ?? "")}/${before.sizes.thumbnail?.file}`;
			expect(await cachedState(thumb)).toBe("HIT");
			const regenerated = await wp<AttachmentMeta>("regenerate", String(id));
			expect(regenerated.sizes).toEqual(before.sizes);
			expect(Object.keys(regenerated.sizes)).toEqual(Object.keys(before.sizes));
			// The media editor's and regenerate's path: make_subsize() on the plugin's editor.
			const filled = await wp<AttachmentMeta>("fill-missing", String(id), "thumbnail");
			expect(filled.sizes.thumbnail).toEqual(before.sizes.thumbnail);
			for (const size of Object.values(filled.sizes)) {
				expect(existsSync(join(dir, size.file)), size.file).toBe(false);
			}
			// Regenerating rewrote the -rotated copy under its own name (update_attached_file
			// with the same file, as a file replace does): purged, not queued.
			const next = await fetch(thumb);
			await next.arrayBuffer();
			expect(next.headers.get("X-Cache"), "purged by the file replace").toBe("MISS");
			expect(await wp("option", "wp_edge_images_purge_queue")).toBeNull();
		});

		it("an edit in the media editor records the edited image's sizes and purges the old ones", async () => {
			const media = withPlugin.get("png");
			const id = media?.id ?? 0;
			const before = await meta(id);
			const oldThumb = `${dirname(media?.source_url ?? "")}/${before.sizes.thumbnail?.file}`;
			expect(await cachedState(oldThumb)).toBe("HIT");

			const edited = await wp<AttachmentMeta>("edit-rotate", String(id));
			expect(basename(edited.file)).toMatch(/^goldfish-e\d+\.png$/);
			expect([edited.width, edited.height]).toEqual([before.height, before.width]);
			const dir = join(uploadsDir, dirname(edited.file));
			expect(Object.keys(edited.sizes).length).toBeGreaterThan(1);
			for (const size of Object.values(edited.sizes)) {
				expect(size.file).toMatch(/^goldfish-e\d+-\d+x\d+\.png$/);
				expect(existsSync(join(dir, size.file)), size.file).toBe(false);
			}
			const next = await fetch(oldThumb);
			await next.arrayBuffer();
			expect(next.headers.get("X-Cache"), "the old size was purged").toBe("MISS");
			expect(await wp("option", "wp_edge_images_purge_queue")).toBeNull();

			// The edited file reaches the bucket (as an offload plugin would copy it): every size matches.
			await putIntoR2([
				{ key: edited.file, path: join(uploadsDir, edited.file), mime: "image/png" },
			]);
			const check = await pluginCli("check", String(id));
			expect(check.code, check.stdout + check.stderr).toBe(0);
		});

		it("Settings → Edge Images shows the constants and the worker's status", async () => {
			if (!browser) throw new Error("no browser");
			const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
			try {
				await page.goto(`${wpOrigin}/wp-login.php`);
				await page.fill("#user_login", USER);
				await page.fill("#user_pass", PASSWORD);
				await Promise.all([page.waitForNavigation(), page.click("#wp-submit")]);
				const res = await page.goto(`${wpOrigin}/wp-admin/options-general.php?page=wp-edge-images`);
				expect(res?.status()).toBe(200);
				expect(await page.inputValue("#wp-edge-images-origin")).toBe(workerOrigin);
				expect(await page.isDisabled("#wp-edge-images-origin")).toBe(true);
				expect(await page.inputValue("#wp-edge-images-mount")).toBe("/files");
				const body = await page.textContent("body");
				expect(body).toContain("WP_EDGE_IMAGES_ADMIN_TOKEN is defined in wp-config.php.");
				expect(body).toContain(`${workerOrigin}/_admin/status answered HTTP 200.`);
				expect(body).not.toContain(TOKEN);
				expect(await page.textContent("#wp-edge-images-sizes-match")).toContain(
					"The worker's IMAGE_SIZES match the sizes this site registers.",
				);
				const status = JSON.parse((await page.textContent("#wp-edge-images-status")) ?? "");
				expect(status.config.vars.ADMIN_TOKEN).toBe("[redacted]");
				await page.screenshot({
					path: join(ROOT, "test-results/wordpress-settings.png"),
					fullPage: true,
				});
			} finally {
				await page.close();
			}
		});

		it("a failed purge is queued, shown to admins and retried", async () => {
			const dead = `http://127.0.0.1:${await freePort()}`;
			const failed = await wp<string | true>("purge-with-origin", dead, "2025/09/nothing.jpeg");
			expect(failed).not.toBe(true);
			const queue = await wp<{ keys: string[] }>("option", "wp_edge_images_purge_queue");
			expect(queue.keys).toEqual(["2025/09/nothing.jpeg"]);
			expect(await wp<string>("admin-notices")).toMatch(/could not purge 1 image/);
			const after = await wp<{ keys: string[] }>("retry-purges");
			expect(after.keys).toEqual([]);
			expect(await wp<string>("admin-notices")).toBe("");
		});

		it("deleting an attachment purges it: the next answer is no longer the cached one", async () => {
			const media = withPlugin.get("png");
			const m = await meta(media?.id ?? 0);
			const url = `${dirname(media?.source_url ?? "")}/${m.sizes.thumbnail?.file}`;
			expect(await cachedState(url)).toBe("HIT");

			const res = await rest(`/wp/v2/media/${media?.id}`, { method: "DELETE" }, "force=true");
			expect(res.status).toBe(200);
			const next = await fetch(url);
			await next.arrayBuffer();
			expect(
				next.status === 404 || next.headers.get("X-Cache") === "MISS",
				`${next.status} ${next.headers.get("X-Cache")}`,
			).toBe(true);
			expect(await wp("option", "wp_edge_images_purge_queue")).toBeNull();
		});

		it("PHP logged no error, warning or notice from the plugin", async () => {
			const log = existsSync(join(tmp, "debug.log"))
				? await readFile(join(tmp, "debug.log"), "utf8")
				: "";
			expect(log.split("\n").filter((line) => line.includes("wp-edge-images/"))).toEqual([]);
		});
	});
});
