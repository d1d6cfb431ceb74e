/**
 * The Chromium the browser test drives: the binary named by CHROMIUM_PATH
 * when that is set, else the headless Chromium that @sparticuz/chromium ships
 * inside its npm package, so that `npm ci && npm test` needs nothing on the
 * machine beyond Node and npm.
 *
 * The package unpacks its brotli archives into os.tmpdir() (/tmp/chromium,
 * /tmp/fonts, ...) and then trusts whatever it finds there, which on a machine
 * shared by several checkouts could be another version or a half-written
 * file. So we point it at a directory of our own, per package version, under
 * node_modules/.cache, and move that into place only once it is complete.
 *
 * The binary links against NSS, NSPR and expat (ldd: libnss3, libnssutil3,
 * libnspr4, libplc4, libplds4, libexpat.so.1), which a slim Debian image does
 * not have. The package carries those libraries for Amazon Linux 2023
 * (bin/al2023.tar.br) and unpacks them only when it believes it runs there;
 * we ask for them as well and put them first on the browser's (and only the
 * browser's) LD_LIBRARY_PATH. Its bundled fontconfig is given a config naming
 * only the bundled Open Sans. The host's libraries and fonts play no part.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import chromium from "@sparticuz/chromium";

export interface Chromium {
	executablePath: string;
	/** Where it came from, for the test log. */
	source: string;
	/** The environment to launch it with (undefined: the test process's own). */
	env?: Record<string, string | undefined>;
}

export async function testChromium(root: string): Promise<Chromium> {
	const override = process.env.CHROMIUM_PATH;
	if (override) {
		if (!existsSync(override)) {
			throw new Error(`CHROMIUM_PATH=${override}: no such file.`);
		}
		return { executablePath: override, source: "CHROMIUM_PATH" };
	}
	const pkg = join(root, "node_modules/@sparticuz/chromium");
	const { version } = JSON.parse(await readFile(join(pkg, "package.json"), "utf8")) as {
		version: string;
	};
	const dir = join(root, "node_modules/.cache/sparticuz-chromium", version);
	if (!existsSync(join(dir, "chromium"))) await unpack(dir);
	return {
		executablePath: join(dir, "chromium"),
		source: `@sparticuz/chromium ${version}`,
		env: {
			...process.env,
			LD_LIBRARY_PATH: [join(dir, "al2023/lib"), process.env.LD_LIBRARY_PATH]
				.filter(Boolean)
				.join(":"),
			FONTCONFIG_FILE: join(dir, "fonts.conf"),
		},
	};
}

/** Unpack the package's archives into `dir`, via a staging directory beside it. */
async function unpack(dir: string): Promise<void> {
	await mkdir(dirname(dir), { recursive: true });
	const staging = await mkdtemp(`${dir}.partial-`);
	const saved = { TMPDIR: process.env.TMPDIR, AWS_EXECUTION_ENV: process.env.AWS_EXECUTION_ENV };
	try {
		// os.tmpdir() reads TMPDIR on every call; the AWS variable makes the
		// package unpack al2023.tar.br (lib/) next to chromium, fonts/ and the
		// SwiftShader libraries.
		process.env.TMPDIR = staging;
		process.env.AWS_EXECUTION_ENV = "AWS_Lambda_nodejs20.x";
		const unpacked = await chromium.executablePath();
		if (unpacked !== join(staging, "chromium") || !existsSync(join(staging, "al2023/lib"))) {
			throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, not into ${staging}`);
		}
	} catch (error) {
		await rm(staging, { recursive: true, force: true });
		throw error;
	} finally {
		for (const [name, value] of Object.entries(saved)) {
			if (value === undefined) delete process.env[name];
			else process.env[name] = value;
		}
	}
	await writeFile(
		join(staging, "fonts.conf"),
		`<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>${xml(join(dir, "fonts"))}</dir>
  <cachedir>${xml(join(dir, "fonts-cache"))}</cachedir>
</fontconfig>
`,
	);
	try {
		await rename(staging, dir);
	} catch (error) {
		// Another run got there first: use its copy.
		await rm(staging, { recursive: true, force: true });
		if (!existsSync(join(dir, "chromium"))) throw error;
	}
}

function xml(text: string): string {
	return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
