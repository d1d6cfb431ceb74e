/**
 * What the browser tests share for the servers they start: a free local
 * port, and stopping a server with its whole process group (wrangler dev's
 * workerd children, php -S, MariaDB).
 */
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			const port = typeof address === "object" && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

/** SIGTERM to the child's process group, SIGKILL after 5 s; resolves once it exited. */
export async function stopGroup(child: ChildProcess | undefined): Promise<void> {
	if (!child?.pid || child.exitCode !== null) return;
	const exited = new Promise((r) => child.once("exit", r));
	try {
		process.kill(-child.pid, "SIGTERM");
	} catch {
		return;
	}
	const timer = setTimeout(() => {
		try {
			if (child.pid) process.kill(-child.pid, "SIGKILL");
		} catch {
			// already gone
		}
	}, 5000);
	await exited;
	clearTimeout(timer);
}
