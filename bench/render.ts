// Renders latest.md and latest.svg again from latest.json (after a change to the tables or
// the chart, without running the benchmark again): `tsx bench/render.ts [dir]`.
import fs from "node:fs";
import path from "node:path";
import { outDir } from "./config.ts";
import { chart, markdown, type RunResults } from "./lib/results.ts";

const dir = path.resolve(process.argv[2] ?? outDir);
const results = JSON.parse(fs.readFileSync(path.join(dir, "latest.json"), "utf8")) as RunResults;
fs.writeFileSync(path.join(dir, "latest.md"), markdown(results));
fs.writeFileSync(path.join(dir, "latest.svg"), chart(results));
console.log(`rendered ${dir}/latest.{md,svg}`);
