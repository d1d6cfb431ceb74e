// The workerd benches (bench/*.test.ts, not part of `npm test`): the test
// config with its include replaced. Name the file to run one:
//   npx vitest run -c bench/vitest.config.ts bench/png-speed.test.ts
import base from "../vitest.config";

const config = { ...base, test: { ...base.test, include: ["bench/*.test.ts"] } };
export default config;
