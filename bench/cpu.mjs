// Workerd's own CPU time, for bench/run.mjs (per miss) and bench/cost.mjs (per
// derivative): utime + stime of every workerd process below this one, from /proc.
import { readdir, readFile } from "node:fs/promises";

/** /proc reports CPU in USER_HZ ticks (100 on Linux): one reading is good to 10 ms. */
const TICK_MS = 1000 / 100;

/** CPU ms used so far by every workerd process below this one. */
export async function workerdCpuMs() {
	const stats = new Map();
	for (const pid of await readdir("/proc")) {
		if (!/^\d+$/.test(pid)) continue;
		try {
			const stat = await readFile(`/proc/${pid}/stat`, "utf8");
			const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			stats.set(Number(pid), {
				comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
				ppid: Number(fields[1]),
				ticks: Number(fields[11]) + Number(fields[12]),
			});
		} catch {}
	}
	const mine = (pid) => {
		for (let p = pid; p > 1; p = stats.get(p)?.ppid ?? 0) if (p === process.pid) return true;
		return false;
	};
	let ticks = 0;
	for (const [pid, s] of stats) if (s.comm.startsWith("workerd") && mine(pid)) ticks += s.ticks;
	return ticks * TICK_MS;
}
