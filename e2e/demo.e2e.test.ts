/**
 * End to end, in a real browser: `wrangler dev` serves the demo page from a
 * freshly seeded local R2 (its own persist dir, not the dev one), and a
 * headless Chromium driven by playwright-core opens it at two viewport widths.
 * The Chromium is the one @sparticuz/chromium ships in its npm package, or
 * CHROMIUM_PATH's (see chromium.ts). Every image must load at its listed size, the browser
 * must pick the srcset candidate WordPress's attributes imply, and a reload
 * must be served from the edge cache. Screenshots go to test-results/.
 *
 * Runs in Node (vitest.e2e.config.ts), not in workerd.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testChromium } from "./chromium";
import { freePort, stopGroup } from "./processes";

const ROOT = new URL("..", import.meta.url).pathname;
const SEED = "2025/09/AdobeStock_1228396051_Editorial_Use_Only.jpeg";
const SEED_FILE = (suffix: string) =>
	`/files/2025/09/AdobeStock_1228396051_Editorial_Use_Only${suffix}.jpeg`;

/** [viewport width, the seed attachment's file the browser should show]. */
const VIEWPORTS = [
	[730, SEED_FILE("-730x487")],
	[1200, SEED_FILE("-1200x800")],
] as const;

let state = "";
let wrangler: ChildProcess | undefined;
let wranglerLog = "";
let browser: Browser | undefined;
let origin = "";

