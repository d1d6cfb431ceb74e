import { describe, expect, it } from "vitest";
import { ConfigError } from "../http/errors";
import { DEFAULT_SIZES } from "../wp/sizes";
import { DEFAULTS, loadConfig, parseConfig } from ".";

describe("parseConfig", () => {
	it("fills every default from empty vars", () => {
		const config = parseConfig({});
		expect(config.mountPath).toBe("/files");
		expect(config.sizes).toEqual(DEFAULT_SIZES);
		expect(config.jpegQuality).toBe(82);
		expect(config.limits.maxSourcePixels).toBe(DEFAULTS.MAX_SOURCE_PIXELS);
		expect(config.limits.maxSourcePixelsWhole).toBe(DEFAULTS.MAX_SOURCE_PIXELS_WHOLE);
	});

	it("reads WordPress's own size JSON", () => {
		const config = parseConfig({
			IMAGE_SIZES:
				'{"thumbnail":{"width":150,"height":150,"crop":true},"big":{"width":2048,"height":2048,"crop":false}}',
			MOUNT_PATH: "/wp-content/uploads",
			JPEG_QUALITY: "75",
		});
		expect(Object.keys(config.sizes)).toEqual(["thumbnail", "big"]);
		expect(config.mountPath).toBe("/wp-content/uploads");
		expect(config.jpegQuality).toBe(75);
	});

	it.each([
		["MOUNT_PATH", "files"],
		["MOUNT_PATH", "/files/"],
		["MOUNT_PATH", "/../x"],
		["MOUNT_PATH", "/a b"],
		["JPEG_QUALITY", "0"],
		["JPEG_QUALITY", "101"],
		["JPEG_QUALITY", "high"],
		["JPEG_QUALITY", "8.5"],
		["MAX_SOURCE_PIXELS", "-1"],
		["MAX_SOURCE_PIXELS", "999999999999"],
		["MAX_SOURCE_PIXELS", "100000001"],
		["MAX_SOURCE_PIXELS_WHOLE", "0"],
		["MAX_SOURCE_PIXELS_WHOLE", "16000001"],
		["IMAGE_SIZES", "{not json"],
		["IMAGE_SIZES", '{"thumbnail":{"width":-1,"height":150,"crop":true}}'],
		["IMAGE_SIZES", '{"thumbnail":{"width":150,"height":150,"crop":["middle","top"]}}'],
		["CACHE_CONTROL", "public\r\nSet-Cookie: a=b"],
		["BENCH_ROUTES", "yes"],
		["PUBLIC_ORIGIN", "img.example.com"],
		["PUBLIC_ORIGIN", "//img.example.com"],
		["PUBLIC_ORIGIN", "ftp://img.example.com"],
		["PUBLIC_ORIGIN", "https://img.example.com/files"],
		["PUBLIC_ORIGIN", "https://img.example.com/?a=1"],
		["PUBLIC_ORIGIN", "https://img.example.com/#x"],
		["PUBLIC_ORIGIN", "https://user:pw@img.example.com"],
		["PUBLIC_ORIGIN", "https://"],
	])("%s=%s fails with an error naming the variable", (name, value) => {
		let caught: unknown;
		try {
			parseConfig({ [name]: value });
		} catch (err) {
			caught = err;
		}
		expect(caught).toBeInstanceOf(ConfigError);
		expect((caught as ConfigError).variable).toBe(name);
		expect((caught as ConfigError).message).toContain(name);
		expect((caught as ConfigError).status).toBe(500);
		// The public message says nothing about the configuration.
		expect((caught as ConfigError).publicMessage).not.toContain(name);
	});

	it.each([
		[{}, false],
		[{ BENCH_ROUTES: "0" }, false],
		[{ BENCH_ROUTES: "1" }, true],
		[{ BENCH_ROUTES: "false" }, false],
	])("bench routes are off unless BENCH_ROUTES is set: %j", (vars, on) => {
		expect(parseConfig(vars).benchRoutes).toBe(on);
	});

	it.each([
		[undefined, undefined],
		["https://img.example.com", "https://img.example.com"],
		["https://img.example.com/", "https://img.example.com"],
		["https://IMG.Example.com:443", "https://img.example.com"],
		["http://localhost:8787", "http://localhost:8787"],
	])("PUBLIC_ORIGIN=%s → %s", (raw, origin) => {
		expect(parseConfig(raw === undefined ? {} : { PUBLIC_ORIGIN: raw }).publicOrigin).toBe(origin);
	});

	describe("admin", () => {
		const TOKEN = "t".repeat(32);
		const KV = {}; // stands in for the PURGE_STATE binding; only its presence is checked

		it("is off without ADMIN_TOKEN, on with it, with zone purge only when both secrets are set", () => {
			expect(parseConfig({}).admin).toBeUndefined();
			expect(parseConfig({}).zonePurge).toBeUndefined();
			expect(parseConfig({}).generationMemoMs).toBe(5000);
			const on = parseConfig({
				ADMIN_TOKEN: TOKEN,
				PURGE_STATE: KV,
				ADMIN_PATH: "/ops",
				CF_ZONE_ID: "0123456789abcdef0123456789abcdef",
				CF_API_TOKEN: "abc",
				GENERATION_MEMO_SECONDS: "0",
			});
			expect(on.admin).toEqual({ path: "/ops", token: TOKEN });
			expect(on.zonePurge).toEqual({ zoneId: "0123456789abcdef0123456789abcdef", apiToken: "abc" });
			expect(on.generationMemoMs).toBe(0);
		});

		it.each<[Record<string, unknown>, string]>([
			[{ ADMIN_TOKEN: "t".repeat(31) }, "ADMIN_TOKEN"],
			[{ ADMIN_TOKEN: `${"t".repeat(32)} x` }, "ADMIN_TOKEN"],
			[{ ADMIN_TOKEN: `${"t".repeat(32)}#!` }, "ADMIN_TOKEN"],
			[{ ADMIN_TOKEN: TOKEN, PURGE_STATE: undefined }, "PURGE_STATE"],
			[{ ADMIN_PATH: "admin" }, "ADMIN_PATH"],
			[{ ADMIN_PATH: "/files" }, "ADMIN_PATH"],
			[{ ADMIN_PATH: "/files/admin" }, "ADMIN_PATH"],
			[{ ADMIN_PATH: "/_sizes" }, "ADMIN_PATH"],
			[{ ADMIN_PATH: "/" }, "ADMIN_PATH"],
			[{ MOUNT_PATH: "/a/b", ADMIN_PATH: "/a" }, "ADMIN_PATH"],
			[{ CF_ZONE_ID: "0123456789abcdef0123456789abcdef" }, "CF_API_TOKEN"],
			[{ CF_API_TOKEN: "abc" }, "CF_ZONE_ID"],
			[{ CF_ZONE_ID: "zone.example.com", CF_API_TOKEN: "abc" }, "CF_ZONE_ID"],
			[{ GENERATION_MEMO_SECONDS: "61" }, "GENERATION_MEMO_SECONDS"],
		])("%o fails naming %s, never showing the token", (vars, name) => {
			const all = { ADMIN_TOKEN: TOKEN, PURGE_STATE: KV, ...vars };
			let caught: unknown;
			try {
				parseConfig(all);
			} catch (err) {
				caught = err;
			}
			expect(caught).toBeInstanceOf(ConfigError);
			expect((caught as ConfigError).variable).toBe(name);
			expect((caught as ConfigError).message).not.toContain("t".repeat(31));
		});
	});

	it("validates once per env object", () => {
		const env = { JPEG_QUALITY: "90" };
		const first = loadConfig(env);
		env.JPEG_QUALITY = "nonsense";
		expect(loadConfig(env)).toBe(first);
		expect(() => loadConfig({ JPEG_QUALITY: "nonsense" })).toThrow(ConfigError);
	});
});

