// A native-solc look-alike over the npm `solc` package: forge calls `--version` and
// `--standard-json`; nothing else is supported, and anything else fails loudly.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const args = process.argv.slice(2);

function nativeVersion() {
  // "0.8.30+commit.73712a01.Emscripten.clang" -> the form a native build prints.
  return solc.version().replace(/\.Emscripten\.clang$/, ".Linux.g++");
}

function importRoots() {
  const roots = [process.cwd()];
  for (let i = 0; i < args.length; i++) {
    if (["--base-path", "--include-path", "--allow-paths"].includes(args[i]) && args[i + 1]) {
      roots.push(...args[i + 1].split(","));
    }
  }
  return roots;
}

function findImport(importPath) {
  for (const root of importRoots()) {
    const candidate = path.resolve(root, importPath);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  }
  return { error: `File not found: ${importPath}` };
}

if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${nativeVersion()}\n`);
} else if (args.includes("--standard-json")) {
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: findImport }));
} else {
  process.stderr.write(`solc shim: unsupported arguments: ${args.join(" ")}\n`);
  process.exit(2);
}