async function waitForServer(url: string, ms: number): Promise<void> {
	const deadline = Date.now() + ms;
	for (;;) {
		if (wrangler?.exitCode !== null) {
			throw new Error(`wrangler dev exited (${wrangler?.exitCode}):\n${wranglerLog}`);
		}
		try {
			const res = await fetch(url);
			await res.arrayBuffer();
			if (res.ok) return;
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline)
			throw new Error(`wrangler dev not up after ${ms} ms:\n${wranglerLog}`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

/** Stop wrangler dev and its workerd children (their own process group). */
async function stopWrangler(): Promise<void> {
	const child = wrangler;
	wrangler = undefined;
	await stopGroup(child);
}

// A crash of the test process must not leave a server behind.
const killOnExit = () => {
	if (wrangler?.pid && wrangler.exitCode === null) {
		try {
			process.kill(-wrangler.pid, "SIGKILL");
		} catch {
			// already gone
		}
	}
};

beforeAll(async () => {
	const chromiumBinary = await testChromium(ROOT);
	state = await mkdtemp(join(tmpdir(), "wp-edge-images-e2e-"));
	await promisify(execFile)(
		process.execPath,
		[join(ROOT, "scripts/seed-local-r2.mjs"), "--persist-to", state],
		{ cwd: ROOT },
	);
	const port = await freePort();
	origin = `http://127.0.0.1:${port}`;
	process.once("exit", killOnExit);
	wrangler = spawn(
		process.execPath,
		[
			join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
			"dev",
			"--ip",
			"127.0.0.1",
			"--port",
			String(port),
			"--persist-to",
			state,
			"--var",
			"DEMO_PAGE:true",
			"--show-interactive-dev-session=false",
			"--log-level",
			"warn",
		],
		{
			cwd: ROOT,
			detached: true,
			stdio: ["ignore", "pipe", "pipe"],
			env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
		},
	);
	const log = (chunk: Buffer) => {
		wranglerLog = (wranglerLog + chunk.toString()).slice(-20_000);
	};
	wrangler.stdout?.on("data", log);
	wrangler.stderr?.on("data", log);
	await waitForServer(`${origin}/_sizes/${SEED}`, 90_000);
	browser = await chromium.launch({
		executablePath: chromiumBinary.executablePath,
		env: chromiumBinary.env,
		headless: true,
		// Playwright gives every launch a fresh, temporary --user-data-dir.
		args: [
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-quic",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
		],
	});
	console.info(
		`e2e browser: Chromium ${browser.version()} at ${chromiumBinary.executablePath} (${chromiumBinary.source})`,
	);
	await mkdir(join(ROOT, "test-results"), { recursive: true });
});

afterAll(async () => {
	await browser?.close().catch(() => {});
	await stopWrangler();
	process.off("exit", killOnExit);
	if (state) await rm(state, { recursive: true, force: true });
});

interface Hero {
	key: string;
	src: string;
	srcset: string;
	sizes: string;
	currentSrc: string;
	complete: boolean;
	naturalWidth: number;
}
interface Cell {
	key: string;
	name: string;
	url: string;
	width: number;
	height: number;
	status: string;
	cache: string;
	bytes: number;
	naturalWidth: number;
	naturalHeight: number;
}

async function loadDemo(page: Page): Promise<{ heroes: Hero[]; cells: Cell[] }> {
	await page.waitForSelector("body[data-ready=true]", { timeout: 150_000 });
	await page.waitForFunction(
		() => [...document.querySelectorAll<HTMLImageElement>("img.hero")].every((i) => i.complete),
		undefined,
		{ timeout: 60_000 },
	);
	return page.evaluate(() => {
		const section = (el: Element) => el.closest("section")?.getAttribute("data-key") ?? "";
		const heroes = [...document.querySelectorAll<HTMLImageElement>("img.hero")].map((img) => ({
			key: section(img),
			src: img.src,
			srcset: img.getAttribute("srcset") ?? "",
			sizes: img.getAttribute("sizes") ?? "",
			currentSrc: img.currentSrc,
			complete: img.complete,
			naturalWidth: img.naturalWidth,
		}));
		const cells = [...document.querySelectorAll<HTMLElement>("figure.size")].map((fig) => {
			const img = fig.querySelector("img") as HTMLImageElement;
			return {
				key: section(fig),
				name: fig.dataset.name ?? "",
				url: fig.dataset.url ?? "",
				width: Number(fig.dataset.width),
				height: Number(fig.dataset.height),
				status: fig.dataset.status ?? "",
				cache: fig.dataset.cache ?? "",
				bytes: Number(fig.dataset.bytes),
				naturalWidth: img.naturalWidth,
				naturalHeight: img.naturalHeight,
			};
		});
		return { heroes, cells };
	});
}

/** The slot width WordPress's `(max-width: Npx) 100vw, Npx` gives at this viewport. */
function slotWidth(sizes: string, viewport: number): number {
	const m = /^\(max-width: (\d+)px\) 100vw, (\d+)px$/.exec(sizes);
	if (!m) throw new Error(`unexpected sizes attribute ${sizes}`);
	return viewport <= Number(m[1]) ? viewport : Number(m[2]);
}

/**
 * The candidate Chromium picks at device pixel ratio 1: the narrowest whose
 * density (width / slot) is at least 1, else the widest (HTML's selection,
 * with Chromium's rule for a ratio of 1 or less).
 */
function expectedPick(hero: Hero, viewport: number): { url: string; slot: number } {
	const slot = slotWidth(hero.sizes, viewport);
	if (!hero.srcset) return { url: hero.src, slot };
	const candidates = hero.srcset
		.split(", ")
		.map((c) => {
			const [url = "", w = ""] = c.split(" ");
			return { url, width: Number(w.replace(/w$/, "")) };
		})
		.sort((a, b) => a.width - b.width);
	const pick = candidates.find((c) => c.width / slot >= 1) ?? candidates[candidates.length - 1];
	return { url: pick?.url ?? "", slot };
}

describe.each(VIEWPORTS)("demo page at %i px wide", (viewport, seedFile) => {
	it("loads every image at its listed size, picks the expected srcset candidate, reloads as HITs", async () => {
		if (!browser) throw new Error("no browser");
		const context = await browser.newContext({
			viewport: { width: viewport, height: 900 },
			deviceScaleFactor: 1,
		});
		try {
			const page = await context.newPage();
			const response = await page.goto(`${origin}/`);
			expect(response?.status()).toBe(200);
			const first = await loadDemo(page);

			// Every upload the worker can size is on the page; the seed with all seven sizes.
			expect(first.heroes.length).toBeGreaterThanOrEqual(6);
			expect(first.cells.filter((c) => c.key === SEED).map((c) => c.name)).toEqual([
				"thumbnail",
				"bd",
				"sm",
				"md",
				"lg",
				"fb",
				"post-thumbnail",
			]);
			for (const cell of first.cells) {
				expect(cell.status, cell.url).toBe("200");
				expect(["MISS", "HIT"], cell.url).toContain(cell.cache);
				expect(cell.bytes, cell.url).toBeGreaterThan(0);
				expect([cell.naturalWidth, cell.naturalHeight], cell.url).toEqual([
					cell.width,
					cell.height,
				]);
			}

			for (const hero of first.heroes) {
				const { url, slot } = expectedPick(hero, viewport);
				expect(hero.complete && hero.naturalWidth > 0, hero.key).toBe(true);
				expect(hero.currentSrc, hero.key).toBe(url);
				// With width descriptors the natural width is the file's width over
				// its density, i.e. the slot the sizes attribute gave it.
				expect(Math.abs(hero.naturalWidth - slot), hero.key).toBeLessThanOrEqual(1);
			}
			const seedHero = first.heroes.find((h) => h.key === SEED);
			expect(seedHero?.currentSrc).toBe(`${origin}${seedFile}`);

			await page.screenshot({
				path: join(ROOT, `test-results/demo-${viewport}.png`),
				fullPage: true,
			});

			await page.reload();
			const again = await loadDemo(page);
			expect(again.cells.length).toBe(first.cells.length);
			for (const cell of again.cells) {
				expect(cell.cache, cell.url).toBe("HIT");
				expect([cell.naturalWidth, cell.naturalHeight], cell.url).toEqual([
					cell.width,
					cell.height,
				]);
			}
			expect(again.heroes.map((h) => h.currentSrc)).toEqual(first.heroes.map((h) => h.currentSrc));
		} finally {
			await context.close();
		}
	});
});