describe("size table and demo settings", () => {
	it("defaults: table at /_sizes, demo off, whole bucket", () => {
		const config = parseConfig({});
		expect(config.sizesPath).toBe("/_sizes");
		expect(config.demoPage).toBe(false);
		expect(config.demoPrefix).toBe("");
	});

	it.each([
		[{ SIZES_PATH: "/wp/sizes" }, "sizesPath", "/wp/sizes"],
		[{ DEMO_PAGE: "true" }, "demoPage", true],
		[{ DEMO_PAGE: "1" }, "demoPage", true],
		[{ DEMO_PAGE: "false" }, "demoPage", false],
		[{ DEMO_PREFIX: "2025/09/" }, "demoPrefix", "2025/09/"],
	] as const)("%j sets %s", (vars, field, want) => {
		expect(parseConfig(vars)[field]).toBe(want);
	});

	it.each([
		[{ SIZES_PATH: "_sizes" }, "SIZES_PATH"],
		[{ SIZES_PATH: "/_sizes/" }, "SIZES_PATH"],
		[{ SIZES_PATH: "/a/../b" }, "SIZES_PATH"],
		// The table must not shadow uploads, nor the uploads the table.
		[{ SIZES_PATH: "/files" }, "SIZES_PATH"],
		[{ SIZES_PATH: "/files/_sizes" }, "SIZES_PATH"],
		[{ MOUNT_PATH: "/wp/files", SIZES_PATH: "/wp" }, "SIZES_PATH"],
		[{ DEMO_PAGE: "yes" }, "DEMO_PAGE"],
		[{ DEMO_PREFIX: "2025/09" }, "DEMO_PREFIX"],
		[{ DEMO_PREFIX: "../" }, "DEMO_PREFIX"],
		[{ DEMO_PREFIX: "/2025/" }, "DEMO_PREFIX"],
	])("%j is refused, naming %s", (vars, variable) => {
		expect(() => parseConfig(vars)).toThrow(ConfigError);
		try {
			parseConfig(vars);
		} catch (err) {
			expect((err as ConfigError).variable).toBe(variable);
		}
	});
});

