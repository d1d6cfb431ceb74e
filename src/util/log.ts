/**
 * One JSON line per event, at a level Workers Logs can filter on. Every log
 * line of the worker goes through here, so they share one shape.
 */
export type LogLevel = "info" | "warn" | "error";

export function log(level: LogLevel, fields: Record<string, unknown>): void {
	const line = JSON.stringify({ level, ...fields });
	// Looked up per call, so a test's spy on console sees it.
	if (level === "error") console.error(line);
	else if (level === "warn") console.warn(line);
	else console.log(line);
}