describe("config: AUTO_FORMAT, WEBP_QUALITY, PNG_LEVEL", () => {
	it("defaults: negotiation off, WebP quality 86 (WordPress's default), oxipng level 1", () => {
		const config = parseConfig({});
		expect([config.autoFormat, config.webpQuality, config.pngLevel]).toEqual([false, 86, 1]);
	});

	it.each([
		["true", true],
		["1", true],
		["false", false],
		["0", false],
	])("AUTO_FORMAT=%s → %s", (raw, expected) => {
		expect(parseConfig({ AUTO_FORMAT: raw }).autoFormat).toBe(expected);
	});

	it.each([
		{ AUTO_FORMAT: "webp" },
		{ AUTO_FORMAT: "on" },
		{ AUTO_FORMAT: "FALSE" },
		{ WEBP_QUALITY: "0" },
		{ WEBP_QUALITY: "101" },
		{ PNG_LEVEL: "7" },
		{ PNG_LEVEL: "-1" },
	])("%j is a ConfigError naming the variable", (vars) => {
		const name = Object.keys(vars)[0] ?? "";
		expect(() => parseConfig(vars)).toThrow(ConfigError);
		try {
			parseConfig(vars);
		} catch (err) {
			expect((err as ConfigError).variable).toBe(name);
		}
	});
});

describe("config: AVIF_QUALITY, AVIF_SPEED, ANIMATED_GIF, MAX_ANIMATION_PIXELS", () => {
	it("defaults: AVIF q65 at speed 8, GIF sizes from the first frame, 100 M animation pixels", () => {
		const config = parseConfig({});
		expect([config.avifQuality, config.avifSpeed, config.animatedGif]).toEqual([65, 8, false]);
		expect(config.limits.maxAnimationPixels).toBe(100_000_000);
	});

	it("reads them", () => {
		const config = parseConfig({
			AVIF_QUALITY: "70",
			AVIF_SPEED: "6",
			ANIMATED_GIF: "true",
			MAX_ANIMATION_PIXELS: "20_000_000",
		});
		expect([config.avifQuality, config.avifSpeed, config.animatedGif]).toEqual([70, 6, true]);
		expect(config.limits.maxAnimationPixels).toBe(20_000_000);
	});

	it.each([
		{ AVIF_QUALITY: "0" },
		{ AVIF_SPEED: "11" },
		{ ANIMATED_GIF: "yes" },
		{ MAX_ANIMATION_PIXELS: "0" },
	])("%j is a ConfigError naming the variable", (vars) => {
		const name = Object.keys(vars)[0] ?? "";
		let thrown: unknown;
		try {
			parseConfig(vars);
		} catch (err) {
			thrown = err;
		}
		expect(thrown).toBeInstanceOf(ConfigError);
		expect((thrown as ConfigError).variable).toBe(name);
	});
});
